"""Finding networks for the command line: saved files, folders of them, or the registry.

The registry is read through the service's SQLAlchemy models (``service.registry``) on the
database of ``GEOBP_DATABASE_URL`` (default ``var/geobp.sqlite``); the command line only reads it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.cli.errors import CliError
from service.config import load_settings

log = logging.getLogger(__name__)

# The registry (SQLAlchemy and the models, about 0.35 s) and inversion (about 0.8 s) are imported
# inside the functions that need them: ``geobp networks`` needs no inversion and ``geobp invert``
# with saved files no registry (start-up measured with ``python -X importtime``).


@dataclass
class Candidate:
    """A loaded inverter and how to name it: ``label`` for messages, ``info`` for results
    (``{"id", "name", "version"}`` from the registry, ``{"name", "path"}`` for a file)."""

    label: str
    inverter: Any
    info: dict[str, Any]


def _database() -> Any:
    """The registry database (read only by this module); CliError when there is none."""
    from service.db import Database

    settings = load_settings(api_token="geobp-cli-read-only")
    url = settings.database_url
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///") :])
        if not path.exists():
            raise CliError(
                f"no registry database at {path}; start 'geobp serve' (or set GEOBP_DATABASE_URL), "
                "or pass a saved network file"
            )
    return Database(url)


def _registry_error(exc: Exception) -> CliError:
    detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
    return CliError(f"cannot read the network registry: {detail}")


def list_networks() -> list[dict[str, Any]]:
    """Every registered network as the API's resource dict, ordered by name and version."""
    from sqlalchemy import select
    from sqlalchemy.exc import SQLAlchemyError

    from service.models import Network
    from service.registry import aliases_of, network_to_dict

    db = _database()
    try:
        with db.session() as session:
            nets = list(session.scalars(select(Network).order_by(Network.name, Network.version)))
            aliases = aliases_of(session, [n.id for n in nets])
            return [network_to_dict(n, aliases[n.id]) for n in nets]
    except SQLAlchemyError as exc:
        raise _registry_error(exc) from None
    finally:
        db.dispose()


def _from_registry(ref: str) -> Candidate:
    from sqlalchemy.exc import SQLAlchemyError

    import inversion
    from service.artifacts import locate_artifact, sha256_file
    from service.registry import RegistryError, resolve

    db = _database()
    db_settings = load_settings(api_token="geobp-cli-read-only")
    try:
        with db.session() as session:
            net = resolve(session, ref)
            if (net.forward_model or {}).get("served"):
                raise CliError(
                    f"network {ref!r} is a served network: leave out --network (the served "
                    "networks invert by default)"
                )
            info = {"id": net.id, "name": net.name, "version": net.version}
            artifact = locate_artifact(db_settings.artifact_dir, net.artifact_path)
            sha256 = net.artifact_sha256
    except RegistryError as exc:
        raise CliError(f"{exc} (and no file {ref!r} exists)") from None
    except SQLAlchemyError as exc:
        raise _registry_error(exc) from None
    finally:
        db.dispose()
    if not Path(artifact).exists():
        raise CliError(f"network {ref!r}: its artifact {artifact} is missing")
    if sha256_file(Path(artifact)) != sha256:
        raise CliError(
            f"network {ref!r}: its artifact {artifact} does not match the registry's SHA-256 "
            "(changed or replaced since registration)"
        )
    log.info("network %s v%s from %s", info["name"], info["version"], artifact)
    return Candidate(f"{info['name']}@{info['version']}", inversion.Inverter.load(artifact), info)


def _from_file(path: Path) -> Candidate:
    import inversion

    try:
        inverter = inversion.Inverter.load(str(path))
    except (KeyError, TypeError) as exc:
        raise CliError(f"{path}: not a saved geobp network ({exc})") from None
    return Candidate(path.name, inverter, {"name": path.stem, "path": str(path)})


def load_candidates(reference: str) -> list[Candidate]:
    """Load every network named by ``reference``: comma-separated files, folders of ``.npz``
    files, registry ids or names (``name``, ``name@alias``, ``name@version``)."""
    candidates: list[Candidate] = []
    for part in (p.strip() for p in reference.split(",")):
        if not part:
            raise CliError(f"NETWORK {reference!r}: an empty name between commas")
        path = Path(part)
        if path.is_dir():
            files = sorted(path.glob("*.npz"))
            if not files:
                raise CliError(f"NETWORK folder {path} holds no .npz network files")
            candidates.extend(_from_file(f) for f in files)
        elif path.exists():
            candidates.append(_from_file(path))
        elif path.suffix.lower() == ".npz" or "/" in part:
            raise CliError(f"network file {part} does not exist")
        else:
            candidates.append(_from_registry(part))
    return candidates


def served_dir() -> Path:
    """Where the served networks live: ``GEOBP_ARTIFACT_DIR/served``."""
    return load_settings(api_token="geobp-cli-read-only").artifact_dir / "served"


def _registry_served(directory: Path, max_layers: int) -> Any:
    """The registry's production served networks with the files of ``directory`` filling the
    gaps (:func:`service.served_registry.production_set`); None without a readable registry."""
    from sqlalchemy.exc import SQLAlchemyError

    from service.artifacts import ArtifactStore
    from service.served_registry import production_set

    try:
        db = _database()
    except CliError:
        return None
    try:
        store = ArtifactStore(load_settings(api_token="geobp-cli-read-only").artifact_dir)
        return production_set(db, store, directory, max_layers)
    except SQLAlchemyError as exc:
        log.info("served networks: registry not read (%s); files only", _registry_error(exc))
        return None
    finally:
        db.dispose()


def load_served(max_layers: int | None = None) -> Any:
    """The served set (``inversion.served.ServedSet``): the registry's production versions,
    then the files of :func:`served_dir`; CliError when no served network is there yet."""
    from inversion.served import MAX_LAYERS, load_set

    directory = served_dir()
    top = max_layers or MAX_LAYERS
    served = _registry_served(directory, top) or load_set(directory, max_layers=top)
    if not served.networks:
        raise CliError(
            f"no served networks in {directory} yet: start 'geobp serve' (it trains them on "
            "first start) or name one with --network"
        )
    log.info("served networks from %s", directory)
    return served
