"""The network registry: versioned networks per name, aliases, registration in one transaction.

``latest`` always points at the newest version of a name; ``production`` is set explicitly, or
moves to a new version when its held-out loss is no worse than the current production one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.artifacts import ArtifactStore
from service.db import Database, iso
from service.models import Network, NetworkAlias, TrainingJob, new_id, utcnow

log = logging.getLogger(__name__)

ALIASES = ("latest", "production")
MAX_VERSION = 2**31 - 1  # the registry's integer column


def is_version_text(text: str) -> bool:
    """True for ASCII digits naming a version in [1, :data:`MAX_VERSION`] (``str.isdigit``
    alone also accepts ``²``, which ``int`` refuses)."""
    return text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_VERSION


COMPARISON_METRIC = "held_out_loss"


class RegistryError(Exception):
    """A registry operation that cannot be done; the API maps each subclass to its status."""


class NotFound(RegistryError, LookupError):
    """No network matches the reference (404 ``not_found``)."""


class InvalidAlias(RegistryError, ValueError):
    """An alias name the registry does not know (400 ``invalid_request``)."""


class Conflict(RegistryError):
    """Concurrent registrations kept taking the version number (409 ``conflict``)."""


class _AlreadyRegistered(Exception):
    """Another attempt of the same job registered its network first."""

    def __init__(self, network_id: str) -> None:
        super().__init__(network_id)
        self.network_id = network_id


def aliases_of(session: Session, network_ids: list[str]) -> dict[str, list[str]]:
    """``network_id → sorted alias names`` for the given networks."""
    out: dict[str, list[str]] = {nid: [] for nid in network_ids}
    if not network_ids:
        return out
    rows = session.execute(
        select(NetworkAlias.network_id, NetworkAlias.alias).where(
            NetworkAlias.network_id.in_(network_ids)
        )
    )
    for nid, alias in rows:
        out[nid].append(alias)
    return {nid: sorted(names) for nid, names in out.items()}


def network_to_dict(net: Network, aliases: list[str], summary: bool = False) -> dict[str, Any]:
    """The public network resource (DESIGN.md section 2); ``summary``: its ``metrics`` reduced
    to the scalar ones (no training history, no held-out arrays), as listed by ``GET /networks``."""
    metrics = net.metrics or {}
    if summary:
        metrics = {k: v for k, v in metrics.items() if not isinstance(v, dict | list)}
    return {
        "id": net.id,
        "name": net.name,
        "version": net.version,
        "aliases": aliases,
        "forward_model": net.forward_model,
        "domain": net.domain,
        "noise": net.noise,
        "network": net.network_config,
        "metrics": metrics,
        "lineage": {
            "job_id": net.job_id,
            "seed": net.seed,
            "n_samples": net.n_samples,
            "code_version": net.code_version,
            "artifact_sha256": net.artifact_sha256,
        },
        "created_at": iso(net.created_at),
    }


def _set_alias(session: Session, name: str, alias: str, network_id: str) -> None:
    row = session.get(NetworkAlias, (name, alias))
    if row is None:
        session.add(NetworkAlias(name=name, alias=alias, network_id=network_id))
    else:
        row.network_id = network_id
        row.updated_at = utcnow()


def _metric(net: Network | None) -> float | None:
    if net is None:
        return None
    value = (net.metrics or {}).get(COMPARISON_METRIC)
    return float(value) if isinstance(value, int | float) else None


PRODUCTION_RULES = ("auto", "if_none", "always")


def _promote(session: Session, net: Network, production: str = "auto") -> None:
    """Point ``latest`` at ``net``; ``production`` too when the name has none yet, or when
    ``production`` is ``"always"``, or (``"auto"``) when ``net``'s held-out loss is no worse;
    ``"if_none"`` leaves an existing production alone (champion/challenger decides outside)."""
    _set_alias(session, net.name, "latest", net.id)
    current = session.get(NetworkAlias, (net.name, "production"))
    if current is None or production == "always":
        _set_alias(session, net.name, "production", net.id)
        return
    if production == "if_none":
        return
    prod = session.get(Network, current.network_id)
    new_loss, prod_loss = _metric(net), _metric(prod)
    if prod is None or prod_loss is None or (new_loss is not None and new_loss <= prod_loss):
        _set_alias(session, net.name, "production", net.id)


def register_network(
    db: Database,
    store: ArtifactStore,
    record: dict[str, Any],
    writer: Callable[[Path], None],
    production: str = "auto",
) -> str:
    """Write the artifact atomically, then insert the network, move aliases and finish its job in
    one transaction. Idempotent per ``record["job_id"]``: a rerun returns the existing id.

    ``record`` holds name, forward_model, domain, noise, network_config, metrics, job_id, seed,
    n_samples and code_version; ``production`` is the alias rule of :func:`_promote`.
    """
    if production not in PRODUCTION_RULES:
        raise ValueError(f"production: must be one of {list(PRODUCTION_RULES)}")
    job_id = record.get("job_id")
    if job_id:
        with db.session() as session:
            existing = session.scalar(select(Network.id).where(Network.job_id == job_id))
        if existing:
            log.info("job %s already registered network %s", job_id, existing)
            return existing
    network_id = new_id()
    path = store.network_path(record["name"], network_id)
    checksum = store.write_atomic(path, writer)
    try:
        return _insert_network(
            db, record, network_id, store.stored_path(path), checksum, production
        )
    except _AlreadyRegistered as exc:
        store.remove(path)
        return exc.network_id
    except BaseException:  # never an artifact without its row (e.g. the database refused it)
        store.remove(path)
        raise


def _insert_network(
    db: Database,
    record: dict[str, Any],
    network_id: str,
    stored_path: str,
    checksum: str,
    production: str = "auto",
) -> str:
    """Insert the network row (the next version of its name), move the aliases and finish its
    job; retry version races. Returns the network id (another attempt's, if that won)."""
    job_id = record.get("job_id")
    for _ in range(8):
        try:
            with db.session() as session:
                lock_name(session, record["name"])
                version = (
                    session.scalar(
                        select(func.max(Network.version)).where(Network.name == record["name"])
                    )
                    or 0
                ) + 1
                net = Network(
                    id=network_id,
                    version=version,
                    artifact_path=stored_path,
                    artifact_sha256=checksum,
                    **record,
                )
                session.add(net)
                session.flush()
                _promote(session, net, production)
                if job_id:
                    job = session.get(TrainingJob, job_id)
                    if job is not None:
                        job.status = "succeeded"
                        job.stage = "done"
                        job.network_id = network_id
                        job.finished_at = utcnow()
                        job.error = None
                        job.progress = {**(job.progress or {}), "stage": "done", "fraction": 1.0}
            log.info("registered network %s %s v%d", network_id, record["name"], version)
            return network_id
        except IntegrityError:
            with db.session() as session:
                existing = (
                    session.scalar(select(Network.id).where(Network.job_id == job_id))
                    if job_id
                    else None
                )
            if existing:  # another attempt of the same job won the race: ours is removed
                raise _AlreadyRegistered(existing) from None
            log.info("version race on %s; retrying", record["name"])
    raise Conflict(f"could not register network {record['name']!r}: version conflicts")


def resolve(
    session: Session, ref: str, alias: str | None = None, version: int | None = None
) -> Network:
    """Find a network by id, or by name with ``@alias``/``@version`` (or the query arguments).

    By name without either, ``production`` is used, else ``latest``. :class:`NotFound` if absent.
    """
    net = session.get(Network, ref)
    if net is not None:
        return net
    name, _, suffix = ref.partition("@")
    if suffix:
        if suffix.isascii() and suffix.isdigit():
            version = int(suffix)
        else:
            alias = suffix
    if version is not None:
        if not 1 <= version <= MAX_VERSION:
            raise NotFound(f"network {name!r} has no version {version}")
        net = session.scalar(
            select(Network).where(Network.name == name, Network.version == version)
        )
        if net is None:
            raise NotFound(f"network {name!r} has no version {version}")
        return net
    for candidate in [alias] if alias else ["production", "latest"]:
        row = session.get(NetworkAlias, (name, candidate))
        if row is not None:
            net = session.get(Network, row.network_id)
            if net is not None:
                return net
        if alias:
            exists = session.scalar(select(Network.id).where(Network.name == name).limit(1))
            detail = f"has no alias {alias!r}" if exists else "does not exist"
            raise NotFound(f"network {name!r} {detail}")
    raise NotFound(f"no network with id or name {ref!r}")


def lock_name(session: Session, name: str) -> None:
    """Serialise this transaction's registry writes on ``name`` with every other one (alias
    moves, deletes, registrations), until commit: a transaction-level advisory lock on the name
    on PostgreSQL, the database's write lock on SQLite (a no-op UPDATE takes it). Reads after
    it see the other transaction's commit."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"geobp:{name}"))))
        return
    session.execute(
        update(Network)
        .where(Network.name == name)
        .values(name=Network.name)
        .execution_options(synchronize_session=False)
    )


def resolve_for_update(
    session: Session, ref: str, alias: str | None = None, version: int | None = None
) -> Network:
    """:func:`resolve`, then :func:`lock_name` on the network's name and resolve again (a
    concurrent delete or alias move may have committed meanwhile: :class:`NotFound` then)."""
    name = resolve(session, ref, alias, version).name
    lock_name(session, name)
    session.expunge_all()
    return resolve(session, ref, alias, version)


def set_alias(session: Session, net: Network, alias: str) -> None:
    """Point ``alias`` of ``net.name`` at ``net`` explicitly; :class:`InvalidAlias` unless it is
    one of :data:`ALIASES`."""
    if alias not in ALIASES:
        raise InvalidAlias(f"alias: must be one of {list(ALIASES)}")
    _set_alias(session, net.name, alias, net.id)


def delete_network(session: Session, net: Network) -> str:
    """Remove a network; re-point ``latest`` (and ``production`` if it pointed here) at the
    newest remaining version. Returns the stored artifact path to delete after commit
    (``ArtifactStore.locate`` finds the file)."""
    name, path = net.name, net.artifact_path
    pointed = [
        row.alias
        for row in session.scalars(select(NetworkAlias).where(NetworkAlias.network_id == net.id))
    ]
    session.query(NetworkAlias).filter(NetworkAlias.network_id == net.id).delete()
    session.delete(net)
    session.flush()
    newest = session.scalar(
        select(Network).where(Network.name == name).order_by(Network.version.desc()).limit(1)
    )
    if newest is not None:
        for alias in set(pointed) | {"latest"}:
            _set_alias(session, name, alias, newest.id)
    return path
