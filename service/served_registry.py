"""Served networks in the registry: versions of ``served-<method>-<N>l`` with a ``production``
alias, the set that ``POST /api/v1/invert`` serves, and the due served retrainings.

Each served network file (:class:`inversion.served.ServedNetwork`, a checksummed ``.npz``, no
pickle) is copied byte for byte into the artifact store (``networks/<name>/<id>.npz``) and
registered as the next version of its name; registering the same file twice returns the first
registration (same name and SHA-256). The first version of a name becomes ``production``; later
ones move it only when champion/challenger says so (``production="always"``).

The served set is each name's ``production`` version; a layer count the registry lacks is filled
from ``GEOBP_ARTIFACT_DIR/served/served-*.npz`` (files written before registration existed, or
dropped there by hand).
"""

from __future__ import annotations

import logging
import shutil
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import select

from inversion.served import (
    MAX_LAYERS,
    METHODS,
    ServedNetwork,
    ServedSet,
    TrainingSettings,
    served_name,
)
from service import registry
from service.artifacts import ArtifactStore, sha256_file
from service.db import Database
from service.models import Network, NetworkAlias
from service.starter import CHALLENGER_SETTINGS
from service.version import VERSION

__all__ = [
    "check_served_retrain",
    "production_of",
    "production_set",
    "register_served_file",
    "served_record",
]

log = logging.getLogger(__name__)
PREFIX = "served-"

_loaded: dict[str, ServedNetwork] = {}  # network id → loaded network (artifacts are immutable)
_sets: dict[tuple, ServedSet] = {}  # the current set, by production ids and folder files
_lock = threading.Lock()


def check_served_retrain(body: dict[str, Any]) -> dict[str, Any]:
    """A served-retraining schedule's spec (:class:`service.schemas.ServedRetrain` fields) as
    stored, with the training settings filled in (keys not given from
    :data:`service.starter.CHALLENGER_SETTINGS`); ValueError naming the field otherwise."""
    method = body["method"]
    if method not in METHODS or METHODS[method].is_tem:
        served = sorted(m for m, spec in METHODS.items() if not spec.is_tem)
        raise ValueError(f"served.method: {method!r} is not one of {served}")
    try:
        settings = TrainingSettings(**{**CHALLENGER_SETTINGS.to_dict(), **body.get("settings", {})})
    except (TypeError, ValueError) as exc:
        raise ValueError(f"served.settings: {exc}") from None
    return {**body, "settings": settings.to_dict()}


def served_record(net: ServedNetwork, name: str, metrics: dict[str, Any] | None) -> dict[str, Any]:
    """The registry record of a served network (everything but artifact path and checksum)."""
    spec = METHODS[net.method]
    settings = net.settings
    return {
        "name": name,
        "forward_model": {"name": net.method, "n_layers": net.n_layers, "served": True},
        "domain": {"rho_ohmm": list(spec.rho_range_ohmm), spec.axis: list(spec.axis_range)},
        "noise": {k: settings[k] for k in ("rho_a_rel", "phase_deg") if k in settings},
        "network_config": {
            **settings.get("network", {}),
            "n_members": settings.get("n_members"),
            "data_misfit_weight": settings.get("data_misfit_weight", 0.0),
            # the physics term's Cauchy scale for this method (None: χ², or no physics term)
            "misfit_cauchy_scale": (
                (settings.get("misfit_cauchy_scale") or {}).get(net.method)
                if settings.get("data_misfit_weight")
                else None
            ),
        },
        "metrics": {**net.metrics, **(metrics or {})},
        "job_id": None,
        "seed": settings.get("seed"),
        "n_samples": _samples(settings, net.method),
        "code_version": VERSION,
    }


def _samples(settings: dict[str, Any], method: str) -> int | None:
    """Soundings ``method``'s network learned from (``TrainingSettings.samples_for``)."""
    n = settings.get("n_samples")
    cap = (settings.get("method_samples") or {}).get(method)
    return n if cap is None or n is None else min(int(n), int(cap))


def register_served_file(
    db: Database,
    store: ArtifactStore,
    name: str,
    path: Path,
    production: str = "if_none",
    metrics: dict[str, Any] | None = None,
) -> str:
    """Register the served network file ``path`` as the next version of ``name`` (copied into
    the artifact store); returns the network id. A file already registered under ``name`` (same
    SHA-256) returns that registration. ``production``: :func:`service.registry.register_network`'s
    rule (``"if_none"``: only the first version; ``"always"``: the challenger won)."""
    net = ServedNetwork.load(str(path))  # IntegrityError for anything but a served network
    if served_name(net.method, net.n_layers) != name:
        raise ValueError(
            f"name: {name!r} does not match the network ({served_name(net.method, net.n_layers)!r})"
        )
    checksum = sha256_file(Path(path))
    with db.session() as session:
        existing = session.scalar(
            select(Network.id).where(Network.name == name, Network.artifact_sha256 == checksum)
        )
    if existing:
        if production == "always":
            with db.session() as session:
                registry.lock_name(session, name)
                registry.set_alias(session, session.get(Network, existing), "production")
        return existing
    record = served_record(net, name, metrics)
    return registry.register_network(
        db, store, record, lambda tmp: shutil.copyfile(path, tmp), production=production
    )


def production_of(db: Database, store: ArtifactStore, name: str) -> dict[str, Any] | None:
    """``{"id", "name", "version", "path", "metrics"}`` of ``name``'s production version."""
    with db.session() as session:
        alias = session.get(NetworkAlias, (name, "production"))
        net = session.get(Network, alias.network_id) if alias is not None else None
        if net is None:
            return None
        path = store.locate(net.artifact_path)
        return {
            "id": net.id,
            "name": net.name,
            "version": net.version,
            "path": path,
            "sha256": net.artifact_sha256,
            "metrics": dict(net.metrics or {}),
        }


def _production_rows(db: Database, store: ArtifactStore) -> list[dict[str, Any]]:
    with db.session() as session:
        rows = session.execute(
            select(Network)
            .join(NetworkAlias, NetworkAlias.network_id == Network.id)
            .where(NetworkAlias.alias == "production", Network.name.startswith(PREFIX))
        ).scalars()
        return [
            {
                "id": n.id,
                "name": n.name,
                "version": n.version,
                "path": store.locate(n.artifact_path),
                "sha256": n.artifact_sha256,
            }
            for n in rows
            if (n.forward_model or {}).get("served")  # not a trained network named served-…
        ]


def _load(row: dict[str, Any]) -> ServedNetwork | None:
    with _lock:
        net = _loaded.get(row["id"])
    if net is not None:
        return net
    if not Path(row["path"]).is_file() or sha256_file(Path(row["path"])) != row["sha256"]:
        log.error(
            "served network %s v%d: artifact missing or checksum mismatch; not served",
            row["name"],
            row["version"],
        )
        return None
    net = ServedNetwork.load(str(row["path"]))
    with _lock:
        _loaded[row["id"]] = net
    return net


def production_set(
    db: Database, store: ArtifactStore, folder: Path, max_layers: int = MAX_LAYERS
) -> ServedSet:
    """The served set: each served name's ``production`` version (registry info attached), then
    ``folder/served-*.npz`` for the method and layer counts the registry lacks. Rebuilt only
    when a production alias moves or a file of ``folder`` changes."""
    rows = _production_rows(db, store)
    files = sorted(Path(folder).glob(f"{PREFIX}*.npz")) if Path(folder).is_dir() else []
    key = (
        str(folder),
        max_layers,
        tuple(sorted(row["id"] for row in rows)),
        tuple((p.name, p.stat().st_mtime_ns) for p in files),
    )
    with _lock:
        if key in _sets:
            return _sets[key]
    served = ServedSet(max_layers=max_layers)
    for row in rows:
        net = _load(row)
        if net is not None:
            served.add(net, {k: row[k] for k in ("id", "name", "version")})
    for path in files:
        net = ServedNetwork.load(str(path))
        if (net.method, net.n_layers) not in served.networks:
            served.add(net)
    with _lock:
        _sets.clear()  # one current set per process is enough
        _sets[key] = served
    return served
