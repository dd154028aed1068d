"""Parse SEG EDI magnetotelluric files (impedance or apparent-resistivity/phase blocks).

A small, strict parser: every number is checked (line and block named on error), block counts
(``// n``) must match ``NFREQ``, the file must end with ``>END``. Values equal to the header's
``EMPTY`` sentinel are missing data. Impedances stay in the EDI's field units, mV/km/nT.
Why not ``mt-metadata``: see docs/usage.md ("EDI files").
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from inversion.formats.errors import FormatError

_COMPONENTS = ("XX", "XY", "YX", "YY")
_NUMERIC_BLOCKS = (
    {"FREQ", "ZROT", "RHOROT"}
    | {f"Z{c}{part}" for c in _COMPONENTS for part in ("R", "I", ".VAR")}
    | {
        f"{kind}{c}{suffix}"
        for kind in ("RHO", "PHS")
        for c in _COMPONENTS
        for suffix in ("", ".ERR")
    }
)
_UNSUPPORTED = {"SPECTRA": "spectra sections", "SPECTRASECT": "spectra sections"}
_ATTRIBUTE = re.compile(r"(\w+)\s*=\s*(\"[^\"]*\"|\S+)")


@dataclass
class EdiData:
    """What an EDI file holds, in its own units.

    ``frequencies_hz`` (K,) as in the file; ``blocks`` maps a data block name (``"ZXYR"``,
    ``"ZXY.VAR"``, ``"RHOXY"``, ``"PHSXY.ERR"`` …) to a (K,) float array with NaN where the file
    gives the ``EMPTY`` sentinel; ``header`` the ``>HEAD`` keywords; ``block_lines`` the line on
    which each block starts (for error messages).
    """

    station: str
    frequencies_hz: np.ndarray
    blocks: dict[str, np.ndarray]
    header: dict[str, str] = field(default_factory=dict)
    block_lines: dict[str, int] = field(default_factory=dict)
    path: str | None = None

    def has(self, *names: str) -> bool:
        """Whether every named block is present."""
        return all(name in self.blocks for name in names)


@dataclass
class _Block:
    name: str
    line: int
    attributes: dict[str, str]
    count: int | None
    body: list[tuple[int, str]] = field(default_factory=list)


def _split_blocks(lines: list[str], path: str | Path | None) -> list[_Block]:
    blocks: list[_Block] = []
    current: _Block | None = None
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith(">"):
            text = line[1:].strip()
            if text.startswith("!"):  # >!comment!
                current = None
                continue
            declaration, _, count_text = text.partition("//")
            words = declaration.split()
            if not words:
                raise FormatError("empty block name after '>'", path=path, line=number)
            count = None
            if count_text.strip():
                try:
                    count = int(count_text.split()[0])
                except ValueError:
                    raise FormatError(
                        f"block count {count_text.strip()!r} is not an integer",
                        path=path,
                        line=number,
                        field=words[0].upper(),
                    ) from None
            attributes = {
                key.upper(): value.strip('"') for key, value in _ATTRIBUTE.findall(declaration)
            }
            current = _Block(words[0].upper(), number, attributes, count)
            blocks.append(current)
        elif current is not None:
            current.body.append((number, line))
    return blocks


def _keywords(block: _Block) -> dict[str, str]:
    values = dict(block.attributes)
    for _, line in block.body:
        for key, value in _ATTRIBUTE.findall(line):
            values[key.upper()] = value.strip('"')
    return values


def _numbers(block: _Block, empty: float, path: str | Path | None) -> np.ndarray:
    values: list[float] = []
    for number, line in block.body:
        for token in line.split():
            try:
                value = float(token)
            except ValueError:
                raise FormatError(
                    f"{token!r} is not a number", path=path, line=number, field=block.name
                ) from None
            if not math.isfinite(value):
                raise FormatError(
                    f"{token!r} is not a finite number", path=path, line=number, field=block.name
                )
            values.append(math.nan if value == empty else value)
    if block.count is not None and block.count != len(values):
        raise FormatError(
            f"the block declares {block.count} values but holds {len(values)}",
            path=path,
            line=block.line,
            field=block.name,
        )
    return np.asarray(values, dtype=float)


def parse_edi(text: str, path: str | Path | None = None) -> EdiData:
    """Parse the text of a SEG EDI file; raise :class:`FormatError` (line, block) when malformed."""
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        raise FormatError("the file is empty", path=path)
    blocks = _split_blocks(lines, path)
    names = [block.name for block in blocks]
    if "HEAD" not in names:
        raise FormatError("not an EDI file: no >HEAD block", path=path, line=1)
    if "END" not in names:
        raise FormatError(
            "no >END block: the file looks truncated", path=path, line=len(lines), field="END"
        )
    for block in blocks:
        if block.name in _UNSUPPORTED:
            raise FormatError(
                f"{_UNSUPPORTED[block.name]} are not supported; export impedances (>ZXYR …) or "
                "apparent resistivity and phase (>RHOXY …)",
                path=path,
                line=block.line,
                field=block.name,
            )
    head_block = blocks[names.index("HEAD")]
    header = _keywords(head_block)
    try:
        empty = float(header.get("EMPTY", "1.0E32"))
    except ValueError:
        raise FormatError(
            f"EMPTY = {header['EMPTY']!r} is not a number",
            path=path,
            line=head_block.line,
            field="EMPTY",
        ) from None

    data: dict[str, np.ndarray] = {}
    block_lines: dict[str, int] = {}
    for block in blocks:
        if block.name in _NUMERIC_BLOCKS:
            if block.name in data:
                raise FormatError(
                    "the block appears twice", path=path, line=block.line, field=block.name
                )
            data[block.name] = _numbers(block, empty, path)
            block_lines[block.name] = block.line
    if "FREQ" not in data:
        raise FormatError("missing >FREQ block", path=path, field="FREQ")
    frequencies = data.pop("FREQ")
    freq_line = block_lines["FREQ"]
    if frequencies.size == 0:
        raise FormatError("no frequencies", path=path, line=freq_line, field="FREQ")
    if np.any(np.isnan(frequencies)) or np.any(frequencies <= 0):
        i = int(np.flatnonzero(np.isnan(frequencies) | (frequencies <= 0))[0])
        shown = "EMPTY" if np.isnan(frequencies[i]) else f"{frequencies[i]:g}"
        raise FormatError(
            f"frequency {i + 1} is {shown}; frequencies must be positive numbers",
            path=path,
            line=freq_line,
            field="FREQ",
        )
    if np.unique(frequencies).size != frequencies.size:
        raise FormatError("repeated frequencies", path=path, line=freq_line, field="FREQ")
    sections = {block.name: _keywords(block) for block in blocks if block.name == "=MTSECT"}
    nfreq_text = sections.get("=MTSECT", {}).get("NFREQ")
    if nfreq_text is not None and nfreq_text.isdigit() and int(nfreq_text) != frequencies.size:
        raise FormatError(
            f"NFREQ = {nfreq_text} but the >FREQ block holds {frequencies.size} values",
            path=path,
            line=freq_line,
            field="NFREQ",
        )
    for name, values in data.items():
        if values.size != frequencies.size:
            raise FormatError(
                f"{values.size} values for {frequencies.size} frequencies",
                path=path,
                line=block_lines[name],
                field=name,
            )
    station = header.get("DATAID", Path(path).stem if path is not None else "edi")
    return EdiData(
        station, frequencies, data, header, block_lines, None if path is None else str(path)
    )


def read_edi_file(path: str | Path) -> EdiData:
    """Read and parse an EDI file (see :func:`parse_edi`)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        text = path.read_text(encoding="latin-1")
    return parse_edi(text, path)
