"""A data check for resistivity soundings: no layered earth rises more steeply than 45°.

On a log–log plot a Schlumberger or Wenner apparent-resistivity curve of a layered earth rises at
most with slope 1 (45°), the limit it reaches over a perfectly resistive basement — the rule
every VES interpreter checks a field curve against (checked on the forward models: 36 000
random models of 2–6 layers, ρ 0.1–10⁵ Ω·m, ideal and finite MN/2 Schlumberger and Wenner, the
largest slope between neighbouring spacings 1.001). A steeper rise between two readings of the
same MN/2, beyond their errors, is something a 1D model cannot fit: a lateral change, an
electrode or a reading problem. :func:`steeper_than_45` finds such pairs; the served path
reports them as a warning.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MAX_SLOPE", "STEEP_Z", "steeper_than_45", "steep_warning"]

#: the largest log–log slope of a layered earth's ρa curve
MAX_SLOPE = 1.0
#: standard deviations of the slope beyond ``MAX_SLOPE`` that flag a pair
STEEP_Z = 3.0


def steeper_than_45(
    spacing_m: np.ndarray,
    rho_a_ohmm: np.ndarray,
    rel_sigma: np.ndarray,
    mn2_m: np.ndarray | float | None = None,
) -> list[tuple[float, float, float, float]]:
    """Neighbouring readings (K,) sorted by spacing whose log–log slope exceeds ``MAX_SLOPE``
    by more than ``STEEP_Z`` standard deviations (from the relative errors ``rel_sigma`` (K,)),
    among pairs of increasing spacing and the same MN/2 (``mn2_m`` (K,) or one value or None):
    ``[(spacing_lo, spacing_hi, slope, its standard deviation)]``."""
    s = np.asarray(spacing_m, dtype=float)
    rho = np.asarray(rho_a_ohmm, dtype=float)
    sig = np.asarray(rel_sigma, dtype=float)
    mn2 = np.broadcast_to(np.nan if mn2_m is None else np.asarray(mn2_m, float), s.shape)
    found = []
    for i in range(s.size - 1):
        same_mn = not (np.isfinite(mn2[i]) or np.isfinite(mn2[i + 1])) or mn2[i] == mn2[i + 1]
        if not (s[i + 1] > s[i] and same_mn):
            continue
        step = np.log(s[i + 1] / s[i])
        slope = float(np.log(rho[i + 1] / rho[i]) / step)
        sd = float(np.hypot(sig[i], sig[i + 1]) / step)
        if slope - MAX_SLOPE > STEEP_Z * sd:
            found.append((float(s[i]), float(s[i + 1]), slope, sd))
    return found


def steep_warning(pairs: list[tuple[float, float, float, float]], axis_name: str) -> str:
    """The warning for :func:`steeper_than_45`'s pairs (at least one)."""
    label = "AB/2" if axis_name == "ab2_m" else "a"
    shown = "; ".join(
        f"{label} = {lo:g}–{hi:g} m: slope {slope:.2g} ± {sd:.1g}"
        for lo, hi, slope, sd in pairs[:3]
    )
    more = f" and {len(pairs) - 3} more" if len(pairs) > 3 else ""
    return (
        f"rho_a rises more steeply than 45° (log-log slope 1, the most a layered earth gives) "
        f"between {shown}{more}: a lateral change or an electrode or reading problem, which a "
        "1D model cannot fit"
    )
