"""``geobp.train_served``: train the missing served networks into a folder, reporting progress.

Each network (:func:`inversion.served.train_served`) is written atomically as
``<folder>/served-<method>-<N>l.npz`` and registered through the job store (the registry's next
version of that name, ``production`` when it is the first); one already there is not trained
again (only registered, if it was not), so a rerun (after a lost worker) finishes the set and
never duplicates. Progress goes to
``<folder>/progress.json``: ``{"state": "training" | "done" | "failed", "current",
"done": [names], "total", "error", "updated_at"}``.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from celery import Task

from inversion.served import TrainingSettings, served_name, train_served

__all__ = [
    "PROGRESS_FILE",
    "read_json",
    "read_progress",
    "train_served_set",
    "write_state",
]

PROGRESS_FILE = "progress.json"
log = logging.getLogger(__name__)


def _write_json(path: Path, doc: dict[str, Any]) -> None:
    """Write ``doc`` to ``path`` atomically (a temporary file, then a rename)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(doc), encoding="utf-8")
    os.replace(tmp, path)


def write_state(path: Path, progress: dict[str, Any], state: str, **fields: Any) -> None:
    """Set ``progress``'s ``state`` and ``fields``, stamp ``updated_at`` and write it to
    ``path``."""
    progress.update(state=state, updated_at=time.time(), **fields)
    _write_json(path, progress)


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON record at ``path`` (None when there is none or it cannot be read)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def read_progress(folder: str | Path) -> dict[str, Any] | None:
    """The progress record of ``folder`` (None when there is none or it cannot be read)."""
    return read_json(Path(folder) / PROGRESS_FILE)


def _register(task: Task | None, name: str, path: Path) -> None:
    """Register a served network file in the deployment's registry as a version of ``name``
    (production when it is the first); nothing when the task runs without a job store."""
    store = getattr(getattr(task, "app", None), "geobp_store", None)
    if store is None:
        return
    try:
        network_id = store.register_served(name, path, "if_none", None)
    except store.transient_errors as exc:  # the file serves meanwhile; the next run registers it
        log.warning("served network %s not registered yet: %s", name, exc)
        return
    log.info("served network %s registered as %s", name, network_id)


def train_served_set(
    task: Task | None, folder: str, plan: list[list[Any]], settings: dict[str, Any]
) -> list[str]:
    """Train every ``[method, n_layers]`` of ``plan`` missing from ``folder`` with the
    :class:`TrainingSettings` keywords ``settings``; returns the names trained."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    names = [served_name(m, int(n)) for m, n in plan]
    done = [name for name in names if (out / f"{name}.npz").exists()]
    progress: dict[str, Any] = {"state": "training", "done": done, "total": len(names)}
    trained = []
    try:
        for (method, n_layers), name in zip(plan, names, strict=True):
            if name in done:  # trained by an earlier run: registered now if it was not
                _register(task, name, out / f"{name}.npz")
                continue
            write_state(out / PROGRESS_FILE, progress, "training", current=name)
            net = train_served(method, int(n_layers), TrainingSettings(**settings))
            tmp = out / f".{name}.{os.getpid()}.npz"
            net.save(str(tmp), metadata={"name": name})
            os.replace(tmp, out / f"{name}.npz")
            _register(task, name, out / f"{name}.npz")
            done.append(name)
            trained.append(name)
            log.info("served network %s trained (%d of %d)", name, len(done), len(names))
    except Exception as exc:
        write_state(out / PROGRESS_FILE, progress, "failed", error=f"{type(exc).__name__}: {exc}")
        raise
    write_state(out / PROGRESS_FILE, progress, "done", current=None)
    return trained
