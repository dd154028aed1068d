"""Read MT impedance-tensor tables (e.g. EMTF XML exported to CSV) as determinant soundings.

A table is an impedance table when its header names the real and imaginary parts of all four
tensor elements: ``zxx_re, zxx_im, zxy_re, …`` (also ``ZXXR``/``ZXXI``, ``re_zxx``, ``zxx real``,
``zxx_imag``); optional ``zxx_var`` (variance of the complex element, as EDI ``Z??.VAR`` and EMTF
``<Z.VAR>``) or ``zxx_std``/``zxx_err`` (its standard error). The abscissa is a ``period`` or
``frequency`` column (units as in docs/usage.md). Impedances are in field units mV/km/nT unless the
header says ``(ohm)`` (SI). Tipper columns (``tx_*``, ``ty_*``, ``tzx``, ``tzy``) are recognised
and not used; any other column is ignored with a warning.

The sounding is the rotation-invariant determinant impedance Z_det = √(Zxx·Zyy − Zxy·Zyx), so the
frame the tensor is given in (e.g. rotated by the declination) does not matter. ρa = 0.2·T·|Z_det|²
(Ω·m, T in s, Z in mV/km/nT), phase = arg Z_det folded into (−90°, 90°]. Errors, from the variances
VAR of the complex elements by first-order propagation (elements independent):
σ_det² = (|Zyy|²VARxx + |Zxx|²VARyy + |Zyx|²VARxy + |Zxy|²VARyx) / (4|Z_det|²), r = σ_det/|Z_det|,
ρa error = 200·r percent, phase error = asin(min(r, 1)) degrees — the same formulas as for EDI
files (:mod:`inversion.formats.mt_modes`), which take √VAR as the standard error of the complex
element (the EMTF/IRIS reading √(VAR/2) per real part would give errors √2 smaller).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from inversion.formats.columns import normalise_unit, parse_header_cell, resolve_unit
from inversion.formats.edi import EdiData
from inversion.formats.errors import FormatError
from inversion.formats.mt_modes import FIELD_UNITS_TO_OHM, edi_observation

__all__ = ["DETERMINANT_WARNING", "is_impedance_header", "parse_impedance_rows"]

ELEMENTS = ("xx", "xy", "yx", "yy")
DETERMINANT_WARNING = (
    "impedance tensor read: the rotation-invariant determinant Z_det = sqrt(Zxx*Zyy - Zxy*Zyx) "
    "was inverted (rho_a = 0.2*T*|Z_det|^2, phase = arg Z_det, errors from the variances)"
)
_PARTS = {
    "re": "re",
    "r": "re",
    "real": "re",
    "im": "im",
    "i": "im",
    "imag": "im",
    "imaginary": "im",
    "var": "var",
    "variance": "var",
    "std": "std",
    "sd": "std",
    "err": "std",
    "error": "std",
    "stderr": "std",
    "sigma": "std",
}
_Z_CELL = re.compile(
    r"^(?:(?P<pre>re|real|im|imag)z(?P<el1>xx|xy|yx|yy)|z(?P<el2>xx|xy|yx|yy)(?P<post>[a-z]*))$"
)
_TIPPER = re.compile(r"^(?:t|tip|tipper)(?:x|y|zx|zy)(?:re|r|real|im|i|imag|var|std|err)?$")
_Z_UNITS = {"mvkmnt": 1.0, "fieldunits": 1.0, "ohm": 1.0 / FIELD_UNITS_TO_OHM}  # → mV/km/nT
_BRACKET = re.compile(r"^(?P<name>.*?)\s*[\(\[](?P<unit>[^\)\]]*)[\)\]]\s*$")


def _impedance_cell(cell: str) -> tuple[str, str, str | None] | None:
    """``(element, part, unit)`` of an impedance header cell (part: re, im, var, std), or None."""
    text, unit = cell.strip().strip("\"'"), None
    match = _BRACKET.match(text)
    if match:
        text, unit = match.group("name"), match.group("unit")
    name = re.sub(r"[^0-9a-z]", "", text.lower())
    found = _Z_CELL.match(name)
    if found is None:
        return None
    if found.group("pre"):
        return found.group("el1"), _PARTS[found.group("pre")], unit
    part = _PARTS.get(found.group("post"))
    return (found.group("el2"), part, unit) if part else None


def is_impedance_header(cells: Sequence[str]) -> bool:
    """True when a header cell names an impedance-tensor element (``zxy_re``, ``ZYXI`` …);
    :func:`parse_impedance_rows` then requires all four elements."""
    return any(_impedance_cell(cell) is not None for cell in cells)


def _z_factor(unit: str | None, label: str, line: int, path: str | Path | None) -> float:
    """Factor from the column's unit to mV/km/nT (a variance column takes its square)."""
    if unit is None:
        return 1.0
    factor = _Z_UNITS.get(normalise_unit(unit))
    if factor is None:
        raise FormatError(
            f"unknown impedance unit {unit!r}; accepted: mV/km/nT (field units, the default), ohm",
            path=path,
            line=line,
            field=label,
        )
    return factor


def _classify(
    cells: Sequence[str], line: int, path: str | Path | None
) -> tuple[dict[str, tuple[int, str, float]], dict[str, int], float, list[str]]:
    """Impedance columns ``{"xxre": (index, label, factor)}``, axis/sounding columns
    ``{key: index}``, the axis column's factor to s or Hz, and warnings."""
    z_cols: dict[str, tuple[int, str, float]] = {}
    other: dict[str, int] = {}
    factor = 1.0
    tipper: list[str] = []
    warnings: list[str] = []
    for index, raw in enumerate(cells):
        label = raw.strip()
        z = _impedance_cell(label)
        if z is not None:
            element, part, unit = z
            if element + part in z_cols:
                raise FormatError(
                    f"two columns hold Z{element} {part}", path=path, line=line, field=label
                )
            scale = _z_factor(unit, label, line, path)
            z_cols[element + part] = (index, label, scale**2 if part == "var" else scale)
            continue
        if _TIPPER.match(re.sub(r"[^0-9a-z]", "", label.lower())):
            tipper.append(label)
            continue
        key, unit = parse_header_cell(label)
        if key in ("period", "frequency", "sounding") and key not in other:
            try:
                factor = resolve_unit(key, unit)[0] if key != "sounding" else factor
            except ValueError as exc:
                raise FormatError(str(exc), path=path, line=line, field=label) from None
            other[key] = index
            continue
        warnings.append(f"column {label!r} not understood; ignored")
    absent = [
        f"z{el}_{part}" for el in ELEMENTS for part in ("re", "im") if el + part not in z_cols
    ]
    if absent:
        raise FormatError(
            "an impedance table needs the real and imaginary parts of Zxx, Zxy, Zyx and Zyy; "
            f"missing {', '.join(absent)}",
            path=path,
            line=line,
            field=absent[0],
        )
    if ("period" in other) == ("frequency" in other):
        raise FormatError(
            "an impedance table needs one period or frequency column", path=path, line=line
        )
    if tipper:
        warnings.append(f"tipper columns not used by the 1-D inversion: {', '.join(tipper)}")
    for element in ELEMENTS:
        if (element + "var" in z_cols) and (element + "std" in z_cols):
            raise FormatError(
                f"Z{element} has both a variance and a standard-error column",
                path=path,
                line=line,
                field=z_cols[element + "std"][1],
            )
    return z_cols, other, factor, warnings


def _value(cell: str, label: str, line: int, path: str | Path | None) -> float:
    text = cell.strip()
    try:
        value = float(text)
    except ValueError:
        message = "missing value" if not text else f"{text!r} is not a number"
        raise FormatError(message, path=path, line=line, field=label) from None
    if not math.isfinite(value):
        raise FormatError(f"{text!r} is not a finite number", path=path, line=line, field=label)
    return value


def parse_impedance_rows(
    cells: Sequence[str],
    header_line: int,
    rows: Sequence[tuple[int, Sequence[str]]],
    path: str | Path | None = None,
) -> dict[str, dict[str, Any]]:
    """``{sounding_id: MT observation dict}`` (determinant mode, sorted by period) from an
    impedance table's header ``cells`` and its data ``rows`` (``(line number, cells)``).

    The observation holds ``periods_s``, ``rho_a_ohmm``, ``phase_deg`` and, when every element
    has a variance or standard error, ``rho_a_error_percent`` and ``phase_error_deg``, plus
    ``warnings`` (the determinant note first). Raises :class:`FormatError` naming line and column.
    """
    z_cols, other, axis_factor, warnings = _classify(cells, header_line, path)
    axis = "period" if "period" in other else "frequency"
    with_errors = all(
        element + "var" in z_cols or element + "std" in z_cols for element in ELEMENTS
    )
    default_id = Path(path).stem if path is not None else "sounding"
    columns: dict[str, dict[str, list[float]]] = {}
    lines: dict[str, int] = {}
    for line, values in rows:
        if len(values) != len(cells):
            raise FormatError(
                f"{len(values)} values but the header has {len(cells)} columns",
                path=path,
                line=line,
            )
        sid = values[other["sounding"]].strip() if "sounding" in other else default_id
        into = columns.setdefault(sid, {})
        lines.setdefault(sid, line)
        abscissa = _value(values[other[axis]], cells[other[axis]].strip(), line, path)
        if abscissa <= 0:
            raise FormatError(
                f"{abscissa:g} is not positive",
                path=path,
                line=line,
                field=cells[other[axis]].strip(),
            )
        into.setdefault("axis", []).append(abscissa * axis_factor)
        for key, (index, label, scale) in z_cols.items():
            value = _value(values[index], label, line, path)
            if key.endswith(("var", "std")) and value < 0:
                raise FormatError(
                    f"{value:g} is negative; a variance or standard error must not be",
                    path=path,
                    line=line,
                    field=label,
                )
            into.setdefault(key, []).append(value * scale)
    if not columns:
        raise FormatError("no data rows after the header", path=path, line=header_line)
    out = {}
    for sid, col in columns.items():
        axis_values = np.asarray(col["axis"])
        blocks: dict[str, np.ndarray] = {}
        for element in ELEMENTS:
            name = f"Z{element.upper()}"
            blocks[name + "R"] = np.asarray(col[element + "re"])
            blocks[name + "I"] = np.asarray(col[element + "im"])
            if with_errors:
                var = col.get(element + "var")
                std = col.get(element + "std")
                blocks[name + ".VAR"] = np.asarray(var) if var else np.asarray(std) ** 2
        data = EdiData(
            station=sid,
            frequencies_hz=1.0 / axis_values if axis == "period" else axis_values,
            blocks=blocks,
            block_lines={name: lines[sid] for name in blocks},
            path=None if path is None else str(path),
        )
        observation = edi_observation(data, "det")
        if axis == "period":  # the file's periods as written (not 1/(1/T))
            observation["periods_s"] = sorted(axis_values.tolist())
        out[sid] = {**observation, "warnings": [DETERMINANT_WARNING, *warnings]}
    return out
