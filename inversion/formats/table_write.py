"""Write soundings as tables that :mod:`inversion.formats.table` (and spreadsheets) read back.

Numbers are written with Python's shortest round-trip representation, so reading a written file
gives back the identical floats. The delimiter follows the file suffix: ``.csv`` comma, ``.tsv``
tab, anything else (``.txt``, ``.dat``) aligned whitespace.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

# observation key → header written for it, in column order
_HEADERS: dict[str, tuple[tuple[str, str], ...]] = {
    "ab2_m": (
        ("ab2_m", "AB/2 (m)"),
        ("mn2_m", "MN/2 (m)"),
        ("rho_a_ohmm", "rho_a (ohm.m)"),
        ("rho_a_error_percent", "rho_a_err (%)"),
    ),
    "a_m": (
        ("a_m", "a (m)"),
        ("rho_a_ohmm", "rho_a (ohm.m)"),
        ("rho_a_error_percent", "rho_a_err (%)"),
    ),
    "periods_s": (
        ("periods_s", "period (s)"),
        ("rho_a_ohmm", "rho_a (ohm.m)"),
        ("phase_deg", "phase (deg)"),
        ("rho_a_error_percent", "rho_a_err (%)"),
        ("phase_error_deg", "phase_err (deg)"),
    ),
}


def _axis_key(observation: Mapping[str, Any]) -> str:
    for key in _HEADERS:
        if key in observation:
            return key
    raise ValueError("observation: no ab2_m, a_m or periods_s field")


def _columns(observation: Mapping[str, Any]) -> list[tuple[str, str, list[float]]]:
    axis_key = _axis_key(observation)
    n_rows = len(np.atleast_1d(observation[axis_key]))
    columns = []
    for key, header in _HEADERS[axis_key]:
        value = observation.get(key)
        if value is None:
            continue
        values = np.atleast_1d(np.asarray(value, dtype=float))
        if values.size == 1 and n_rows > 1:
            values = np.full(n_rows, values[0])
        if values.size != n_rows:
            raise ValueError(f"{key} has {values.size} values but {axis_key} has {n_rows}")
        columns.append((key, header, [float(v) for v in values]))
    return columns


def _delimiter(path: Path) -> str | None:
    suffix = path.suffix.lower()
    return {".csv": ",", ".tsv": "\t"}.get(suffix)


def _render(rows: list[list[str]], delimiter: str | None) -> str:
    if delimiter is not None:
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerows(rows)
        return buffer.getvalue()
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        + "\n"
        for row in rows
    )


def format_soundings(
    soundings: Mapping[str, Mapping[str, Any]] | Sequence[tuple[str, Mapping[str, Any]]],
    delimiter: str | None = ",",
) -> str:
    """Render ``{sounding_id: observation}`` as table text with a leading ``sounding`` column.

    All soundings must have the same fields (same kind of sounding).
    """
    items = list(soundings.items()) if isinstance(soundings, Mapping) else list(soundings)
    if not items:
        raise ValueError("soundings: nothing to write")
    header: list[str] | None = None
    rows: list[list[str]] = []
    for sounding_id, observation in items:
        columns = _columns(observation)
        names = ["sounding"] + [h for _, h, _ in columns]
        if header is None:
            header = names
            rows.append(header)
        elif names != header:
            raise ValueError(f"soundings[{sounding_id!r}]: fields differ from the first sounding's")
        for i in range(len(columns[0][2])):
            rows.append([str(sounding_id)] + [repr(values[i]) for _, _, values in columns])
    return _render(rows, delimiter)


def format_sounding(observation: Mapping[str, Any], delimiter: str | None = ",") -> str:
    """Render one observation dict as table text (header row, then one row per datum)."""
    columns = _columns(observation)
    rows = [[header for _, header, _ in columns]]
    for i in range(len(columns[0][2])):
        rows.append([repr(values[i]) for _, _, values in columns])
    return _render(rows, delimiter)


def write_sounding(observation: Mapping[str, Any], path: str | Path) -> Path:
    """Write one observation dict to ``path`` (delimiter from the suffix); returns the path."""
    path = Path(path)
    path.write_text(format_sounding(observation, _delimiter(path)), encoding="utf-8")
    return path


def write_soundings(
    soundings: Mapping[str, Mapping[str, Any]] | Sequence[tuple[str, Mapping[str, Any]]],
    path: str | Path,
) -> Path:
    """Write several soundings (a profile) to one table with a ``sounding`` column."""
    path = Path(path)
    path.write_text(format_soundings(soundings, _delimiter(path)), encoding="utf-8")
    return path
