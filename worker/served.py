"""``geobp.train_served``: train the missing served networks into a folder, reporting progress.

Each network (:func:`inversion.served.train_served`) is written atomically as
``<folder>/served-<method>-<N>l.npz``; one already there is skipped, so a rerun (after a lost
worker) finishes the set and never duplicates. Progress goes to ``<folder>/progress.json``:
``{"state": "training" | "done" | "failed", "current", "done": [names], "total", "error",
"updated_at"}``.
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

__all__ = ["PROGRESS_FILE", "read_progress", "train_served_set"]

PROGRESS_FILE = "progress.json"
log = logging.getLogger(__name__)


def _write_json(path: Path, doc: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(doc), encoding="utf-8")
    os.replace(tmp, path)


def read_progress(folder: str | Path) -> dict[str, Any] | None:
    """The progress record of ``folder`` (None when there is none or it cannot be read)."""
    try:
        return json.loads((Path(folder) / PROGRESS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


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
            if name in done:
                continue
            progress.update(current=name, updated_at=time.time())
            _write_json(out / PROGRESS_FILE, progress)
            net = train_served(method, int(n_layers), TrainingSettings(**settings))
            tmp = out / f".{name}.{os.getpid()}.npz"
            net.save(str(tmp), metadata={"name": name})
            os.replace(tmp, out / f"{name}.npz")
            done.append(name)
            trained.append(name)
            log.info("served network %s trained (%d of %d)", name, len(done), len(names))
    except Exception as exc:
        progress.update(
            state="failed", error=f"{type(exc).__name__}: {exc}", updated_at=time.time()
        )
        _write_json(out / PROGRESS_FILE, progress)
        raise
    progress.update(state="done", current=None, updated_at=time.time())
    _write_json(out / PROGRESS_FILE, progress)
    return trained
