"""``geobp.retrain_served``: champion/challenger retraining of one served network.

A challenger is trained with the given settings (larger than the starter set's, typically),
then the challenger and the champion (the registry's ``production`` version, else the file in the
served folder) are evaluated on the same fixed held-out soundings
(:mod:`inversion.served.champion`: median network-only χ, one seed). The challenger is registered
as the next version of the name in every case, with both evaluations and the decision in its
metrics; ``production`` moves to it only when it wins. A champion that was only a file is
registered first, so both versions are listed.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from celery import Task

from inversion.served import ServedNetwork, TrainingSettings, served_name, train_served
from inversion.served.champion import (
    EVAL_N,
    EVAL_SEED,
    challenger_wins,
    evaluate,
    held_out_soundings,
)

__all__ = ["challenge", "champion_of", "retrain_served"]

log = logging.getLogger(__name__)


def champion_of(store: Any, folder: Path, name: str) -> tuple[dict[str, Any] | None, Path | None]:
    """The champion's registry row (or None) and file (or None when there is none at all)."""
    row = store.served_production(name)
    if row is not None:
        return row, Path(row["path"])
    path = folder / f"{name}.npz"
    return None, path if path.is_file() else None


def retrain_served(
    task: Task,
    folder: str,
    method: str,
    n_layers: int,
    settings: dict[str, Any],
    margin: float = 0.0,
    n_eval: int = EVAL_N,
    seed: int = EVAL_SEED,
    schedule_id: str | None = None,
) -> dict[str, Any]:
    """Train a challenger for ``served-<method>-<n_layers>l`` with the :class:`TrainingSettings`
    keywords ``settings``, evaluate it and the champion on the held-out set (``n_eval``
    soundings, ``seed``), register it, and move ``production`` when it wins by ``margin``.
    Returns ``{"name", "network_id", "promoted", "champion", "challenger"}``."""
    origin = "request" if schedule_id is None else "schedule"
    return challenge(
        task.app.geobp_store,
        Path(folder),
        method,
        int(n_layers),
        settings,
        float(margin),
        int(n_eval),
        int(seed),
        schedule_id=schedule_id,
        origin=origin,
    )


def challenge(
    store: Any,
    folder: Path,
    method: str,
    n_layers: int,
    settings: dict[str, Any],
    margin: float,
    n_eval: int,
    seed: int,
    schedule_id: str | None = None,
    origin: str = "request",
) -> dict[str, Any]:
    """The champion/challenger round of :func:`retrain_served` on a job ``store``; ``origin``
    (``"request"``, ``"schedule"`` or ``"upgrade"``) is recorded with the decision."""
    name = served_name(method, n_layers)
    soundings = held_out_soundings(method, n_layers, n_eval, seed)
    row, champion_path = champion_of(store, folder, name)
    champion = (
        evaluate(ServedNetwork.load(str(champion_path)), soundings) if champion_path else None
    )
    if champion_path is not None and row is None:  # a file only: list it as the champion
        store.register_served(name, champion_path, "if_none", None)
        row = store.served_production(name)
    challenger_net = train_served(method, n_layers, TrainingSettings(**settings))
    challenger = evaluate(challenger_net, soundings)
    wins = challenger_wins(champion, challenger, margin)
    record = {
        "held_out": {"metric": "median_network_chi", "n": n_eval, "seed": seed},
        "median_network_chi": challenger["median_network_chi"],
        "champion_challenger": {
            "champion_id": None if row is None else row["id"],
            "champion_version": None if row is None else row["version"],
            "champion": champion,
            "challenger": challenger,
            "promoted": wins,
            "margin": margin,
            "schedule_id": schedule_id,
            "origin": origin,
        },
    }
    tmp = folder / f".challenger-{name}.{os.getpid()}.npz"
    tmp.parent.mkdir(parents=True, exist_ok=True)
    try:
        challenger_net.save(str(tmp), metadata={"name": name})
        network_id = store.register_served(name, tmp, "always" if wins else "if_none", record)
    finally:
        tmp.unlink(missing_ok=True)
    log.info(
        "%s: challenger %s median network chi %.3g vs champion %s: %s",
        name,
        network_id,
        challenger["median_network_chi"],
        "none" if champion is None else f"{champion['median_network_chi']:.3g}",
        "promoted" if wins else "kept the champion",
    )
    return {
        "name": name,
        "network_id": network_id,
        "promoted": wins,
        "champion": champion,
        "challenger": challenger,
    }
