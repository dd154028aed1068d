"""Array-module switch: NumPy on the CPU, CuPy on a GPU, chosen once per ``fit``.

Everything numerical in ``bpnet`` is written against an ``xp`` module argument. On CuPy the
elementwise work of an activation (bias add + nonlinearity, derivative) is fused into one
``cupy.ElementwiseKernel`` launch; on NumPy the same arithmetic runs as in-place ufunc calls.
CuPy is optional: when it does not import, or imports but sees no GPU, ``device="auto"``
quietly uses NumPy and ``device="gpu"`` raises :class:`DeviceUnavailableError`.
"""

from __future__ import annotations

import functools
import logging
from types import ModuleType
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

DEVICES = ("auto", "cpu", "gpu")


class DeviceUnavailableError(ValueError):
    """``device="gpu"`` was asked for but no usable CuPy/GPU is present."""


def _probe_cupy() -> tuple[ModuleType | None, str]:
    """Return ``(cupy, "")`` when CuPy imports and sees a GPU, else ``(None, reason)``."""
    try:
        import cupy
    except Exception as exc:  # noqa: BLE001 - any import failure means "no GPU backend"
        return None, f"CuPy does not import ({type(exc).__name__}: {exc})"
    try:
        count = int(cupy.cuda.runtime.getDeviceCount())
    except Exception as exc:  # noqa: BLE001 - driver/runtime missing
        return None, f"CuPy sees no GPU ({type(exc).__name__}: {exc})"
    if count < 1:
        return None, "CuPy sees no GPU (device count 0)"
    return cupy, ""


def gpu_available() -> bool:
    """True when CuPy imports and sees at least one GPU."""
    return _probe_cupy()[0] is not None


def get_array_module(device: str = "auto") -> tuple[ModuleType, str]:
    """Return ``(xp, device_name)`` for ``device`` in ``"auto" | "cpu" | "gpu"``.

    ``device_name`` is ``"cpu"`` or ``"gpu"``. ``"auto"`` picks CuPy only if it imports and
    sees a GPU; ``"gpu"`` without one raises :class:`DeviceUnavailableError`.
    """
    if device not in DEVICES:
        raise ValueError(f"device: must be one of {DEVICES}, got {device!r}")
    if device == "cpu":
        return np, "cpu"
    cupy, reason = _probe_cupy()
    if cupy is None:
        if device == "gpu":
            raise DeviceUnavailableError(
                f'device: "gpu" was requested but {reason}; use device="cpu" or "auto"'
            )
        logger.debug("device auto: using NumPy because %s", reason)
        return np, "cpu"
    return cupy, "gpu"


def is_gpu(xp: ModuleType) -> bool:
    """True when ``xp`` is not NumPy (i.e. CuPy)."""
    return xp is not np


def take_rows(xp: ModuleType, A: Any, rows: Any, out: Any) -> Any:
    """``out[:] = A[rows]`` for valid row indices ``rows (k,)``, ``out (k, n_cols)``. NumPy
    gets ``mode="clip"``: its default bounds check buffers ``out`` and is 2–3× slower; CuPy's
    ``take`` has no ``mode`` (it wraps)."""
    if xp is np:
        return np.take(A, rows, axis=0, out=out, mode="clip")
    return xp.take(A, rows, axis=0, out=out)


def to_numpy(a: Any) -> np.ndarray:
    """Copy ``a`` to host memory as a NumPy array (no copy for NumPy input)."""
    if isinstance(a, np.ndarray):
        return a
    get = getattr(a, "get", None)
    if callable(get):
        return get()
    return np.asarray(a)


def to_scalar(a: Any) -> float:
    """A 0-d NumPy/CuPy value (or Python number) as a Python float (syncs the GPU)."""
    return float(to_numpy(a))


@functools.lru_cache(maxsize=64)
def elementwise_kernel(in_params: str, out_params: str, operation: str, name: str) -> Any:
    """A cached ``cupy.ElementwiseKernel`` (only called on the GPU path)."""
    import cupy

    return cupy.ElementwiseKernel(in_params, out_params, operation, name)
