"""Cole–Cole (Pelton) dispersive resistivity: the induced-polarisation model of the TEM solvers.

Pelton et al. (1978, Geophysics 43(3), 588), time dependence e^{iωt} as in the TEM kernel:

    ρ(ω) = ρ_0 [1 − m (1 − 1/(1 + (iωτ)^c))],   σ(ω) = 1/ρ(ω),

with ρ_0 the DC resistivity (Ω·m), m the chargeability (0 ≤ m < 1; ρ(∞) = ρ_0 (1 − m)), τ the
time constant (s) and c the frequency exponent (0 < c ≤ 1). m = 0 is a non-polarisable layer.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

#: the parameters of one polarisable layer, in this order: the test of a bad value, its limits
LIMITS = {
    "chargeability": (lambda a: (a < 0) | (a >= 1), "0 ≤ m < 1"),
    "tau_s": (lambda a: a <= 0, "τ > 0 s"),
    "c": (lambda a: (a <= 0) | (a > 1), "0 < c ≤ 1"),
}


def conductivity(
    rho0_ohmm: Any, chargeability: Any, tau_s: Any, c: Any, omega_rad_s: Any, xp: ModuleType = np
) -> Any:
    """σ(ω) in S/m, complex128, shaped ``(n, N, W)`` from per-layer ``(n, N)`` ρ_0 (Ω·m), m, τ (s)
    and c, and ``(W,)`` angular frequencies ω (rad/s). (iωτ)^c = (ωτ)^c e^{iπc/2}: one real power
    and one complex product per value."""
    omega = xp.asarray(omega_rad_s, dtype=xp.float64).reshape(1, 1, -1)
    rho0, m, tau, cc = (
        xp.asarray(a, dtype=xp.float64)[..., None] for a in (rho0_ohmm, chargeability, tau_s, c)
    )
    iwt_c = (omega * tau) ** cc * xp.exp(0.5j * xp.pi * cc)
    return 1.0 / (rho0 * (1.0 - m * (1.0 - 1.0 / (1.0 + iwt_c))))


def check(chargeability: Any, tau_s: Any, c: Any, shape: tuple[int, int]) -> tuple[np.ndarray, ...]:
    """The three Cole–Cole arrays as float64 ``shape`` ``(n, N)`` (scalars and ``(N,)`` rows are
    broadcast); raises ``ValueError`` naming the first value outside 0 ≤ m < 1, τ > 0, 0 < c ≤ 1."""
    out = []
    for (name, (outside, limits)), value in zip(
        LIMITS.items(), (chargeability, tau_s, c), strict=True
    ):
        try:
            arr = np.broadcast_to(np.asarray(value, dtype=np.float64), shape)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name}: expected a number or an array of shape {shape}") from exc
        bad = ~np.isfinite(arr) | outside(arr)
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(f"{name}{list(idx)}: {float(arr[idx])!r} is outside {limits}")
        out.append(arr)
    return tuple(out)
