"""``geobp.upgrade_served``: after the starter set, challenge its VES and MT networks with
physics-guided ones.

The starter set (parameter MSE; :data:`service.starter.STARTER_SETTINGS`) trains in about a
minute, so a fresh deployment inverts at once, but its networks' own answers are only starting
models (docs/benchmarks.md, "The network's answer from noisy copies of the sounding"). The upgrade
trains, one network at a time, a challenger for each ``[method, n_layers]`` of its plan with the
given settings (the challengers' defaults: the data misfit of the network's own answer in the
loss) and runs the champion/challenger round of :func:`worker.served_retrain.challenge` on it, so
each layer count's new network serves as soon as it wins.

Progress goes to ``<folder>/upgrade.json``: ``{"state": "waiting" | "training" | "done" |
"failed", "current", "done": [names], "promoted": [names], "total", "error", "updated_at"}``.
A network already in ``done`` is not challenged again, so a rerun (after a lost worker or a
restart) goes on where the last one stopped. While a champion of the plan is not in yet (the
starter set still training), the task is retried every ``wait_s`` seconds, for at most
:data:`MAX_WAIT_S`.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

from celery import Task
from celery.exceptions import MaxRetriesExceededError

from inversion.served import served_name
from inversion.served.champion import EVAL_N, EVAL_SEED
from worker.served import read_json, write_state
from worker.served_retrain import challenge, champion_of

__all__ = ["MAX_WAIT_S", "UPGRADE_FILE", "WAIT_S", "read_upgrade", "upgrade_served"]

UPGRADE_FILE = "upgrade.json"
WAIT_S = 30.0  # between two looks for the starter set's networks
MAX_WAIT_S = 4 * 3600.0  # then the upgrade fails, naming the networks still missing
log = logging.getLogger(__name__)


def read_upgrade(folder: str | Path) -> dict[str, Any] | None:
    """The upgrade's progress record in ``folder`` (None when there is none or it cannot be
    read)."""
    return read_json(Path(folder) / UPGRADE_FILE)


def upgrade_served(
    task: Task,
    folder: str,
    plan: list[list[Any]],
    settings: dict[str, Any],
    n_eval: int = EVAL_N,
    seed: int = EVAL_SEED,
    wait_s: float = WAIT_S,
) -> list[str]:
    """Challenge every ``[method, n_layers]`` of ``plan`` not yet done with a challenger trained
    with the :class:`inversion.served.TrainingSettings` keywords ``settings``, evaluated on
    ``n_eval`` held-out soundings (``seed``); returns the names promoted by this run."""
    store = task.app.geobp_store
    if store is None:
        raise RuntimeError("geobp.upgrade_served needs the registry (the worker has no job store)")
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    names = [served_name(m, int(n)) for m, n in plan]
    earlier = read_upgrade(out) or {}
    done = [name for name in earlier.get("done", []) if name in names]
    promoted = [name for name in earlier.get("promoted", []) if name in names]
    progress: dict[str, Any] = {
        "current": None,
        "done": done,
        "promoted": promoted,
        "total": len(names),
        "error": None,
    }
    absent = [name for name in names if champion_of(store, out, name)[1] is None]
    if absent:
        write_state(out / UPGRADE_FILE, progress, "waiting")
        try:
            raise task.retry(countdown=wait_s, max_retries=math.ceil(MAX_WAIT_S / wait_s))
        except MaxRetriesExceededError:
            error = f"the starter set's networks {absent} were not in after {MAX_WAIT_S:.0f} s"
            write_state(out / UPGRADE_FILE, progress, "failed", error=error)
            raise
    promoted_now = []
    try:
        for (method, n_layers), name in zip(plan, names, strict=True):
            if name in done:
                continue
            write_state(out / UPGRADE_FILE, progress, "training", current=name)
            result = challenge(
                store,
                out,
                method,
                int(n_layers),
                settings,
                0.0,
                int(n_eval),
                int(seed),
                origin="upgrade",
            )
            done.append(name)
            if result["promoted"]:
                promoted.append(name)
                promoted_now.append(name)
    except Exception as exc:
        write_state(out / UPGRADE_FILE, progress, "failed", error=f"{type(exc).__name__}: {exc}")
        raise
    write_state(out / UPGRADE_FILE, progress, "done", current=None)
    log.info("served upgrade done: %d of %d networks promoted", len(promoted), len(names))
    return promoted_now
