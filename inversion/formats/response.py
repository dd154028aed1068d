"""The reported model's response densely sampled between the data, for plots (no matplotlib)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

import forward_models

_FORWARD = {"ab2_m": "ves-schlumberger", "a_m": "ves-wenner", "periods_s": "mt-1d"}
POINTS_PER_DECADE = 40


def optional_array(mapping: Mapping[str, Any], key: str) -> np.ndarray | None:
    """``mapping[key]`` as a 1-D float array, or None when it is missing or null."""
    value = mapping.get(key)
    if value is None:
        return None
    return np.atleast_1d(np.asarray(value, dtype=float))


def _segments(observation: Mapping[str, Any], axis_key: str, x_obs: np.ndarray) -> list[tuple]:
    """``[(x_lo, x_hi, geometry keywords)]``: one per MN/2 segment of a Schlumberger sounding
    (MN/2 given per datum), else one over the observed range."""
    lo, hi = float(np.min(x_obs)), float(np.max(x_obs))
    mn2 = observation.get("mn2_m") if axis_key == "ab2_m" else None
    if axis_key != "ab2_m":
        return [(lo, hi, {})]
    if mn2 is None or np.ndim(mn2) == 0:
        return [(lo, hi, {"mn2_m": None if mn2 is None else float(mn2)})]
    mn2 = np.asarray(mn2, dtype=float)
    out = []
    for value in np.unique(mn2):
        x = x_obs[mn2 == value]
        out.append((float(x.min()), float(x.max()), {"mn2_m": float(value)}))
    return out


def dense_response(
    observation: Mapping[str, Any], result: Mapping[str, Any], axis_key: str
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The reported model's response densely sampled between the data: ``[(x (M,),
    data (M, 1 or 2))]`` per segment (ρa, then phase for MT), each MN/2 segment's ρa times its
    fitted factor where the result applied segment factors (``segment_shifts``); empty when it
    cannot be computed."""
    x_obs = optional_array(observation, axis_key)
    model = result.get("model") or {}
    rho, thickness = model.get("rho_ohmm"), model.get("thickness_m")
    if x_obs is None or not rho or thickness is None:
        return []
    vector = np.asarray(list(rho) + list(thickness), dtype=float)
    factors = _segment_factors(result)
    curves = []
    for lo, hi, geometry in _segments(observation, axis_key, x_obs):
        if hi <= lo:
            continue
        n = max(int(np.ceil(POINTS_PER_DECADE * np.log10(hi / lo))) + 1, 2)
        x = np.geomspace(lo, hi, n)
        if geometry.get("mn2_m") is not None and geometry["mn2_m"] >= lo:
            x = x[x > geometry["mn2_m"]]
        fm = forward_models.create(
            _FORWARD[axis_key], n_layers=len(rho), **{axis_key: x}, **geometry
        )
        data = np.asarray(fm.forward(vector), dtype=float)[0].reshape(-1, x.size).T
        data[:, 0] *= factors.get(geometry.get("mn2_m"), 1.0)
        curves.append((x, data))
    return curves


def _segment_factors(result: Mapping[str, Any]) -> dict[float, float]:
    """``{MN/2 (m): factor}`` of the segment factors the result applied (empty if none)."""
    report = result.get("segment_shifts") or {}
    if not report.get("applied"):
        return {}
    return {float(s["mn2_m"]): float(s["factor"]) for s in report.get("segments", [])}


def fit_title(result: Mapping[str, Any]) -> str:
    """Title of a data-fit panel: χ (the fit against the data's errors) and the RMS relative
    misfit, e.g. ``"data fit (χ 1.05, rms 3.2 %)"``; either left out when the result lacks it."""
    misfit = result.get("misfit") or {}
    parts = []
    if isinstance(misfit.get("chi"), int | float):
        parts.append(f"χ {misfit['chi']:.3g}")
    if isinstance(misfit.get("rms_percent"), int | float):
        parts.append(f"rms {misfit['rms_percent']:.2g} %")
    return "data fit" + (f" ({', '.join(parts)})" if parts else "")


#: error bars wider than e^this (errors 10⁶ times the datum: late noise gates of real TEM files)
#: leave a log axis either way; capping them keeps e^σ finite
MAX_BAR_LN = 20.0


def log_error_bars(values: np.ndarray, percent: np.ndarray) -> np.ndarray:
    """Asymmetric bars (2, K) v·(1 − e^{−σ}), v·(e^{σ} − 1) for relative errors σ = %/100 (at
    most ``MAX_BAR_LN``), symmetric on a log axis (the misfit weighs ln v)."""
    sigma = np.minimum(np.broadcast_to(percent / 100.0, values.shape), MAX_BAR_LN)
    return np.vstack([values * (1.0 - np.exp(-sigma)), values * (np.exp(sigma) - 1.0)])
