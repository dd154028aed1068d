"""Served networks: one per method and layer count, for any sounding in the served range.

Networks work in a canonical frame (:mod:`inversion.served.frame`): data normalised by their
own resistivity and length (or period) scale and resampled onto a log grid with a mask, so one
network serves every geometry. :class:`ServedSet` inverts a sounding with every layer count
(network answer + robust multistart refinement to the minimum) and chooses among them.
"""

from __future__ import annotations

from .frame import METHODS, MethodSpec
from .inverter import MAX_LAYERS, ServedSet, served_name
from .network import ServedNetwork, TrainingSettings, train_served
from .parse import method_of
from .search import SearchSettings
from .sets import load_set, save_set, train_set

__all__ = [
    "MAX_LAYERS",
    "METHODS",
    "MethodSpec",
    "SearchSettings",
    "ServedNetwork",
    "ServedSet",
    "TrainingSettings",
    "load_set",
    "method_of",
    "save_set",
    "served_name",
    "train_served",
    "train_set",
]
