"""Figures of an inversion: the data fit and the layered model, as PNG or SVG (matplotlib).

Left: observed apparent resistivity (error bars in log space, ρa·e^{±σ}, when given) and the
reported model's response drawn densely between the data (computed with ``forward_models`` on
the observed geometry, 40 points per decade; one curve per MN/2 segment) on log–log axes; for MT
a phase panel below. Right: the model as a resistivity-versus-depth step plot with the p10–p90
band, depth on a log axis by default (``depth_scale="linear"`` switches), and each layer's
conductance S and transverse resistance T (the one the data resolve best marked with *); the
smooth model (dashed, with its band) when the result has one, and the depth range below the
depth of investigation greyed (light below the conservative DOI, darker below the standard one).
Uses matplotlib's object API with the Agg/SVG canvases only — no pyplot global state.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter

from inversion.formats.figures_tem import POLARISABLE, is_tem, tem_data_panels
from inversion.formats.response import (
    dense_response,
    fit_title,
    log_error_bars,
    optional_array,
)
from inversion.formats.results import doi_value, layer_rows

# the dashboard's colours (service/dashboard/static/plots.js)
OBSERVED, PREDICTED, MODEL, SMOOTH = "#222222", "#c0392b", "#1f5fa8", "#e67e22"
_AXIS_LABELS = {"ab2_m": "AB/2 (m)", "a_m": "a (m)", "periods_s": "period (s)"}
_FORMATS = {".png": "png", ".svg": "svg"}


def _tick(value: float, _: Any = None) -> str:
    """Tick label: plain numbers from 0.001 to 10⁴, powers of ten beyond."""
    if value <= 0 or 1e-3 <= value < 1e5:
        return f"{value:g}"
    return f"$10^{{{round(float(np.log10(value)))}}}$"


_PLAIN = FuncFormatter(_tick)


def _axis_key(mapping: Mapping[str, Any]) -> str | None:
    for key in _AXIS_LABELS:
        if key in mapping and mapping[key] is not None:
            return key
    return None


def _decade_axis(ax: Any, axis: str, values: list[np.ndarray]) -> None:
    """Log scale on ``axis`` ("x" or "y") with limits rounded out to whole decades."""
    finite = np.concatenate([v[np.isfinite(v) & (v > 0)] for v in values if v is not None])
    getattr(ax, f"set_{axis}scale")("log")
    getattr(ax, f"{axis}axis").set_minor_formatter(NullFormatter())
    if finite.size:
        low = 10.0 ** np.floor(np.log10(finite.min() / 1.25))
        high = 10.0 ** np.ceil(np.log10(finite.max() * 1.25))
        getattr(ax, f"set_{axis}lim")(low, high if high > low else 10.0 * low)


def _plot_curve(ax: Any, x: np.ndarray, y: np.ndarray, err: Any | None, **style: Any) -> None:
    if err is None:
        ax.plot(x, y, "o", **style)
    else:
        ax.errorbar(x, y, yerr=err, fmt="o", capsize=2, elinewidth=0.8, **style)


def _data_panels(fig: Figure, grid: Any, observation: Mapping[str, Any], result: Mapping[str, Any]):
    if is_tem(observation, result):
        tem_data_panels(fig, grid, observation, result)
        return
    predicted = result.get("predicted") or {}
    axis_key = _axis_key(observation) or _axis_key(predicted)
    if axis_key is None:
        raise ValueError("observation: no ab2_m, a_m or periods_s field to plot against")
    is_mt = "phase_deg" in observation or "phase_deg" in predicted
    rho_ax = fig.add_subplot(grid[0, 0] if is_mt else grid[:, 0])
    x_obs = optional_array(observation, axis_key)
    rho_obs = optional_array(observation, "rho_a_ohmm")
    if x_obs is not None and rho_obs is not None:
        err = optional_array(observation, "rho_a_error_percent")
        yerr = None if err is None else log_error_bars(rho_obs, err)
        _plot_curve(rho_ax, x_obs, rho_obs, yerr, color=OBSERVED, ms=4, label="observed")
    curves = dense_response(observation, result, axis_key)
    x_pred = optional_array(predicted, _axis_key(predicted) or axis_key)
    rho_pred = optional_array(predicted, "rho_a_ohmm")
    shifted = bool((result.get("segment_shifts") or {}).get("applied"))
    for i, (x, data) in enumerate(curves):
        label = None if i else "model response" + (" × segment factor" if shifted else "")
        rho_ax.plot(x, data[:, 0], "-", color=PREDICTED, lw=1.5, label=label)
    if not curves and x_pred is not None and rho_pred is not None:
        order = np.argsort(x_pred)
        rho_ax.plot(x_pred[order], rho_pred[order], "-", color=PREDICTED, lw=1.5, label="predicted")
    rho_ax.set_xscale("log")
    rho_ax.xaxis.set_minor_formatter(NullFormatter())
    rho_ax.xaxis.set_major_formatter(_PLAIN)
    _decade_axis(rho_ax, "y", [rho_obs, rho_pred] + [data[:, 0] for _, data in curves])
    rho_ax.yaxis.set_major_formatter(_PLAIN)
    rho_ax.set_ylabel("apparent resistivity (Ω·m)")
    rho_ax.grid(True, which="both", alpha=0.3)
    rho_ax.legend(loc="best", fontsize="small")
    rho_ax.set_title(fit_title(result))
    if not is_mt:
        rho_ax.set_xlabel(_AXIS_LABELS[axis_key])
        return
    phase_ax = fig.add_subplot(grid[1, 0], sharex=rho_ax)
    phase_obs = optional_array(observation, "phase_deg")
    if x_obs is not None and phase_obs is not None:
        err = optional_array(observation, "phase_error_deg")
        yerr = None if err is None else np.broadcast_to(err, phase_obs.shape)
        _plot_curve(phase_ax, x_obs, phase_obs, yerr, color=OBSERVED, ms=4)
    phase_pred = optional_array(predicted, "phase_deg")
    for x, data in curves:
        phase_ax.plot(x, data[:, 1], "-", color=PREDICTED, lw=1.5)
    if not curves and x_pred is not None and phase_pred is not None:
        order = np.argsort(x_pred)
        phase_ax.plot(x_pred[order], phase_pred[order], "-", color=PREDICTED, lw=1.5)
    phase_ax.set_ylim(0.0, 90.0)
    phase_ax.set_yticks([0, 15, 30, 45, 60, 75, 90])
    phase_ax.set_ylabel("phase (°)")
    phase_ax.set_xlabel(_AXIS_LABELS[axis_key])
    phase_ax.grid(True, which="both", alpha=0.3)


def _depth_limits(rows: list[dict[str, Any]], depth_scale: str) -> tuple[float, float]:
    """(shallowest, deepest) depth shown (m): below the last interface by a factor 2 (log) or
    twice its depth (linear); on a log axis from a tenth of the first interface."""
    interfaces = [row["bottom_m"] for row in rows if row["bottom_m"] is not None]
    deepest = max(2.0 * interfaces[-1], 1.0) if interfaces else 10.0
    if depth_scale == "linear":
        return 0.0, deepest
    first = interfaces[0] if interfaces else 1.0
    return 10.0 ** np.floor(np.log10(first / 5.0)), 10.0 ** np.ceil(np.log10(deepest))


#: Vertical room of one S/T label in axes fractions (two 7 pt lines, ~3.3 in high model axes).
LABEL_GAP = 0.085


def label_positions(wanted: np.ndarray, gap: float = LABEL_GAP) -> np.ndarray:
    """Heights (k,) in axes fractions for labels that want ``wanted`` (k,), top to bottom
    (descending), moved apart by at least ``gap`` (less when k labels cannot fit), kept inside
    [gap/2, 1 − gap/2]: pushed down from the top, then up from the bottom where they ran out."""
    wanted = np.asarray(wanted, dtype=float)
    if not wanted.size:
        return wanted
    gap = min(gap, 1.0 / wanted.size)
    placed = np.clip(wanted, gap / 2, 1.0 - gap / 2)
    for i in range(1, placed.size):
        placed[i] = min(placed[i], placed[i - 1] - gap)
    placed[-1] = max(placed[-1], gap / 2)
    for i in range(placed.size - 2, -1, -1):
        placed[i] = max(placed[i], placed[i + 1] + gap)
    return placed


def _label_layers(ax: Any, rows: list[dict[str, Any]], tops: np.ndarray, bottoms: np.ndarray):
    """Write S and T beside each layer above the half-space (the resolved one starred); labels
    of thin layers that would overlap are moved apart and joined to their layer by a line."""
    log_mid = ax.get_yscale() == "log"
    to_axes = ax.transAxes.inverted()
    labels, wanted = [], []
    for row, top, bottom in zip(rows, tops, bottoms, strict=True):
        if row["conductance_s"] is None:
            continue
        mid = np.sqrt(top * bottom) if log_mid else 0.5 * (top + bottom)
        height = float(to_axes.transform(ax.transData.transform((1.0, mid)))[1])
        if not 0.0 <= height <= 1.0:
            continue  # the layer is off the axis
        best = row.get("resolved")
        s_mark = "*" if best == "conductance" else ""
        t_mark = "*" if best == "transverse_resistance" else ""
        labels.append(
            f"S{s_mark} {row['conductance_s']:.3g} S\n"
            f"T{t_mark} {row['transverse_resistance_ohmm2']:.3g} Ω·m²"
        )
        wanted.append(height)
    placed = label_positions(np.array(wanted))
    for text, want, at in zip(labels, wanted, placed, strict=True):
        moved = abs(at - want) > 1e-3
        ax.annotate(
            text,
            xy=(1.0, want),
            xycoords="axes fraction",
            xytext=(0.985 if not moved else 0.96, at),
            textcoords="axes fraction",
            ha="right",
            va="center",
            fontsize=7,
            color="#444444",
            arrowprops={"arrowstyle": "-", "lw": 0.5, "color": "#888888"} if moved else None,
        )


def _dois(result: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """(conservative, standard) DOI in m: the layered model's, else the smooth model's."""
    for block in (result, result.get("smooth")):
        cons, std = doi_value(block, "conservative"), doi_value(block, "standard")
        if cons is not None and std is not None:
            return cons, std
    return None, None


def _smooth_steps(smooth: Mapping[str, Any], shallow: float, deep: float):
    """The smooth model as step arrays (depth, ρ, p10, p90), each (2N,), cut to the axis."""
    rho = np.asarray(smooth["rho_ohmm"], dtype=float)
    depth = np.asarray(smooth["depth_m"], dtype=float)
    tops = np.maximum(np.concatenate([[0.0], depth]), shallow)
    bottoms = np.concatenate([depth, [max(deep, depth[-1] if depth.size else deep)]])
    steps = np.column_stack([tops, bottoms]).ravel()
    bands = [optional_array(smooth, k) for k in ("p10", "p90")]
    return steps, np.repeat(rho, 2), *(None if b is None else np.repeat(b, 2) for b in bands)


def _draw_smooth(ax: Any, smooth: Mapping[str, Any], shallow: float, deep: float) -> list:
    """The smooth model (dashed) with its p10–p90 band; returns the ρ values drawn."""
    steps, rho, p10, p90 = _smooth_steps(smooth, shallow, deep)
    if p10 is not None and p90 is not None:
        ax.fill_betweenx(steps, p10, p90, color=SMOOTH, alpha=0.15, lw=0, label="smooth p10–p90")
    ax.plot(rho, steps, "--", color=SMOOTH, lw=1.4, label="smooth model")
    return [rho] + [b for b in (p10, p90) if b is not None]


def _draw_polarisable(ax: Any, ip: Mapping[str, Any], shallow: float, deep: float) -> np.ndarray:
    """The polarisable (Cole–Cole) model's DC resistivities ρ_0 as steps, its Cole–Cole
    parameters written at the polarisable layer's depth; returns the ρ_0 drawn."""
    model = ip["model"]
    steps, rho, *_ = _smooth_steps(
        {"rho_ohmm": model["rho_ohmm"], "depth_m": model["depth_m"]}, shallow, deep
    )
    ax.plot(rho, steps, "-.", color=POLARISABLE, lw=1.6, label="polarisable model ρ₀")
    k = int(ip["polarisable_layer"]) - 1
    top, bottom = float(steps[2 * k]), float(steps[2 * k + 1])
    mid = np.sqrt(top * bottom) if top > 0 else bottom / 2  # log or linear depth axis
    ax.annotate(
        f"m {model['chargeability'][k]:.2f}, τ {model['tau_s'][k]:.2g} s, c {model['c'][k]:.2f}",
        xy=(0.02, float(mid)),
        xycoords=("axes fraction", "data"),
        va="center",
        fontsize=7,
        color=POLARISABLE,
    )
    return rho


#: the two DOI labels' distance, as a share of the depth axis, below which they share one label
DOI_LABEL_GAP = 0.045


def _grey_below_doi(
    ax: Any, result: Mapping[str, Any], shown: tuple[float, float], depth_scale: str
) -> None:
    """Grey the model below the conservative DOI, darker below the standard one; ``shown``
    (shallowest, deepest) depth of the axis in m."""
    cons, std = _dois(result)
    if cons is None or std is None:
        return
    shallow, deep = shown
    ax.axhspan(cons, deep, color="#888888", alpha=0.15, lw=0, label="below DOI")
    ax.axhspan(std, deep, color="#888888", alpha=0.25, lw=0)
    at = np.log10 if depth_scale == "log" else float
    apart = (at(std) - at(cons)) / (at(deep) - at(shallow))
    labels = [(std, f"DOI {std:.3g} m (standard)")]
    if apart > DOI_LABEL_GAP:  # two labels only where they do not overlap
        labels.append((cons, f"DOI {cons:.3g} m (conservative)"))
    else:
        labels = [(std, f"DOI {std:.3g} m (standard), {cons:.3g} m (conservative)")]
    for depth, text in labels:
        ax.axhline(depth, color="#555555", lw=0.8, ls=":")
        ax.annotate(
            text,
            xy=(0.0, depth),
            xycoords=("axes fraction", "data"),
            xytext=(3, 2),
            textcoords="offset points",
            va="bottom",
            fontsize=7,
            color="#444444",
        )


def _model_panel(fig: Figure, grid: Any, result: Mapping[str, Any], depth_scale: str) -> None:
    rows = layer_rows(result)
    ax = fig.add_subplot(grid[:, 1])
    shallow, deep = _depth_limits(rows, depth_scale)
    std_doi = _dois(result)[1]
    if std_doi is not None and depth_scale == "log":
        deep = max(deep, 10.0 ** np.ceil(np.log10(1.5 * std_doi)))
    elif std_doi is not None:
        deep = max(deep, 1.5 * std_doi)
    tops = np.array([max(row["top_m"], shallow) for row in rows], dtype=float)
    bottoms = np.array(
        [row["bottom_m"] if row["bottom_m"] is not None else deep for row in rows], dtype=float
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
            label="layered p10–p90",
        )
    ax.plot(np.repeat(rho, 2), depth_steps, "-", color=MODEL, lw=2, label="layered model")
    bands = [
        np.array([row[k] for row in rows], dtype=float) for k in ("rho_p10_ohmm", "rho_p90_ohmm")
    ]
    drawn = [rho] + [b for b in bands if not np.any(np.isnan(b))]
    smooth = result.get("smooth")
    if isinstance(smooth, Mapping) and smooth.get("rho_ohmm"):
        drawn += _draw_smooth(ax, smooth, shallow, deep)
    ip = result.get("ip")
    if isinstance(ip, Mapping) and ip.get("preferred"):
        drawn.append(_draw_polarisable(ax, ip, shallow, deep))
    _grey_below_doi(ax, result, (shallow, deep), depth_scale)
    _decade_axis(ax, "x", drawn)
    ax.xaxis.set_major_formatter(_PLAIN)
    if depth_scale == "log":
        ax.set_yscale("log")
        ax.yaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_major_formatter(_PLAIN)
    ax.set_ylim(deep, shallow)
    ax.set_xlabel("resistivity (Ω·m)")
    ax.set_ylabel("depth (m)" + (", log scale" if depth_scale == "log" else ""))
    ax.set_title("model")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=3, fontsize="small")
    _label_layers(ax, rows, tops, bottoms)


def make_figure(
    observation: Mapping[str, Any],
    result: Mapping[str, Any],
    title: str = "",
    depth_scale: str = "log",
) -> Figure:
    """Build the figure (data fit left, model right) for one observation dict and its result;
    ``depth_scale`` ``"log"`` (default) or ``"linear"`` for the model's depth axis."""
    if depth_scale not in ("log", "linear"):
        raise ValueError(f"depth_scale must be 'log' or 'linear', got {depth_scale!r}")
    fig = Figure(figsize=(10.0, 5.0), layout="constrained")
    grid = fig.add_gridspec(2, 2, width_ratios=(1.4, 1.0), height_ratios=(1.6, 1.0))
    _data_panels(fig, grid, observation, result)
    _model_panel(fig, grid, result, depth_scale)
    if title:
        fig.suptitle(title)
    return fig


def write_figure(
    observation: Mapping[str, Any],
    result: Mapping[str, Any],
    path: str | Path,
    title: str = "",
    depth_scale: str = "log",
) -> Path:
    """Write the figure to ``path``; the suffix (``.png`` or ``.svg``) picks the format;
    ``depth_scale`` as in :func:`make_figure`."""
    path = Path(path)
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"figure: unsupported file type {path.suffix!r}; use .png or .svg")
    fig = make_figure(observation, result, title, depth_scale)
    metadata = {"Date": None} if fmt == "svg" else {}
    fig.savefig(path, format=fmt, dpi=120, metadata=metadata)
    return path
