"""The starter set: the served networks trained on first start, through the worker; then
their upgrade to physics-guided networks.

``geobp serve`` calls :func:`queue_starter_set` on every broker (embedded, or Redis with a
separate ``geobp worker``): when a served network of the plan is missing from
``GEOBP_ARTIFACT_DIR/served`` and no training of the set is under way, one ``geobp.train_served``
task (:mod:`worker.served`) is sent to the training queue; the worker registers each network as
a version of ``served-<method>-<N>l`` (the first is ``production``). The plan goes
method by method (Schlumberger, MT, Wenner, TEM coincident and central loop; 2 to 6 layers
each), so each method becomes usable
as soon as its networks are in; ``POST /api/v1/invert`` answers 503 with ``Retry-After`` until
then, and ``GET /api/v1/served`` shows the progress.

:func:`queue_upgrade` then sends one ``geobp.upgrade_served`` task (:mod:`worker.served_upgrade`):
each VES and MT starter network is challenged, one at a time, by one trained with
:data:`CHALLENGER_SETTINGS` and replaced when it wins (champion/challenger). ``geobp serve``
sends it unless ``GEOBP_SERVED_UPGRADE=0``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from inversion.served import MAX_LAYERS, TrainingSettings, served_name
from worker.queues import TRAIN_QUEUE
from worker.served import read_progress
from worker.served_upgrade import read_upgrade

__all__ = [
    "CHALLENGER_SETTINGS",
    "STARTER_METHODS",
    "STARTER_SETTINGS",
    "UPGRADE_METHODS",
    "missing",
    "plan",
    "queue_starter_set",
    "queue_upgrade",
    "upgrade_plan",
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
#: the methods whose starter networks the first-start upgrade challenges with physics-guided ones
#: (the physics term exists for VES and MT)
UPGRADE_METHODS = ("ves-schlumberger", "mt-1d", "ves-wenner")
STALE_S = 600.0  # a training silent for this long is taken as lost
#: an upgrade silent for this long is taken as lost: its record is written once per network, and
#: one challenger of the default settings trained in 2.4–7.9 minutes here (docs/benchmarks.md)
UPGRADE_STALE_S = 3600.0


def plan() -> list[list[Any]]:
    """``[[method, n_layers], …]`` of the starter set, in training order."""
    return [[m, n] for m in STARTER_METHODS for n in range(2, MAX_LAYERS + 1)]


def upgrade_plan() -> list[list[Any]]:
    """``[[method, n_layers], …]`` of the first-start upgrade, in training order."""
    return [[m, n] for m in UPGRADE_METHODS for n in range(2, MAX_LAYERS + 1)]


def missing(folder: Path, items: list[list[Any]] | None = None) -> list[str]:
    """Names of the starter set's networks (or of ``items``, ``[[method, n_layers], …]``) not
    yet in ``folder``."""
    names = [served_name(m, n) for m, n in (plan() if items is None else items)]
    return [name for name in names if not (folder / f"{name}.npz").exists()]


def _under_way(record: dict[str, Any] | None, states: tuple[str, ...], stale_s: float) -> bool:
    """Whether a progress ``record`` is in one of ``states`` and was updated within
    ``stale_s`` seconds (older ones are taken as lost)."""
    return (
        record is not None
        and record.get("state") in states
        and time.time() - record.get("updated_at", 0) < stale_s
    )


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
    if _under_way(read_progress(folder), ("training",), STALE_S):
        return None
    result = celery.send_task(
        "geobp.train_served",
        args=(str(folder), items, (settings or STARTER_SETTINGS).to_dict()),
        queue=TRAIN_QUEUE,
    )
    log.info("queued the starter set (%d networks missing): task %s", len(absent), result.id)
    return str(result.id)


def queue_upgrade(
    celery: Any,
    folder: Path,
    items: list[list[Any]] | None = None,
    settings: TrainingSettings | None = None,
    **options: Any,
) -> str | None:
    """Send ``geobp.upgrade_served`` (:mod:`worker.served_upgrade`) for the upgrade plan (or
    ``items``) with ``settings`` (default :data:`CHALLENGER_SETTINGS`) unless every network of
    it is done or an upgrade is under way (its record updated within ``UPGRADE_STALE_S``);
    returns the task id, or None. ``options`` go to the task (``n_eval``, ``seed``, ``wait_s``).
    The task waits for the starter set's networks, so it may be sent before they are in."""
    items = upgrade_plan() if items is None else items
    record = read_upgrade(folder) or {}
    names = {served_name(m, n) for m, n in items}
    if names <= set(record.get("done", [])):
        return None
    if _under_way(record, ("waiting", "training"), UPGRADE_STALE_S):
        return None
    result = celery.send_task(
        "geobp.upgrade_served",
        args=(str(folder), items, (settings or CHALLENGER_SETTINGS).to_dict()),
        kwargs=options,
        queue=TRAIN_QUEUE,
    )
    log.info("queued the served networks' upgrade (%d networks): task %s", len(items), result.id)
    return str(result.id)
