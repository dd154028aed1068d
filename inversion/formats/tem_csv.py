"""Read TEM soundings from CSV (or TSV / whitespace) tables with named columns.

Columns (case and punctuation ignored; the unit may be in the name or in brackets):

* time: ``time_s``, ``time_ms``, ``time_us``, ``time (µs)``, ``t [s]`` …;
* data, one of: ``dbzdt_v_per_am2`` / ``voltage_V_per_Am2`` / ``voltage (V/Am2)`` (V/(A·m²)),
  or ``e_over_i_V_per_A`` / ``E/I[V/A]`` (V/A: divided by the receiver area and turns);
* optional errors in the data's unit (``error_…``, ``err_…``, ``error_bar``) or in percent
  (``error_percent``); optional ``width_s`` (gate widths) and ``mask`` (0 drops a gate).

Geometry comes from ``# key: value`` lines (``loop_side_m``, ``loop_radius_m``, ``ramp_off_s``,
``receiver`` = central | coincident, ``current_a``) or from instrument header lines kept in the
comments (USF ``/LOOP_SIZE:`` …, TEM-FAST ``T-LOOP (m) … R-LOOP (m) … TURN=``), so exports that
carry their original header read as they are.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

from inversion.formats import tem_common
from inversion.formats.errors import FormatError

_TIME_UNITS = {"s": 1.0, "sec": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "mus": 1e-6}


def _norm(cell: str) -> str:
    return re.sub(r"[^a-z0-9µ%]", "", cell.strip().lower())


def _classify(cell: str) -> tuple[str, float | str] | None:
    """``(kind, unit)`` of a header cell: time (factor to s), value/error (``"area"`` or
    ``"loop"`` normalisation), error_percent, width (factor), mask; None if not a TEM column."""
    n = _norm(cell)
    for unit, factor in sorted(_TIME_UNITS.items(), key=lambda kv: -len(kv[0])):
        for prefix in ("time", "t", "width", "gatewidth"):
            if n == prefix + unit or n == prefix:
                kind = "width" if prefix.endswith("width") else "time"
                return kind, factor if n != prefix else 1.0
    per_area = "am2" in n or "am^2" in cell.lower() or "tpers" in n
    is_ei = n.startswith("eoveri") or n.startswith("ei") and "va" in n
    if n.startswith(("dbzdt", "dbdt", "voltage", "signal")) and "err" not in n:
        return "value", "area" if per_area or n.startswith(("dbzdt", "dbdt")) else "loop"
    if is_ei:
        return "value", "loop"
    if n.startswith(("err", "error", "std", "dbzdterr")):
        if "percent" in n or "%" in cell:
            return "error_percent", 1.0
        return "error", "area" if per_area else "loop"
    if n == "mask":
        return "mask", 1.0
    return None


def is_tem_header(header: str) -> bool:
    """True when a table header names a time column and a TEM data column."""
    kinds = {c[0] for c in (_classify(cell) for cell in _cells(header)) if c}
    return {"time", "value"} <= kinds


def _delimiter(header: str) -> str | None:
    return next((d for d in ("\t", ",", ";") if d in header), None)


def _cells(line: str, delimiter: str | None = None) -> list[str]:
    delimiter = delimiter if delimiter is not None else _delimiter(line)
    if delimiter is None:
        return line.split()
    return next(csv.reader([line], delimiter=delimiter, skipinitialspace=True))


def _metadata(comments: list[str], path: str | Path | None) -> dict[str, Any]:
    meta = tem_common.scan_metadata(comments)
    for key, value in tem_common.scan_key_values(comments).items():
        meta[key] = value if key == "receiver" else tem_common.number(value, path, None, key)
    return meta


def parse_tem_csv(text: str, path: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """Parse a TEM table into ``{sounding_id: observation dict}`` (one sounding per file)."""
    numbered = list(enumerate(text.splitlines(), start=1))
    comments = [line for _, line in numbered if line.strip().startswith("#")]
    content = [
        (n, line) for n, line in numbered if line.strip() and not line.strip().startswith("#")
    ]
    if not content:
        raise FormatError("the file is empty (no header, no data)", path=path)
    head_line, header = content[0]
    delimiter = _delimiter(header)
    names = _cells(header, delimiter)
    columns: dict[str, tuple[int, Any]] = {}
    for i, cell in enumerate(names):
        kind = _classify(cell)
        if kind is not None and kind[0] not in columns:
            columns[kind[0]] = (i, kind[1])
    for kind, example in (("time", "time_s"), ("value", "dbzdt_v_per_am2")):
        if kind not in columns:
            raise FormatError(
                f"no {kind} column (e.g. {example})", path=path, line=head_line, field=kind
            )
    meta = _metadata(comments, path)
    geometry = tem_common.geometry(meta, path, head_line)
    uses_loop = any(columns[k][1] == "loop" for k in ("value", "error") if k in columns)
    scale = {
        "area": 1.0,
        "loop": _loop_scale(meta, geometry, path, head_line) if uses_loop else 0.0,
    }
    rows = []
    for number, line in content[1:]:
        cells = _cells(line, delimiter)
        if len(cells) != len(names):
            raise FormatError(
                f"{len(cells)} values but the header has {len(names)} columns",
                path=path,
                line=number,
            )

        def value(kind: str, cells: list[str] = cells, number: int = number) -> float:
            i, _ = columns[kind]
            return tem_common.number(cells[i], path, number, names[i])

        row: dict[str, Any] = {"line": number, "time_s": value("time") * columns["time"][1]}
        row["value"] = value("value") * scale[columns["value"][1]]
        if "error" in columns:
            row["error"] = value("error") * scale[columns["error"][1]]
        elif "error_percent" in columns:
            row["error"] = value("error_percent") / 100.0 * row["value"]
        if "width" in columns:
            row["width_s"] = value("width") * columns["width"][1]
        if "mask" in columns:
            row["masked"] = value("mask") == 0
        rows.append(row)
    stem = Path(path).stem if path is not None else "sounding"
    return {stem: tem_common.build_observation(rows, geometry, path)}


def _loop_scale(
    meta: dict[str, Any], geometry: dict[str, Any], path: str | Path | None, line: int
) -> float:
    """1 / (receiver area · turns) for data in V/A (coincident loops: turns²)."""
    if "rx_side_m" in meta:
        area = meta["rx_side_m"] ** 2
    elif geometry["receiver"] == "coincident":
        side, radius = geometry.get("loop_side_m"), geometry.get("loop_radius_m")
        area = side**2 if side is not None else 3.141592653589793 * radius**2
    else:
        raise FormatError(
            "data in V/A need the receiver area: give a TEM-FAST R-LOOP line or use V/(A·m²)",
            path=path,
            line=line,
            field="rx_area_m2",
        )
    turns = float(meta.get("turns", 1.0))
    return 1.0 / (area * turns * (turns if geometry["receiver"] == "coincident" else 1.0))


def read_tem_csv(path: str | Path) -> dict[str, dict[str, Any]]:
    """Read a TEM table file; see :func:`parse_tem_csv`."""
    return parse_tem_csv(tem_common.read_text(path), path)
