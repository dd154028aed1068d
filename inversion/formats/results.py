"""Write inversion results: JSON (the API's shape), a layer table (CSV or text) and profile CSV.

A result is DESIGN.md's inversion result dict: ``model`` (``rho_ohmm`` (N,), ``thickness_m``
(N−1,), ``depth_m`` (N−1,) depths of the interfaces), ``uncertainty`` (p10/p90 of the same),
``predicted``, ``misfit``, ``in_domain``, ``warnings``. The last layer is a half-space: its bottom
and thickness are left empty in tables.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from inversion.jsonable import jsonable

LAYER_COLUMNS = (
    "layer",
    "top_m",
    "bottom_m",
    "thickness_m",
    "rho_ohmm",
    "rho_p10_ohmm",
    "rho_p90_ohmm",
    "thickness_p10_m",
    "thickness_p90_m",
    "conductance_s",
    "transverse_resistance_ohmm2",
    "resolved",
)


def _values(mapping: Mapping[str, Any] | None, *keys: str) -> list[float] | None:
    value: Any = mapping
    for key in keys:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return None if value is None else [float(v) for v in value]


def layer_rows(result: Mapping[str, Any]) -> list[dict[str, float | int | None]]:
    """One dict per layer (keys :data:`LAYER_COLUMNS`; depths in m, resistivities in Ω·m).

    ``bottom_m`` and ``thickness_m`` are None for the half-space; p10/p90 are None when the result
    has no uncertainty. ``conductance_s`` S = h/ρ (siemens), ``transverse_resistance_ohmm2``
    T = h·ρ (Ω·m²) and ``resolved`` (which of ρ and h, S or T the data resolve best:
    ``individually``, ``conductance`` or ``transverse_resistance``) for each layer above the
    half-space. Raises ``ValueError`` when ``result["model"]`` is malformed.
    """
    model = result.get("model")
    rho = _values(model, "rho_ohmm")
    if rho is None or not rho:
        raise ValueError("result: model.rho_ohmm is missing")
    thickness = _values(model, "thickness_m") or []
    if len(thickness) != len(rho) - 1:
        raise ValueError(
            f"result: model.thickness_m has {len(thickness)} values for {len(rho)} layers"
        )
    uncertainty = result.get("uncertainty") or {}
    rho_p10 = _values(uncertainty, "rho_ohmm", "p10")
    rho_p90 = _values(uncertainty, "rho_ohmm", "p90")
    h_p10 = _values(uncertainty, "thickness_m", "p10")
    h_p90 = _values(uncertainty, "thickness_m", "p90")
    combos = {
        c.get("layer"): c for c in (uncertainty.get("combinations") or []) if isinstance(c, Mapping)
    }
    rows = []
    top = 0.0
    for i, rho_i in enumerate(rho):
        last = i == len(rho) - 1
        h = None if last else thickness[i]
        rows.append(
            {
                "layer": i + 1,
                "top_m": top,
                "bottom_m": None if h is None else top + h,
                "thickness_m": h,
                "rho_ohmm": rho_i,
                "rho_p10_ohmm": rho_p10[i] if rho_p10 else None,
                "rho_p90_ohmm": rho_p90[i] if rho_p90 else None,
                "thickness_p10_m": h_p10[i] if (h_p10 and not last) else None,
                "thickness_p90_m": h_p90[i] if (h_p90 and not last) else None,
                "conductance_s": None if h is None else h / rho_i,
                "transverse_resistance_ohmm2": None if h is None else h * rho_i,
                "resolved": None if h is None else combos.get(i + 1, {}).get("best_resolved"),
            }
        )
        top = top + h if h is not None else top
    return rows


def csv_cell(value: float | int | str | None) -> str:
    """One CSV cell: empty for None and non-finite numbers, ``true``/``false``, exact floats."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    return str(value)


def rows_csv(columns: Sequence[str], rows: list[Mapping[str, Any]]) -> str:
    """CSV text: the header ``columns``, then each row's cells in that order."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_cell(row[c]) for c in columns])
    return buffer.getvalue()


def format_layer_csv(result: Mapping[str, Any]) -> str:
    """The layer table of one result as CSV text (header :data:`LAYER_COLUMNS`)."""
    return rows_csv(LAYER_COLUMNS, layer_rows(result))


def _short(value: float | int | str | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return {"transverse_resistance": "T", "conductance": "S", "individually": "rho,h"}.get(
            value, value
        )
    if isinstance(value, int):
        return str(value)
    return f"{value:.4g}"


def format_layer_table(result: Mapping[str, Any]) -> str:
    """A human-readable layer table with misfit and warnings, for a terminal."""
    headers = ["layer", "top (m)", "bottom (m)", "thick (m)", "rho (ohm.m)", "p10", "p90"]
    headers += ["S (S)", "T (ohm.m2)", "resolved"]
    keys = ["layer", "top_m", "bottom_m", "thickness_m", "rho_ohmm", "rho_p10_ohmm", "rho_p90_ohmm"]
    keys += ["conductance_s", "transverse_resistance_ohmm2", "resolved"]
    body = [[_short(row[k]) for k in keys] for row in layer_rows(result)]
    widths = [max(len(r[i]) for r in [headers] + body) for i in range(len(headers))]
    lines = ["  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in body]
    misfit = result.get("misfit") or {}
    if misfit:
        parts = [f"{k} = {v:.3g}" for k, v in misfit.items() if isinstance(v, int | float)]
        lines.append("misfit: " + ", ".join(parts))
    if "in_domain" in result:
        lines.append(f"in training domain: {'yes' if result['in_domain'] else 'NO'}")
    lines += doi_text(result) + segment_text(result) + polarisable_text(result)
    for warning in result.get("warnings") or []:
        lines.append(f"warning: {warning}")
    return "\n".join(lines) + "\n"


def doi_value(block: Mapping[str, Any] | None, which: str) -> float | None:
    """``block["doi_m"][which]`` (m) of a result or its smooth model, or None."""
    doi = block.get("doi_m") if isinstance(block, Mapping) else None
    value = doi.get(which) if isinstance(doi, Mapping) else None
    return None if value is None else float(value)


def doi_text(result: Mapping[str, Any]) -> list[str]:
    """Lines for a terminal: the layered and smooth models' DOIs and the smooth model's fit."""
    lines = []
    for label, block in (("layered model", result), ("smooth model", result.get("smooth"))):
        std, cons = doi_value(block, "standard"), doi_value(block, "conservative")
        if std is not None and cons is not None:
            lines.append(
                f"depth of investigation ({label}): {std:.4g} m standard, {cons:.4g} m conservative"
            )
    smooth = result.get("smooth")
    if isinstance(smooth, Mapping) and isinstance(smooth.get("rho_ohmm"), Sequence):
        chi = (smooth.get("misfit") or {}).get("chi")
        fit = f", chi = {chi:.3g}" if isinstance(chi, int | float) else ""
        lines.append(f"smooth model: {len(smooth['rho_ohmm'])} layers{fit}")
    return lines


def segment_text(result: Mapping[str, Any]) -> list[str]:
    """A line for a terminal on the MN/2 segment factors of a Schlumberger result (or none)."""
    report = result.get("segment_shifts")
    if not isinstance(report, Mapping) or not report.get("segments"):
        return []
    factors = ", ".join(f"{s['mn2_m']:g} m ×{s['factor']:.3g}" for s in report["segments"])
    without = report.get("chi_without_shifts")
    compare = "" if without is None else f"; chi without them {without:.3g}"
    state = "applied" if report.get("applied") else "not applied (BIC prefers none)"
    return [
        f"segment factors {state}: MN/2 = {factors} (reference MN/2 = "
        f"{report['reference_mn2_m']:g} m){compare}"
    ]


def polarisable_text(result: Mapping[str, Any]) -> list[str]:
    """Lines for a terminal on a TEM result's polarisable (Cole–Cole) model (or none)."""
    ip = result.get("ip")
    if not isinstance(ip, Mapping) or not isinstance(ip.get("model"), Mapping):
        return []
    model, k = ip["model"], int(ip["polarisable_layer"]) - 1
    rho = ", ".join(f"{v:.4g}" for v in model["rho_ohmm"])
    thick = ", ".join(f"{v:.4g}" for v in model["thickness_m"]) or "-"
    chi = (ip.get("misfit") or {}).get("chi")
    state = "preferred by BIC" if ip.get("preferred") else "not preferred by BIC"
    tau_band = (ip.get("uncertainty") or {}).get("tau_s")
    band = (
        f" (p10-p90 {tau_band['p10']:.3g}-{tau_band['p90']:.3g} s)"
        if isinstance(tau_band, Mapping)
        else ""
    )
    state += f", chi = {_short(chi)}"
    reversed_fit = ip.get("reversed_gates")
    if isinstance(reversed_fit, Mapping):
        state += f"; the {len(reversed_fit['predicted'])} reversed gates: chi = "
        state += _short(reversed_fit.get("chi"))
    return [
        f"polarisable model ({state}): rho0 = {rho} ohm.m, thickness = "
        f"{thick} m; layer {k + 1}: chargeability {model['chargeability'][k]:.3g}, tau "
        f"{model['tau_s'][k]:.3g} s{band}, c {model['c'][k]:.3g}"
    ]


def format_profile_csv(results: Sequence[tuple[str, Mapping[str, Any]]]) -> str:
    """Many soundings' layer tables in one CSV: ``sounding`` first, then :data:`LAYER_COLUMNS`,
    then ``rms_percent`` and ``in_domain`` of the sounding's inversion."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("sounding",) + LAYER_COLUMNS + ("rms_percent", "in_domain"))
    for sounding_id, result in results:
        rms = (result.get("misfit") or {}).get("rms_percent")
        in_domain = result.get("in_domain")
        for row in layer_rows(result):
            writer.writerow(
                [sounding_id]
                + [csv_cell(row[c]) for c in LAYER_COLUMNS]
                + [csv_cell(None if rms is None else float(rms)), csv_cell(in_domain)]
            )
    return buffer.getvalue()


def format_result_json(result: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> str:
    """One result (or a list) as indented JSON text; NaN and infinities become ``null`` (JSON
    has no such numbers)."""
    return json.dumps(jsonable(result), indent=2, allow_nan=False) + "\n"


def write_result_json(
    result: Mapping[str, Any] | Sequence[Mapping[str, Any]], path: str | Path
) -> Path:
    """Write a result (or a list of results) as JSON; returns the path."""
    path = Path(path)
    path.write_text(format_result_json(result), encoding="utf-8")
    return path


def write_layer_csv(result: Mapping[str, Any], path: str | Path) -> Path:
    """Write one result's layer table as CSV; returns the path."""
    path = Path(path)
    path.write_text(format_layer_csv(result), encoding="utf-8")
    return path


def write_profile_csv(results: Sequence[tuple[str, Mapping[str, Any]]], path: str | Path) -> Path:
    """Write several soundings' layer tables as one CSV with a sounding id column."""
    path = Path(path)
    path.write_text(format_profile_csv(results), encoding="utf-8")
    return path
