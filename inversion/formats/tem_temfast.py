"""Read TEM-FAST 48 text exports (``.tem``; Applied Electromagnetic Research).

Each sounding is a block::

    TEM-FAST 48 HPC/S2 Date: Wed May 25 13:26:50 2022
    Place: SALZLACKEN _P2
    #Set TEM_P2_21
    Time-Range 7 Stacks 20 deff= 6 us I=4.3 A FILTR=50 Hz AMPLIFER=OFF
    T-LOOP (m) 50.000 R-LOOP (m) 50.000 TURN= 1
    Comments: 200_50
    Location:x= +0.000 y= +0.000 z= +0.00
    Channel Time E/I[V/A] Err[V/A] Res[Ohm-m]
    1 4.06 7.063e-002 …

(tab or space separated; times in µs from the start of the turn-off ramp). E/I is divided by the
receiver loop's area and its turns (for a coincident loop, T-LOOP = R-LOOP, by turns² — the
same loop transmits and receives) to give V/(A·m²). The turn-off ramp is not in the file (it
depends on loop and current); pass ``ramp_off_s`` with the observation where it matters.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from inversion.formats import tem_common
from inversion.formats.errors import FormatError

_TIME_UNIT = re.compile(r"time\s*[\[\(]\s*(µs|us|mks|ms|s)\s*[\]\)]", re.IGNORECASE)
_TIME_FACTORS = {"µs": 1e-6, "us": 1e-6, "mks": 1e-6, "ms": 1e-3, "s": 1.0}


def _blocks(lines: list[tuple[int, str]]) -> list[list[tuple[int, str]]]:
    blocks: list[list[tuple[int, str]]] = []
    for number, line in lines:
        if line.strip().upper().startswith("TEM-FAST") or not blocks:
            blocks.append([])
        blocks[-1].append((number, line))
    return blocks


def _columns(header: str, number: int, path: str | Path | None) -> tuple[dict[str, int], float]:
    """Indices of time, E/I and error columns, and the time factor to s."""
    cells = [c for c in re.split(r"\t|\s{2,}|\s(?=[A-Z])", header.strip()) if c.strip()]
    lower = [c.strip().lower() for c in cells]
    index: dict[str, int] = {}
    for i, cell in enumerate(lower):
        if cell.startswith("time"):
            index["time"] = i
        elif cell.startswith("e/i"):
            index["value"] = i
        elif cell.startswith("err"):
            index["error"] = i
    for key, label in (("time", "Time"), ("value", "E/I[V/A]")):
        if key not in index:
            raise FormatError(
                f"the column header has no {label} column", path=path, line=number, field=label
            )
    unit = _TIME_UNIT.search(header)
    return index, _TIME_FACTORS[unit.group(1).lower()] if unit else 1e-6


def _block(
    block: list[tuple[int, str]], path: str | Path | None, stem: str
) -> tuple[str, dict[str, Any]]:
    first = block[0][0]
    name = next(
        (
            line.split(None, 1)[1].strip()
            for _, line in block
            if line.strip().lower().startswith("#set") and len(line.split(None, 1)) > 1
        ),
        stem,
    )
    meta = tem_common.scan_metadata(line for _, line in block)
    if "loop_side_m" not in meta:
        raise FormatError(
            "no 'T-LOOP (m) … R-LOOP (m) … TURN= …' line: the loop size is unknown",
            path=path,
            line=first,
            field="T-LOOP",
        )
    head = next(
        ((n, line) for n, line in block if line.strip().lower().startswith("channel")), None
    )
    if head is None:
        raise FormatError(
            "no 'Channel Time E/I[V/A] Err[V/A]' column header",
            path=path,
            line=first,
            field="Channel",
        )
    index, t_factor = _columns(head[1], head[0], path)
    turns = meta.get("turns", 1.0)
    rx_area = meta["rx_side_m"] ** 2
    scale = 1.0 / (rx_area * turns * (turns if meta["receiver"] == "coincident" else 1.0))
    rows = []
    for number, line in block:
        if number <= head[0] or not line.strip():
            continue
        cells = line.split()
        if len(cells) < max(index.values()) + 1:
            raise FormatError(
                f"{len(cells)} values but the column header has more columns",
                path=path,
                line=number,
            )
        row = {
            "line": number,
            "time_s": tem_common.number(cells[index["time"]], path, number, "Time") * t_factor,
            "value": tem_common.number(cells[index["value"]], path, number, "E/I[V/A]") * scale,
        }
        if "error" in index:
            row["error"] = (
                tem_common.number(cells[index["error"]], path, number, "Err[V/A]") * scale
            )
        rows.append(row)
    geometry = tem_common.geometry(meta, path, first)
    return name, tem_common.build_observation(rows, geometry, path)


def parse_temfast(text: str, path: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """Parse a TEM-FAST text export into ``{set name: observation dict}`` (see ``tem_common``)."""
    lines = [
        (n, line.rstrip()) for n, line in enumerate(text.splitlines(), start=1) if line.strip()
    ]
    if not lines:
        raise FormatError("the file is empty", path=path)
    stem = Path(path).stem if path is not None else "sounding"
    soundings: dict[str, dict[str, Any]] = {}
    for block in _blocks(lines):
        name, obs = _block(block, path, stem)
        soundings[name if name not in soundings else f"{name}-{len(soundings) + 1}"] = obs
    return soundings


def read_temfast(path: str | Path) -> dict[str, dict[str, Any]]:
    """Read a TEM-FAST text export; see :func:`parse_temfast`."""
    return parse_temfast(tem_common.read_text(path), path)
