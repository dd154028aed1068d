"""Make a p10–p90 band believable: inside the trained bounds, wider on a poor fit, or withheld.

* On a fit with χ above ``WIDEN_CHI`` the band's log10 half-widths are multiplied by χ (the
  linearised covariance scaled by χ², as when the noise was underestimated by that factor).
* Above ``WITHHOLD_CHI`` the band is withheld: the model does not explain the data, so its
  spread says nothing; p10/p90 become the trained bounds and ``withheld`` gives the reason.
* A band reaching past a trained bound is clipped to it, and the parameter is reported as not
  bounded by the data on that side (``unbounded``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["WIDEN_CHI", "WITHHOLD_CHI", "honest_band"]

WIDEN_CHI = 1.5  # above this χ the band widens by the factor χ
WITHHOLD_CHI = 3.0  # above this χ the band is withheld (p10/p90 = the trained bounds)


def _unit(name: str) -> str:
    return "ohm.m" if name.startswith("rho") else "m"


def honest_band(
    band: dict[str, np.ndarray],
    chi: float | None,
    lower: np.ndarray,
    upper: np.ndarray,
    names: Sequence[str],
) -> tuple[dict[str, np.ndarray], dict[str, object], list[str]]:
    """``(band, notes, warnings)`` from a calibrated ``band`` (``p10``/``p50``/``p90``, each
    (n_params,) physical), the fit's ``chi``, the trained bounds ``lower``/``upper``
    (n_params,) and the parameter ``names``.

    ``notes``: ``chi_scale`` (the factor the half-widths were widened by, 1 if none),
    ``withheld`` (the reason, or None) and ``unbounded`` (``{name: "below" | "above" |
    "both"}``, where the band reached a trained bound).
    """
    p10, p50, p90 = (np.asarray(band[q], dtype=float) for q in ("p10", "p50", "p90"))
    lower, upper = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    warnings: list[str] = []
    withheld = None
    scale = 1.0
    chi_ok = chi is not None and math.isfinite(chi)
    if not chi_ok or chi > WITHHOLD_CHI:
        shown = "not finite" if not chi_ok else f"{chi:.2f}"
        withheld = (
            f"chi {shown} > {WITHHOLD_CHI:g}: the model does not explain the data, so no "
            "uncertainty band is given (p10/p90 show the trained bounds)"
        )
        p10, p90 = lower.copy(), upper.copy()
        warnings.append("uncertainty withheld: " + withheld)
    elif chi > WIDEN_CHI:
        scale = float(chi)
        log_mid = np.log10(p50)
        p10 = 10 ** (log_mid - scale * (log_mid - np.log10(p10)))
        p90 = 10 ** (log_mid + scale * (np.log10(p90) - log_mid))
        warnings.append(
            f"chi {chi:.2f} > {WIDEN_CHI:g}: the p10-p90 band is widened by the factor chi"
        )
    below, above = p10 <= lower * (1 + 1e-9), p90 >= upper * (1 - 1e-9)
    p10, p90 = np.maximum(p10, lower), np.minimum(p90, upper)
    unbounded: dict[str, str] = {}
    if withheld is None:
        for j, name in enumerate(names):
            side = {(True, True): "both", (True, False): "below", (False, True): "above"}.get(
                (bool(below[j]), bool(above[j]))
            )
            if side is None:
                continue
            unbounded[name] = side
            limits = {
                "below": f"p10 = the trained lower bound {lower[j]:g} {_unit(name)}",
                "above": f"p90 = the trained upper bound {upper[j]:g} {_unit(name)}",
                "both": f"the band is the trained range [{lower[j]:g}, {upper[j]:g}] {_unit(name)}",
            }[side]
            where = "" if side == "both" else f" from {side}"
            warnings.append(f"{name} is not bounded by the data{where}: {limits}")
    notes: dict[str, object] = {"chi_scale": scale, "withheld": withheld, "unbounded": unbounded}
    return {"p10": p10, "p50": p50, "p90": p90}, notes, warnings
