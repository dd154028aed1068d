"""Figures of an inversion: the data fit and the layered model, as PNG or SVG (matplotlib).

Left: observed apparent resistivity (with error bars when given) and the network's predicted
curve on log–log axes (AB/2, a or period against ρa); for MT a phase panel below. Right: the model
as a resistivity-versus-depth step plot (depth down, log resistivity) with the p10–p90 band.
Uses matplotlib's object API with the Agg/SVG canvases only — no pyplot global state.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from inversion.formats.results import layer_rows

# the dashboard's colours (service/dashboard/static/plots.js)
OBSERVED, PREDICTED, MODEL = "#222222", "#c0392b", "#1f5fa8"
_AXIS_LABELS = {"ab2_m": "AB/2 (m)", "a_m": "a (m)", "periods_s": "period (s)"}
_FORMATS = {".png": "png", ".svg": "svg"}


def _axis_key(mapping: Mapping[str, Any]) -> str | None:
    for key in _AXIS_LABELS:
        if key in mapping and mapping[key] is not None:
            return key
    return None


def _array(mapping: Mapping[str, Any], key: str) -> np.ndarray | None:
    value = mapping.get(key)
    if value is None:
        return None
    return np.atleast_1d(np.asarray(value, dtype=float))


def _decade_axis(ax: Any, axis: str, values: list[np.ndarray]) -> None:
    """Log scale on ``axis`` ("x" or "y") with limits rounded out to whole decades."""
    finite = np.concatenate([v[np.isfinite(v) & (v > 0)] for v in values if v is not None])
    getattr(ax, f"set_{axis}scale")("log")
    getattr(ax, f"{axis}axis").set_minor_formatter(NullFormatter())
    if finite.size:
        low = 10.0 ** np.floor(np.log10(finite.min() / 1.25))
        high = 10.0 ** np.ceil(np.log10(finite.max() * 1.25))
        getattr(ax, f"set_{axis}lim")(low, high if high > low else 10.0 * low)


def _plot_curve(
    ax: Any, x: np.ndarray, y: np.ndarray, err: np.ndarray | None, **style: Any
) -> None:
    if err is None:
        ax.plot(x, y, "o", **style)
    else:
        ax.errorbar(x, y, yerr=err, fmt="o", capsize=2, **style)


def _data_panels(fig: Figure, grid: Any, observation: Mapping[str, Any], result: Mapping[str, Any]):
    predicted = result.get("predicted") or {}
    axis_key = _axis_key(observation) or _axis_key(predicted)
    if axis_key is None:
        raise ValueError("observation: no ab2_m, a_m or periods_s field to plot against")
    is_mt = "phase_deg" in observation or "phase_deg" in predicted
    rho_ax = fig.add_subplot(grid[0, 0] if is_mt else grid[:, 0])
    x_obs = _array(observation, axis_key)
    rho_obs = _array(observation, "rho_a_ohmm")
    if x_obs is not None and rho_obs is not None:
        err = _array(observation, "rho_a_error_percent")
        yerr = None if err is None else np.broadcast_to(rho_obs * err / 100.0, rho_obs.shape)
        _plot_curve(rho_ax, x_obs, rho_obs, yerr, color=OBSERVED, ms=4, label="observed")
    x_pred = _array(predicted, _axis_key(predicted) or axis_key)
    rho_pred = _array(predicted, "rho_a_ohmm")
    if x_pred is not None and rho_pred is not None:
        order = np.argsort(x_pred)
        rho_ax.plot(x_pred[order], rho_pred[order], "-", color=PREDICTED, lw=1.5, label="predicted")
    rho_ax.set_xscale("log")
    rho_ax.xaxis.set_minor_formatter(NullFormatter())
    _decade_axis(rho_ax, "y", [rho_obs, rho_pred])
    rho_ax.set_ylabel("apparent resistivity (Ω·m)")
    rho_ax.grid(True, which="both", alpha=0.3)
    rho_ax.legend(loc="best", fontsize="small")
    misfit = (result.get("misfit") or {}).get("rms_percent")
    title = "data fit" + (f" (rms {misfit:.2g} %)" if isinstance(misfit, int | float) else "")
    rho_ax.set_title(title)
    if not is_mt:
        rho_ax.set_xlabel(_AXIS_LABELS[axis_key])
        return
    phase_ax = fig.add_subplot(grid[1, 0], sharex=rho_ax)
    phase_obs = _array(observation, "phase_deg")
    if x_obs is not None and phase_obs is not None:
        err = _array(observation, "phase_error_deg")
        yerr = None if err is None else np.broadcast_to(err, phase_obs.shape)
        _plot_curve(phase_ax, x_obs, phase_obs, yerr, color=OBSERVED, ms=4)
    phase_pred = _array(predicted, "phase_deg")
    if x_pred is not None and phase_pred is not None:
        order = np.argsort(x_pred)
        phase_ax.plot(x_pred[order], phase_pred[order], "-", color=PREDICTED, lw=1.5)
    phase_ax.set_ylim(0.0, 90.0)
    phase_ax.set_ylabel("phase (°)")
    phase_ax.set_xlabel(_AXIS_LABELS[axis_key])
    phase_ax.grid(True, which="both", alpha=0.3)


def _model_panel(fig: Figure, grid: Any, result: Mapping[str, Any]) -> None:
    rows = layer_rows(result)
    ax = fig.add_subplot(grid[:, 1])
    last_top = rows[-1]["top_m"] or 0.0
    bottom_plot = max(2.0 * last_top, 1.0)
    tops = np.array([row["top_m"] for row in rows], dtype=float)
    bottoms = np.array(
        [row["bottom_m"] if row["bottom_m"] is not None else bottom_plot for row in rows],
        dtype=float,
    )
    rho = np.array([row["rho_ohmm"] for row in rows], dtype=float)
    depth_steps = np.column_stack([tops, bottoms]).ravel()
    if all(row["rho_p10_ohmm"] is not None for row in rows):
        p10 = np.array([row["rho_p10_ohmm"] for row in rows], dtype=float)
        p90 = np.array([row["rho_p90_ohmm"] for row in rows], dtype=float)
        ax.fill_betweenx(
            depth_steps,
            np.repeat(p10, 2),
            np.repeat(p90, 2),
            color=MODEL,
            alpha=0.25,
            lw=0,
            label="p10–p90",
        )
    ax.plot(np.repeat(rho, 2), depth_steps, "-", color=MODEL, lw=2, label="model")
    bands = [
        np.array([row[k] for row in rows], dtype=float) for k in ("rho_p10_ohmm", "rho_p90_ohmm")
    ]
    _decade_axis(ax, "x", [rho] + [b for b in bands if not np.any(np.isnan(b))])
    ax.set_ylim(bottom_plot, 0.0)
    ax.set_xlabel("resistivity (Ω·m)")
    ax.set_ylabel("depth (m)")
    ax.set_title("model")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="best", fontsize="small")


def make_figure(
    observation: Mapping[str, Any], result: Mapping[str, Any], title: str = ""
) -> Figure:
    """Build the figure (data fit left, model right) for one observation dict and its result."""
    fig = Figure(figsize=(10.0, 5.0), layout="constrained")
    grid = fig.add_gridspec(2, 2, width_ratios=(1.4, 1.0), height_ratios=(1.6, 1.0))
    _data_panels(fig, grid, observation, result)
    _model_panel(fig, grid, result)
    if title:
        fig.suptitle(title)
    return fig


def write_figure(
    observation: Mapping[str, Any], result: Mapping[str, Any], path: str | Path, title: str = ""
) -> Path:
    """Write the figure to ``path``; the suffix (``.png`` or ``.svg``) picks the format."""
    path = Path(path)
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"figure: unsupported file type {path.suffix!r}; use .png or .svg")
    fig = make_figure(observation, result, title)
    metadata = {"Date": None} if fmt == "svg" else {}
    fig.savefig(path, format=fmt, dpi=120, metadata=metadata)
    return path
