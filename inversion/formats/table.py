"""Read sounding tables: CSV, TSV, semicolon-separated or whitespace text with a header row.

Recognised layouts (see docs/usage.md for every header spelling):

* VES Schlumberger: ``AB/2``, optional ``MN/2``, ``rho_a`` and an optional error column;
* the raw Schlumberger form: ``AB/2``, ``MN/2``, current ``I`` and voltage ``V`` (units required);
  ρa = K·V/I with the geometric factor K = π(L² − l²)/(2l), L = AB/2, l = MN/2;
* Wenner: ``a`` and ``rho_a`` (or ``I`` and ``V``, K = 2πa);
* MT: ``period`` (or ``frequency``), ``rho_a``, ``phase`` and optional errors;
* MT impedance tensors (``zxx_re, zxx_im, zxx_var, …``): :mod:`inversion.formats.mt_impedance`.

An optional ``sounding`` (or ``station``/``site``/``id``) column splits a profile file into
soundings. Rows are kept in file order: segments measured with several MN/2 stay as measured.
Lines starting with ``#`` are comments. Every problem raises :class:`FormatError` naming the line
and the field.
"""

from __future__ import annotations

import csv
import logging
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from inversion.formats.columns import Column, describe, parse_header_cell, resolve_unit
from inversion.formats.errors import FormatError
from inversion.formats.mt_impedance import is_impedance_header, parse_impedance_rows

logger = logging.getLogger(__name__)

_WHITESPACE_HEADER = re.compile(r"[^\s\(\[]+(?:\s*[\(\[][^\)\]]*[\)\]])?|[\(\[][^\)\]]*[\)\]]")
_POSITIVE = (
    "ab2",
    "mn2",
    "a",
    "rho_a",
    "rho_err",
    "current",
    "voltage",
    "resistance",
    "geometric_factor",
    "period",
    "frequency",
    "phase_err",
)


def _split(line: str, delimiter: str | None) -> list[str]:
    if delimiter is None:
        return line.split()
    return next(csv.reader([line], delimiter=delimiter, skipinitialspace=True))


def _detect_delimiter(header: str) -> str | None:
    for delimiter in ("\t", ",", ";"):
        if delimiter in header:
            return delimiter
    return None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _content_lines(text: str) -> list[tuple[int, str]]:
    lines = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        lines.append((number, line.rstrip("\r\n")))
    return lines


def _header_columns(
    cells: Sequence[str], line: int, path: str | Path | None, warnings: list[str]
) -> list[Column]:
    """The recognised columns of the header ``cells``; appends a warning per column that is not
    understood (ignored)."""
    columns: list[Column] = []
    seen: dict[str, str] = {}
    parsed = [(cell.strip(), *parse_header_cell(cell.strip())) for cell in cells]
    log_rho = any(key == "rho_a" and _is_log_unit(unit) for _, key, unit in parsed)
    for index, (label, key, unit) in enumerate(parsed):
        if key is None:
            warnings.append(f"column {label!r} not understood; ignored")
            continue
        if key == "rho_err" and unit is None and log_rho:
            unit = "log10"  # the error of a log10 ρa column is in log10 units
        if key in seen:
            raise FormatError(
                f"two columns hold the {describe(key)}: {seen[key]!r} and {label!r}",
                path=path,
                line=line,
                field=label,
            )
        seen[key] = label
        try:
            factor, absolute, log10 = resolve_unit(key, unit)
        except ValueError as exc:
            raise FormatError(str(exc), path=path, line=line, field=label) from None
        columns.append(Column(index, label, key, unit, factor, absolute, log10))
    return columns


def _is_log_unit(unit: str | None) -> bool:
    """Whether a ρa column's unit says log10 values."""
    try:
        return unit is not None and resolve_unit("rho_a", unit)[2]
    except ValueError:
        return False


def _layout(columns: dict[str, Column], line: int, path: str | Path | None) -> str:
    """Which kind of sounding the header describes: schlumberger, wenner or mt."""
    axes = [key for key in ("ab2", "a", "period", "frequency") if key in columns]
    if not axes:
        raise FormatError(
            "no spacing or period column: expected AB/2 (Schlumberger), a (Wenner), "
            "period or frequency (MT)",
            path=path,
            line=line,
        )
    if len(axes) > 1:
        labels = " and ".join(repr(columns[key].label) for key in axes)
        raise FormatError(
            f"the header has both {labels}; a file holds one kind of sounding",
            path=path,
            line=line,
        )
    kind = {"ab2": "schlumberger", "a": "wenner"}.get(axes[0], "mt")
    raw = "rho_a" not in columns and (
        "resistance" in columns or ("current" in columns and "voltage" in columns)
    )
    if kind == "mt":
        for key in ("rho_a", "phase"):
            if key not in columns:
                raise FormatError(
                    f"missing column: no {describe(key)} column", path=path, line=line, field=key
                )
    elif "rho_a" not in columns and not raw:
        missing = [k for k in ("current", "voltage") if k not in columns]
        hint = (
            f" (the raw form also needs the {' and '.join(describe(k) for k in missing)})"
            if len(missing) == 1
            else ""
        )
        raise FormatError(
            f"missing column: no apparent resistivity column (rho_a, rhoa, app_res, …), no "
            f"resistance V/I and no current and voltage columns{hint}",
            path=path,
            line=line,
            field="rho_a",
        )
    no_factor = "mn2" not in columns and "geometric_factor" not in columns
    if raw and kind == "schlumberger" and no_factor:
        raise FormatError(
            "missing column: the raw form (I, V) needs MN/2 for the geometric factor",
            path=path,
            line=line,
            field="mn2",
        )
    return kind + ("-raw" if raw else "")


def _number(cell: str, column: Column, line: int, path: str | Path | None) -> float:
    text = cell.strip()
    if text == "":
        raise FormatError("missing value", path=path, line=line, field=column.label)
    try:
        value = float(text)
    except ValueError:
        raise FormatError(
            f"{text!r} is not a number", path=path, line=line, field=column.label
        ) from None
    if not math.isfinite(value):
        raise FormatError(
            f"{text!r} is not a finite number", path=path, line=line, field=column.label
        )
    if column.log10 and column.key == "rho_a":
        return 10.0**value
    if column.key in _POSITIVE and value <= 0:
        word = "negative" if value < 0 else "zero"
        raise FormatError(
            f"{text} is {word}; the {describe(column.key)} must be positive",
            path=path,
            line=line,
            field=column.label,
        )
    value *= column.factor
    if column.key == "phase" and not -90.0 <= value <= 180.0:
        raise FormatError(
            f"{text} lies outside [-90, 180] degrees (fold TM/yx phases into the first quadrant)",
            path=path,
            line=line,
            field=column.label,
        )
    return value


def _row_values(
    cells: list[str], columns: dict[str, Column], n_header: int, line: int, path: str | Path | None
) -> dict[str, Any]:
    if len(cells) < n_header:
        missing = [c.label for c in columns.values() if c.index >= len(cells)]
        raise FormatError(
            f"{len(cells)} values but the header has {n_header} columns",
            path=path,
            line=line,
            field=missing[0] if missing else None,
        )
    if len(cells) > n_header:
        raise FormatError(
            f"{len(cells)} values but the header has {n_header} columns", path=path, line=line
        )
    row: dict[str, Any] = {}
    for key, column in columns.items():
        if key == "sounding":
            sounding = cells[column.index].strip()
            if not sounding:
                raise FormatError("missing value", path=path, line=line, field=column.label)
            row[key] = sounding
        else:
            row[key] = _number(cells[column.index], column, line, path)
    return row


def _apparent_resistivity(
    row: dict[str, Any], kind: str, columns: dict[str, Column], line: int, path: str | Path | None
) -> float:
    resistance = row["resistance"] if "resistance" in row else row["voltage"] / row["current"]
    if "geometric_factor" in row:
        return row["geometric_factor"] * resistance
    if kind == "schlumberger-raw":
        big, small = row["ab2"], row["mn2"]
        if small >= big:
            raise FormatError(
                f"MN/2 = {small:g} m is not smaller than AB/2 = {big:g} m",
                path=path,
                line=line,
                field=columns["mn2"].label,
            )
        k_m = math.pi * (big**2 - small**2) / (2.0 * small)
    else:
        k_m = 2.0 * math.pi * row["a"]
    return k_m * resistance


def _error_percent(
    row: dict[str, Any], rho: float, column: Column, line: int, path: str | Path | None
) -> float:
    value = row["rho_err"]
    if column.log10:  # σ of log10 ρa → σ of ln ρa, the relative error the misfit uses
        return 100.0 * math.log(10.0) * value
    if column.absolute:
        return 100.0 * value / rho
    if column.factor == 100.0 and value >= 100.0:
        raise FormatError(
            f"{value / 100.0:g} is not below 1: an error given as a fraction must be below 1 "
            "(write the header as error (%) for percent)",
            path=path,
            line=line,
            field=column.label,
        )
    return value


def parse_table(text: str, path: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """Parse the text of a sounding table into ``{sounding_id: observation dict}``.

    Observation dicts follow docs/architecture.md: Schlumberger ``{"ab2_m", "mn2_m"?,
    "rho_a_ohmm", "rho_a_error_percent"?}``, Wenner ``{"a_m", …}``, MT ``{"periods_s",
    "rho_a_ohmm", "phase_deg", "rho_a_error_percent"?, "phase_error_deg"?}`` — lists of floats in
    m, Ω·m, %, s and degrees, in file order. Without a sounding column the single sounding's id is
    the file's stem (or ``"sounding"``). Raises :class:`FormatError` on malformed input.
    """
    content = _content_lines(text)
    if not content:
        raise FormatError("the file is empty (no header, no data)", path=path)
    header_line, header = content[0]
    delimiter = _detect_delimiter(header)
    cells = (
        _split(header, delimiter)
        if delimiter is not None
        else _WHITESPACE_HEADER.findall(header.strip())
    )
    if all(_is_number(cell) for cell in cells if cell.strip()):
        raise FormatError(
            "the first row holds numbers, not column names; add a header row such as "
            "'AB/2 (m), MN/2 (m), rho_a (ohm.m)'",
            path=path,
            line=header_line,
        )
    if is_impedance_header(cells):  # an MT impedance tensor (e.g. EMTF): the determinant
        rows = [(line, _split(raw, delimiter)) for line, raw in content[1:]]
        return parse_impedance_rows(cells, header_line, rows, path)
    warnings: list[str] = []
    columns = {c.key: c for c in _header_columns(cells, header_line, path, warnings)}
    kind = _layout(columns, header_line, path)
    if len(content) == 1:
        raise FormatError("no data rows after the header", path=path, line=header_line)

    default_id = Path(path).stem if path is not None else "sounding"
    soundings: dict[str, dict[str, list[float]]] = {}
    for line, raw_line in content[1:]:
        row = _row_values(_split(raw_line, delimiter), columns, len(cells), line, path)
        sounding = soundings.setdefault(row.get("sounding", default_id), {})
        rho = (
            row["rho_a"]
            if "rho_a" in row
            else _apparent_resistivity(row, kind, columns, line, path)
        )
        if kind.startswith("schlumberger"):
            if "mn2" in row and row["mn2"] >= row["ab2"]:
                raise FormatError(
                    f"MN/2 = {row['mn2']:g} m is not smaller than AB/2 = {row['ab2']:g} m",
                    path=path,
                    line=line,
                    field=columns["mn2"].label,
                )
            sounding.setdefault("ab2_m", []).append(row["ab2"])
            if "mn2" in row:
                sounding.setdefault("mn2_m", []).append(row["mn2"])
        elif kind.startswith("wenner"):
            sounding.setdefault("a_m", []).append(row["a"])
        else:
            period = row["period"] if "period" in row else 1.0 / row["frequency"]
            sounding.setdefault("periods_s", []).append(period)
        sounding.setdefault("rho_a_ohmm", []).append(rho)
        if kind == "mt":
            sounding.setdefault("phase_deg", []).append(row["phase"])
            if "phase_err" in row:
                sounding.setdefault("phase_error_deg", []).append(row["phase_err"])
        if "rho_err" in row:
            percent = _error_percent(row, rho, columns["rho_err"], line, path)
            sounding.setdefault("rho_a_error_percent", []).append(percent)
    for line_warning in warnings:
        logger.warning("%s: %s", path or "table", line_warning)
    return {
        sid: {**obs, "warnings": list(warnings)} if warnings else dict(obs)
        for sid, obs in soundings.items()
    }


def read_table(path: str | Path) -> dict[str, dict[str, Any]]:
    """Read a sounding table file; see :func:`parse_table` for the result and the errors."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormatError(
            f"not UTF-8 text (byte {exc.start}); save the file as UTF-8", path=path
        ) from None
    return parse_table(text, path)
