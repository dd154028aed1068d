"""Array-module selection: NumPy, or CuPy when the input lives on a GPU.

CuPy is optional. When it does not import, everything runs on NumPy silently.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

try:  # pragma: no cover - depends on the machine
    import cupy as _cupy
except Exception:  # noqa: BLE001 - any import failure means "no GPU backend"
    _cupy = None

BACKENDS = ("auto", "numpy", "cupy")


def cupy_available() -> bool:
    """True when CuPy imported successfully."""
    return _cupy is not None


def get_array_module(*arrays: Any, backend: str | None = None) -> ModuleType:
    """Return the array module for ``arrays``.

    ``backend``: ``None``/``"auto"`` (CuPy if any input is a CuPy array, else NumPy),
    ``"numpy"`` or ``"cupy"`` (a ``ValueError`` when CuPy is not installed).
    """
    if backend is None or backend == "auto":
        if _cupy is not None:
            return _cupy.get_array_module(*arrays)
        return np
    if backend == "numpy":
        return np
    if backend == "cupy":
        if _cupy is None:
            raise ValueError("backend: 'cupy' was requested but CuPy is not installed")
        return _cupy
    raise ValueError(f"backend: must be one of {BACKENDS}, got {backend!r}")


def to_numpy(array: Any) -> np.ndarray:
    """Copy ``array`` to host memory as a NumPy array (no copy for NumPy input)."""
    if _cupy is not None and isinstance(array, _cupy.ndarray):
        return _cupy.asnumpy(array)
    return np.asarray(array)
