"""Write the smooth model of a result: a per-layer CSV and a profile CSV of many soundings.

A result's ``smooth`` entry (:mod:`inversion.smooth`) holds a fixed stack of layers:
``rho_ohmm`` (N,), ``thickness_m`` (N−1,), ``depth_m`` (N−1,) interface depths, ``p10``/``p90``
(N,) and ``doi_m`` ``{"standard", "conservative"}`` (depth of investigation, m). Each row says
whether the layer's top lies below each DOI: values there are shown but not supported by data.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

from inversion.formats.results import csv_cell, doi_value, rows_csv

__all__ = [
    "SMOOTH_COLUMNS",
    "format_smooth_csv",
    "format_smooth_profile_csv",
    "smooth_rows",
]

SMOOTH_COLUMNS = (
    "layer",
    "top_m",
    "bottom_m",
    "rho_ohmm",
    "rho_p10_ohmm",
    "rho_p90_ohmm",
    "below_doi_conservative",
    "below_doi_standard",
)


def _floats(smooth: Mapping[str, Any], key: str, n: int | None = None) -> list[float]:
    values = smooth.get(key)
    if not isinstance(values, Sequence) or isinstance(values, str):
        raise ValueError(f"result: smooth.{key} is missing")
    out = [float(v) if v is not None else float("nan") for v in values]
    if n is not None and len(out) != n:
        raise ValueError(f"result: smooth.{key} has {len(out)} values, expected {n}")
    return out


def smooth_rows(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One dict per smooth-model layer (keys :data:`SMOOTH_COLUMNS`; m and Ω·m; ``bottom_m``
    None for the half-space; the ``below_doi_*`` flags None when the result has no DOI).
    Raises ``ValueError`` when ``result["smooth"]`` is missing or malformed."""
    smooth = result.get("smooth")
    if not isinstance(smooth, Mapping):
        raise ValueError("result: no smooth model")
    rho = _floats(smooth, "rho_ohmm")
    depth = _floats(smooth, "depth_m", len(rho) - 1)
    p10 = _floats(smooth, "p10", len(rho)) if smooth.get("p10") is not None else None
    p90 = _floats(smooth, "p90", len(rho)) if smooth.get("p90") is not None else None
    dois = {w: doi_value(smooth, w) for w in ("conservative", "standard")}
    rows = []
    for i, rho_i in enumerate(rho):
        top = 0.0 if i == 0 else depth[i - 1]
        rows.append(
            {
                "layer": i + 1,
                "top_m": top,
                "bottom_m": depth[i] if i < len(depth) else None,
                "rho_ohmm": rho_i,
                "rho_p10_ohmm": None if p10 is None else p10[i],
                "rho_p90_ohmm": None if p90 is None else p90[i],
                **{
                    f"below_doi_{w}": None if d is None else bool(top >= d) for w, d in dois.items()
                },
            }
        )
    return rows


def format_smooth_csv(result: Mapping[str, Any]) -> str:
    """The smooth model of one result as CSV text (header :data:`SMOOTH_COLUMNS`)."""
    return rows_csv(SMOOTH_COLUMNS, smooth_rows(result))


def format_smooth_profile_csv(results: Sequence[tuple[str, Mapping[str, Any]]]) -> str:
    """Many soundings' smooth models in one CSV: ``sounding`` first, then
    :data:`SMOOTH_COLUMNS`, then the sounding's smooth χ and its DOIs (m)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    tail = ("smooth_chi", "doi_standard_m", "doi_conservative_m")
    writer.writerow(("sounding",) + SMOOTH_COLUMNS + tail)
    for sounding_id, result in results:
        smooth = result.get("smooth") or {}
        chi = (smooth.get("misfit") or {}).get("chi")
        extra = [
            csv_cell(None if chi is None else float(chi)),
            csv_cell(doi_value(smooth, "standard")),
            csv_cell(doi_value(smooth, "conservative")),
        ]
        for row in smooth_rows(result):
            writer.writerow([sounding_id] + [csv_cell(row[c]) for c in SMOOTH_COLUMNS] + extra)
    return buffer.getvalue()
