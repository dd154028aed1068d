"""Building a :class:`ServedSet`: train every network of some methods, or load saved ones."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from .frame import METHODS
from .inverter import MAX_LAYERS, ServedSet, served_name
from .network import ServedNetwork, TrainingSettings, train_served

__all__ = ["load_set", "save_set", "train_set"]

log = logging.getLogger(__name__)


def train_set(
    methods: Iterable[str] = tuple(METHODS),
    settings: TrainingSettings | None = None,
    max_layers: int = MAX_LAYERS,
) -> ServedSet:
    """Train the networks of ``methods`` for 2…``max_layers`` layers, in this process."""
    served = ServedSet(max_layers=max_layers)
    for method in methods:
        for n_layers in range(2, max_layers + 1):
            log.info("training %s", served_name(method, n_layers))
            served.add(train_served(method, n_layers, settings))
    return served


def save_set(served: ServedSet, directory: str | Path) -> list[Path]:
    """Write each network of ``served`` to ``directory/<served name>.npz``; returns the paths."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for (method, n_layers), net in sorted(served.networks.items()):
        path = out / f"{served_name(method, n_layers)}.npz"
        net.save(str(path))
        paths.append(path)
    return paths


def load_set(directory: str | Path, max_layers: int = MAX_LAYERS) -> ServedSet:
    """A set of every ``served-*.npz`` in ``directory`` (checksums verified)."""
    served = ServedSet(max_layers=max_layers)
    for path in sorted(Path(directory).glob("served-*.npz")):
        served.add(ServedNetwork.load(str(path)))
    return served
