"""The data panels of a TEM inversion figure: −dBz/dt and the late-time apparent resistivity.

Top: the observed −dBz/dt per ampere (error bars symmetric on the log axis, as the misfit weighs
ln of the data) and the model's response against time on log–log axes: drawn densely between
the gates (step-off or the observation's linear ramp, no gate integration; 40 points per
decade) and, as crosses, at the gates exactly as the inversion fitted them. Bottom: the same as
late-time apparent resistivity ρa(t) = (μ₀^{5/2} A / (20 π^{3/2} t^{5/2} g))^{2/3} (A the loop's
area), which is flat at a half-space's resistivity at late times.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import LogFormatterSciNotation, NullFormatter

import forward_models
from inversion.formats.response import (
    POINTS_PER_DECADE,
    fit_title,
    log_error_bars,
    optional_array,
)

__all__ = [
    "LEFT_OUT",
    "fitted_gates",
    "is_tem",
    "late_time_rho_a",
    "tem_data_panels",
    "tem_dense_response",
]

MU0 = 4e-7 * np.pi
OBSERVED, PREDICTED = "#222222", "#c0392b"  # the dashboard's colours
POLARISABLE = "#2e8b57"  # the polarisable (Cole–Cole) model of a TEM sounding
LEFT_OUT = "#999999"  # observed gates the fit left out
DATA = "dbzdt_v_per_am2"
_RECEIVERS = {"central": "tem-central-loop", "coincident": "tem-coincident-loop"}


def fitted_gates(times_s: np.ndarray, fitted_times_s: np.ndarray | None) -> np.ndarray:
    """(K,) bool: which observed gates ``times_s`` (K,) are among the fitted ones (the result's
    predicted times, s); all of them when the result has none."""
    if fitted_times_s is None:
        return np.ones(times_s.size, dtype=bool)
    return np.isclose(times_s[:, None], fitted_times_s[None, :], rtol=1e-9, atol=0.0).any(axis=1)


def is_tem(observation: Mapping[str, Any], result: Mapping[str, Any]) -> bool:
    """Whether the observation (or the result's prediction) is a TEM sounding (``times_s``)."""
    return "times_s" in observation or "times_s" in (result.get("predicted") or {})


def _area_m2(observation: Mapping[str, Any]) -> float | None:
    side, radius = observation.get("loop_side_m"), observation.get("loop_radius_m")
    if side is not None:
        return float(side) ** 2
    return None if radius is None else float(np.pi * float(radius) ** 2)


def late_time_rho_a(times_s: np.ndarray, dbzdt: np.ndarray, area_m2: float) -> np.ndarray:
    """Late-time apparent resistivity (K,) Ω·m of −dBz/dt per ampere (K,) V/(A·m²)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        value = (MU0**2.5 * area_m2 / (20.0 * np.pi**1.5 * times_s**2.5 * dbzdt)) ** (2 / 3)
    return np.where(dbzdt > 0, value, np.nan)


def tem_dense_response(
    observation: Mapping[str, Any], result: Mapping[str, Any]
) -> tuple[np.ndarray, np.ndarray] | None:
    """The reported model's −dBz/dt (M,) at dense times (M,) s over the gates (step-off or the
    observation's ramp, no gates); None when it cannot be computed."""
    times = optional_array(observation, "times_s")
    model = result.get("model") or {}
    rho, thickness = model.get("rho_ohmm"), model.get("thickness_m")
    name = result.get("method") or _RECEIVERS.get(str(observation.get("receiver")))
    loop = {k: observation[k] for k in ("loop_side_m", "loop_radius_m") if observation.get(k)}
    if times is None or not rho or thickness is None or name not in _RECEIVERS.values():
        return None
    lo, hi = float(times.min()), float(times.max())
    ramp = float(observation.get("ramp_off_s") or 0.0)
    lo = max(lo, 1.001 * ramp)
    if not hi > lo or len(loop) != 1:
        return None
    dense = np.geomspace(lo, hi, max(int(POINTS_PER_DECADE * np.log10(hi / lo)) + 1, 2))
    try:
        fm = forward_models.create(name, n_layers=len(rho), times_s=dense, ramp_off_s=ramp, **loop)
        data = np.asarray(fm.forward(np.asarray([*rho, *thickness], dtype=float)), float)[0]
    except ValueError:
        return None
    return dense, data


def _log_axes(ax: Any) -> None:
    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(LogFormatterSciNotation())
        axis.set_minor_formatter(NullFormatter())
    ax.grid(True, which="major", alpha=0.3)


def tem_data_panels(
    fig: Figure, grid: Any, observation: Mapping[str, Any], result: Mapping[str, Any]
) -> None:
    """Draw −dBz/dt (top) and the late-time ρa (bottom) into the left column of ``grid``."""
    predicted = result.get("predicted") or {}
    area = _area_m2(observation)
    top = fig.add_subplot(grid[0, 0])
    bottom = fig.add_subplot(grid[1, 0], sharex=top)
    series = []
    t_obs, d_obs = optional_array(observation, "times_s"), optional_array(observation, DATA)
    t_pred, d_pred = optional_array(predicted, "times_s"), optional_array(predicted, DATA)
    if t_obs is not None and d_obs is not None:
        err = optional_array(observation, "dbzdt_error_percent")
        if err is not None:  # one error for every gate is allowed too
            err = np.broadcast_to(err, d_obs.shape)
        fitted = fitted_gates(t_obs, t_pred)
        keep = (d_obs > 0) & fitted
        bars = None if err is None else log_error_bars(d_obs[keep], err[keep])
        style = {"fmt": "o", "ms": 4, "color": OBSERVED, "capsize": 2, "elinewidth": 0.8}
        top.errorbar(t_obs[keep], d_obs[keep], yerr=bars, label="observed", **style)
        series.append((t_obs[keep], d_obs[keep], "o", OBSERVED))
        left_out = (d_obs > 0) & ~fitted
        if left_out.any():
            top.plot(
                t_obs[left_out],
                d_obs[left_out],
                "o",
                mfc="none",
                color=LEFT_OUT,
                ms=5,
                label="not fitted (dropped: see the warnings)",
            )
            series.append((t_obs[left_out], d_obs[left_out], "o", LEFT_OUT))
    reversed_gates = observation.get("reversed_gates")
    t_rev = None
    if isinstance(reversed_gates, Mapping):  # below zero: drawn as |−dB/dt|, open triangles
        t_rev = optional_array(reversed_gates, "times_s")
        d_rev = np.abs(optional_array(reversed_gates, DATA))
        top.plot(t_rev, d_rev, "v", mfc="none", color=OBSERVED, ms=5, label="below zero: |value|")
        series.append((t_rev, d_rev, "v", OBSERVED))
    dense = tem_dense_response(observation, result)
    if dense is not None:
        top.plot(*dense, "-", color=PREDICTED, lw=1.5, label="model response")
        series.append((dense[0], dense[1], "-", PREDICTED))
    if t_pred is not None and d_pred is not None:
        top.plot(t_pred, d_pred, "x", color=PREDICTED, ms=5, label="fitted at the gates")
        series.append((t_pred, d_pred, "x", PREDICTED))
    ip = result.get("ip")
    if t_pred is not None and isinstance(ip, Mapping) and ip.get("preferred"):
        d_ip = np.asarray(ip["predicted"], dtype=float)
        shown = d_ip > 0  # a polarisable model may reverse sign: only the positive part is drawn
        chi = ip["misfit"]["chi"]
        label = "polarisable (Cole–Cole) model" + ("" if chi is None else f", χ {chi:.2f}")
        top.plot(t_pred[shown], d_ip[shown], "-.", color=POLARISABLE, lw=1.6, label=label)
        series.append((t_pred[shown], d_ip[shown], "-", POLARISABLE))
        fitted_reversed = ip.get("reversed_gates")
        if isinstance(fitted_reversed, Mapping) and t_rev is not None:
            d_rev = np.abs(np.asarray(fitted_reversed["predicted"], dtype=float))
            top.plot(t_rev, d_rev, "v", color=POLARISABLE, ms=4, label="its |value| below zero")
    _log_axes(top)
    values = np.concatenate([d[d > 0] for _, d, _, _ in series]) if series else np.empty(0)
    if values.size:  # the data and the model decide the axis, not the noise gates' bars
        top.set_ylim(values.min() / 10.0, values.max() * 10.0)
    top.set_ylabel("−dBz/dt per A (V/(A·m²))")
    top.set_title(fit_title(result))
    top.legend(loc="best", fontsize="small")
    if area is not None:
        for t, d, marker, colour in series:
            if marker == "v":  # no apparent resistivity of a reversed transient
                continue
            rho = late_time_rho_a(t, d, area)
            style = {"ms": 4} if marker != "-" else {"lw": 1.5}
            if colour == LEFT_OUT:
                style["mfc"] = "none"
            bottom.plot(t, rho, marker, color=colour, **style)
    _log_axes(bottom)
    bottom.set_ylabel("late-time ρa (Ω·m)")
    bottom.set_xlabel("time (s)")
