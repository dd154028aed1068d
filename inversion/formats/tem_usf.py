"""Read TEM soundings in the Universal Sounding Format (USF, ASCII).

Layout: a ``//USF`` file header closed by ``//END``; sounding header lines ``/KEY: value``
(``/ARRAY``, ``/LOOP_SIZE``, ``/COIL_SIZE``, ``/VOLTAGE_UNITS``, ``/RAMP_TIME`` …); per sweep
``/SWEEP_NUMBER``, ``/CURRENT`` … ``/END``, a comma- or space-separated column header (``TIME``,
``VOLTAGE``, ``ERROR_BAR``, optional ``WIDTH``, ``MASK``, ``INDEX`` …) and rows up to ``/END``.
Each sweep is one sounding. Voltages in ``V/AM2`` are used as they are; ``V/A`` is divided by the
receiver area (``/COIL_SIZE``) and ``V`` also by the current.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from inversion.formats import tem_common
from inversion.formats.errors import FormatError

_KEY = re.compile(r"^/([A-Z_]+)\s*:\s*(.*)$", re.IGNORECASE)
_TIME_UNITS = {"S": 1.0, "SEC": 1.0, "MS": 1e-3, "US": 1e-6, "µS": 1e-6, "USEC": 1e-6}


def _split(line: str) -> list[str]:
    return [c for c in re.split(r"[,\s]+", line.strip()) if c]


def _scale(header: dict[str, tuple[int, str]], path: str | Path | None) -> float:
    """Factor from the file's voltage unit to V/(A·m²)."""
    line, unit = header.get("VOLTAGE_UNITS", (None, "V/AM2"))
    unit = unit.strip().strip('"').upper().replace(" ", "").replace("^", "").replace("*", "")
    if unit in ("V/AM2", "V/(AM2)", "V/A/M2"):
        return 1.0
    if unit in ("V/A", "V"):
        area_line, area = header.get("COIL_SIZE", (line, ""))
        area_m2 = tem_common.number(area.split(",")[0] or "nan", path, area_line, "COIL_SIZE")
        if area_m2 <= 0:
            raise FormatError(
                "the receiver area must be positive", path=path, line=area_line, field="COIL_SIZE"
            )
        if unit == "V/A":
            return 1.0 / area_m2
        cur_line, current = header.get("CURRENT", (line, ""))
        current_a = tem_common.number(current or "nan", path, cur_line, "CURRENT")
        return 1.0 / (area_m2 * current_a)
    raise FormatError(
        f"voltage unit {unit!r} not understood (expected V/AM2, V/A or V)",
        path=path,
        line=line,
        field="VOLTAGE_UNITS",
    )


def _sweep(
    lines: list[tuple[int, str]], header: dict[str, tuple[int, str]], path: str | Path | None
) -> dict[str, Any]:
    """One sweep's column header and rows (``lines`` up to its closing ``/END``)."""
    head_line, head = lines[0]
    names = [c.upper() for c in _split(head)]
    for needed in ("TIME", "VOLTAGE"):
        if needed not in names:
            raise FormatError(
                f"the column header has no {needed} column (found {', '.join(names) or 'nothing'})",
                path=path,
                line=head_line,
                field=needed,
            )
    t_line, t_unit = header.get("TIME_UNITS", (None, "S"))
    t_factor = _TIME_UNITS.get(t_unit.strip().upper())
    if t_factor is None:
        raise FormatError(
            f"time unit {t_unit!r} not understood", path=path, line=t_line, field="TIME_UNITS"
        )
    scale = _scale(header, path)
    rows = []
    for number, text in lines[1:]:
        cells = _split(text)
        if len(cells) != len(names):
            raise FormatError(
                f"{len(cells)} values but the column header has {len(names)}",
                path=path,
                line=number,
            )
        values = {
            n: tem_common.number(c, path, number, n) for n, c in zip(names, cells, strict=True)
        }
        row = {
            "line": number,
            "time_s": values["TIME"] * t_factor,
            "value": values["VOLTAGE"] * scale,
        }
        if "ERROR_BAR" in values:
            row["error"] = values["ERROR_BAR"] * scale
        if "WIDTH" in values:
            row["width_s"] = values["WIDTH"] * t_factor
        if "MASK" in values:
            row["masked"] = values["MASK"] == 0
        rows.append(row)
    meta = tem_common.scan_metadata(f"/{k}: {v}" for k, (_, v) in header.items())
    size_line, size = header.get("LOOP_SIZE", (head_line, ""))
    sides = [s for s in re.split(r"[,\s]+", size.strip()) if s]
    if len(sides) == 2 and float(sides[0]) != float(sides[1]):
        raise FormatError(
            f"a rectangular loop {sides[0]} m × {sides[1]} m is not modelled (square loops only)",
            path=path,
            line=size_line,
            field="LOOP_SIZE",
        )
    array_line = header.get("ARRAY", (head_line, ""))[0]
    if "receiver" not in meta:
        meta["receiver"] = header.get("ARRAY", (None, None))[1]
    return tem_common.build_observation(rows, tem_common.geometry(meta, path, array_line), path)


def parse_usf(text: str, path: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """Parse USF text into ``{sounding_id: observation dict}`` (see ``tem_common``)."""
    lines = [(n, line.rstrip()) for n, line in enumerate(text.splitlines(), start=1)]
    if not lines or not lines[0][1].strip().upper().startswith("//USF"):
        raise FormatError("not a USF file: the first line must start with //USF", path=path, line=1)
    stem = Path(path).stem if path is not None else "sounding"
    header: dict[str, tuple[int, str]] = {}
    soundings: dict[str, dict[str, Any]] = {}
    i, in_sweep = 0, False
    while i < len(lines):
        number, line = lines[i]
        stripped = line.strip()
        i += 1
        if not stripped or stripped.startswith("//"):
            continue
        if stripped.upper() == "/END":
            if not in_sweep:
                continue
            block = []
            while i < len(lines) and lines[i][1].strip().upper() != "/END":
                if lines[i][1].strip():
                    block.append(lines[i])
                i += 1
            if i >= len(lines):
                raise FormatError("the data block is not closed by /END", path=path, line=number)
            if not block:
                raise FormatError("no column header after /END", path=path, line=number)
            i += 1
            name = header.get("SOUNDING_NAME", (0, stem))[1].strip().strip('"') or stem
            sweep = header.get("SWEEP_NUMBER", (0, "1"))[1].strip()
            key = name if name not in soundings else f"{name}-sweep{sweep}"
            soundings[key] = _sweep(block, header, path)
            in_sweep = False
            continue
        match = _KEY.match(stripped)
        if match is None:
            raise FormatError(
                f"expected a /KEY: value line, got {stripped[:40]!r}", path=path, line=number
            )
        key = match.group(1).upper()
        header[key] = (number, match.group(2))
        in_sweep = in_sweep or key == "SWEEP_NUMBER"
    if not soundings:
        raise FormatError(
            "no sweep with data (/SWEEP_NUMBER … /END, columns, rows, /END)", path=path
        )
    return soundings


def read_usf(path: str | Path) -> dict[str, dict[str, Any]]:
    """Read a USF file; see :func:`parse_usf`."""
    return parse_usf(tem_common.read_text(path), path)
