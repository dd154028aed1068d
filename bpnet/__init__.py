"""bpnet: three-layer back-propagation networks on NumPy or CuPy.

``BPNetwork`` (one network), ``BPEnsemble`` (several, for uncertainty), ``load`` (either, from
a checksummed ``.npz``). ``Inverter``/``InversionInputError`` come from ``bpnet.inverter`` and
are imported on first use.
"""

from __future__ import annotations

from typing import Any

from ._training import TrainingDivergedError
from .backend import DeviceUnavailableError, get_array_module, gpu_available
from .ensemble import BPEnsemble
from .io import IntegrityError, load
from .network import BPNetwork, NotFittedError

__all__ = [
    "BPEnsemble",
    "BPNetwork",
    "DeviceUnavailableError",
    "IntegrityError",
    "InversionInputError",
    "Inverter",
    "NotFittedError",
    "TrainingDivergedError",
    "get_array_module",
    "gpu_available",
    "load",
]

_LAZY = {"Inverter", "InversionInputError"}


def __getattr__(name: str) -> Any:
    """Import ``Inverter`` and ``InversionInputError`` from ``bpnet.inverter`` on first access."""
    if name in _LAZY:
        from . import inverter

        value = getattr(inverter, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'bpnet' has no attribute {name!r}")
