"""bpnet: three-layer back-propagation networks on NumPy or CuPy.

``BPNetwork`` (one network), ``BPEnsemble`` (several, for uncertainty), ``load`` (either, from
a checksummed ``.npz``). The package sees arrays only: it imports nothing geophysical
(``forward_models``, ``inversion``) and no SciPy.
"""

from __future__ import annotations

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
    "NotFittedError",
    "TrainingDivergedError",
    "get_array_module",
    "gpu_available",
    "load",
]
