"""e^a (cos φ + i sin φ) on real buffers, the fastest exact way NumPy offers on this CPU.

NumPy's float64 ``cos`` and ``sin`` are slow on x86 (on the AVX-512 host of docs/benchmarks.md,
cos + sin of 30 720 phases in [−40, 0] take ~1 000 µs), while its float64 ``tan`` has a SIMD
kernel there (the half-angle form below: ~95 µs, within 4·10⁻¹⁶). The MT and TEM recursions
both need E = e^{−2kh} for a complex wavenumber k, so both call :func:`exp_cis`.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np


def vectorised(name: str, dtype: str) -> bool:
    """Whether NumPy runs ufunc ``name`` on ``dtype`` ("float64", "float32") with a SIMD kernel
    chosen for this CPU rather than its baseline build (NumPy ≥ 2.1; False when unknown)."""
    try:
        from numpy.lib.introspect import opt_func_info

        found = opt_func_info(func_name=f"^{name}$", signature=f"^{dtype}$")[name]
        (target,) = (t["current"] for t in found.values())
        return not target.startswith("baseline")
    except Exception:  # noqa: BLE001 - older NumPy or an unknown layout: assume not
        return False


#: ufuncs whose speed picks a formulation (measured on AVX-512, docs/benchmarks.md)
VECTORISED = {"tan": vectorised("tan", "float64"), "arctan2": vectorised("arctan2", "float32")}


def exp_cis(
    log_amp: Any,
    phase: Any,
    re: Any,
    im: Any,
    xp: ModuleType,
    half_angle: bool | None = None,
) -> None:
    """Write e^a cos φ into ``re`` and e^a sin φ into ``im`` for a = ``log_amp``, φ = ``phase``
    (arrays of one shape; both are overwritten as scratch and may be the same array).

    ``half_angle``: with w = tan(φ/2), cos φ = (1 − w²)/(1 + w²) and sin φ = 2w/(1 + w²); by
    default for a float64 phase on NumPy builds whose float64 ``tan`` is vectorised on this CPU
    (:data:`VECTORISED`). A float32 phase (fast, 6·10⁻⁸ relative) takes ``cos``/``sin``.
    """
    if half_angle is None:
        half_angle = phase.dtype == np.float64 and xp is np and VECTORISED["tan"]
    xp.exp(log_amp, out=re)
    if not half_angle:
        xp.sin(phase, out=im)
        xp.cos(phase, out=phase)
        im *= re
        re *= phase
        return
    xp.multiply(phase, 0.5, out=im)
    xp.tan(im, out=im)  # w
    xp.multiply(im, im, out=phase)
    phase += 1  # 1 + w²
    re /= phase  # e^a / (1 + w²)
    im *= re
    im *= 2  # e^a sin φ
    xp.subtract(2, phase, out=phase)  # 1 − w²
    re *= phase  # e^a cos φ
