"""Recognise TEM files by their content and read them (USF, TEM-FAST, TEM tables)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from inversion.formats import tem_common
from inversion.formats.tem_csv import is_tem_header, parse_tem_csv
from inversion.formats.tem_temfast import parse_temfast
from inversion.formats.tem_usf import parse_usf

_PARSERS = {"usf": parse_usf, "temfast": parse_temfast, "csv": parse_tem_csv}


def detect(text: str) -> str | None:
    """``"usf"``, ``"temfast"``, ``"csv"`` (a TEM table) or None, from the content alone.

    USF starts with ``//USF``; a TEM-FAST export with ``TEM-FAST`` (or has an uncommented
    ``T-LOOP (m) … R-LOOP (m)`` line before a ``Channel`` header); a TEM table's first non-comment
    line names a time column and a TEM data column (``dbzdt_…``, ``voltage_…``, ``E/I``).
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return None
    if lines[0].upper().startswith("//USF"):
        return "usf"
    content = [line for line in lines if not line.startswith("#")]
    if lines[0].upper().startswith("TEM-FAST") or (
        any("T-LOOP" in line and "R-LOOP" in line for line in content[:40])
        and any(line.lower().startswith("channel") for line in content[:60])
    ):
        return "temfast"
    return "csv" if content and is_tem_header(content[0]) else None


def parse_tem(text: str, path: str | Path | None = None) -> dict[str, dict[str, Any]] | None:
    """``{sounding_id: observation dict}`` when ``text`` is TEM data, else None; ``path`` names
    the file in error messages."""
    kind = detect(text)
    return None if kind is None else _PARSERS[kind](text, path)


def read_tem(path: str | Path) -> dict[str, dict[str, Any]] | None:
    """``{sounding_id: observation dict}`` when ``path`` holds TEM data, else None."""
    return parse_tem(tem_common.read_text(path), path)
