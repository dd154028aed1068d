"""The starter set: the served networks trained on first start, through the worker.

``geobp serve`` calls :func:`queue_starter_set` on every broker (embedded, or Redis with a
separate ``geobp worker``): when a served network of the plan is missing from
``GEOBP_ARTIFACT_DIR/served`` and no training of the set is under way, one ``geobp.train_served``
task (:mod:`worker.served`) is sent to the training queue; the worker registers each network as
a version of ``served-<method>-<N>l`` (the first is ``production``). The plan goes
method by method (Schlumberger, MT, Wenner, TEM coincident and central loop; 2 to 6 layers
each), so each method becomes usable
as soon as its networks are in; ``POST /api/v1/invert`` answers 503 with ``Retry-After`` until
then, and ``GET /api/v1/served`` shows the progress.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from inversion.served import MAX_LAYERS, TrainingSettings, served_name
from worker.queues import TRAIN_QUEUE
from worker.served import read_progress

__all__ = [
    "CHALLENGER_SETTINGS",
    "STARTER_METHODS",
    "STARTER_SETTINGS",
    "missing",
    "plan",
    "queue_starter_set",
]

log = logging.getLogger(__name__)

STARTER_METHODS = (
    "ves-schlumberger",
    "mt-1d",
    "ves-wenner",
    "tem-coincident-loop",
    "tem-central-loop",
)
STARTER_SETTINGS = TrainingSettings()  # 40,000 soundings, 3 × 64 hidden, 60 epochs
#: the default of a scheduled champion/challenger retraining: physics-guided (the data misfit of
#: the network's own answer in the loss, weight 0.3), wider and longer; VES and MT only
#: (docs/benchmarks.md, "Physics-guided served networks")
CHALLENGER_SETTINGS = TrainingSettings(
    n_samples=120000,
    data_misfit_weight=0.3,
    network={"hidden": 256, "max_epochs": 100, "learning_rate": 3e-3, "schedule": "cosine"},
)
STALE_S = 600.0  # a training silent for this long is taken as lost


def plan() -> list[list[Any]]:
    """``[[method, n_layers], …]`` of the starter set, in training order."""
    return [[m, n] for m in STARTER_METHODS for n in range(2, MAX_LAYERS + 1)]


def missing(folder: Path, items: list[list[Any]] | None = None) -> list[str]:
    """Names of the starter set's networks (or of ``items``, ``[[method, n_layers], …]``) not
    yet in ``folder``."""
    names = [served_name(m, n) for m, n in (plan() if items is None else items)]
    return [name for name in names if not (folder / f"{name}.npz").exists()]


def queue_starter_set(
    celery: Any,
    folder: Path,
    items: list[list[Any]] | None = None,
    settings: TrainingSettings | None = None,
) -> str | None:
    """Send ``geobp.train_served`` (on the embedded broker or Redis alike) for the missing
    starter networks unless a training is under way (progress updated within ``STALE_S``);
    returns the task id, or None. ``items`` and ``settings`` replace the starter plan and
    settings (tests train a tiny plan)."""
    items = plan() if items is None else items
    absent = missing(folder, items)
    if not absent:
        return None
    progress = read_progress(folder) or {}
    if (
        progress.get("state") == "training"
        and time.time() - progress.get("updated_at", 0) < STALE_S
    ):
        return None
    result = celery.send_task(
        "geobp.train_served",
        args=(str(folder), items, (settings or STARTER_SETTINGS).to_dict()),
        queue=TRAIN_QUEUE,
    )
    log.info("queued the starter set (%d networks missing): task %s", len(absent), result.id)
    return str(result.id)
