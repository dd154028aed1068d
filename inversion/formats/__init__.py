"""Field data in, results out: sounding readers and result writers.

Readers return observation dicts in the REST layout of docs/architecture.md, ready for
``bpnet.Inverter.invert``. Malformed files raise :class:`FormatError` (a ``ValueError``) that names
the line and the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from inversion.formats.edi import EdiData, parse_edi, read_edi_file
from inversion.formats.edi_write import (
    format_edi_impedance,
    format_edi_rho_phase,
    impedance_1d_field_units,
    write_edi_impedance,
    write_edi_rho_phase,
)
from inversion.formats.errors import FormatError
from inversion.formats.json_input import read_json_soundings
from inversion.formats.mt_modes import MODES, edi_observation, normalise_mode
from inversion.formats.results import (
    LAYER_COLUMNS,
    format_layer_csv,
    format_layer_table,
    format_profile_csv,
    format_result_json,
    layer_rows,
    write_layer_csv,
    write_profile_csv,
    write_result_json,
)
from inversion.formats.smooth_export import (
    SMOOTH_COLUMNS,
    format_smooth_csv,
    format_smooth_profile_csv,
    smooth_rows,
)
from inversion.formats.table import parse_table, read_table
from inversion.formats.table_write import (
    format_sounding,
    format_soundings,
    write_sounding,
    write_soundings,
)
from inversion.formats.tem_read import parse_tem, read_tem

__all__ = [
    "EdiData",
    "FormatError",
    "LAYER_COLUMNS",
    "MODES",
    "SMOOTH_COLUMNS",
    "edi_observation",
    "format_edi_impedance",
    "format_edi_rho_phase",
    "format_layer_csv",
    "format_layer_table",
    "format_profile_csv",
    "format_result_json",
    "format_smooth_csv",
    "format_smooth_profile_csv",
    "format_sounding",
    "format_soundings",
    "impedance_1d_field_units",
    "layer_rows",
    "normalise_mode",
    "parse_edi",
    "parse_table",
    "parse_tem",
    "read_edi",
    "read_json_soundings",
    "read_observation",
    "read_soundings",
    "read_table",
    "read_tem",
    "smooth_rows",
    "write_edi_impedance",
    "write_edi_rho_phase",
    "write_figure",
    "write_layer_csv",
    "write_profile_csv",
    "write_result_json",
    "write_sounding",
    "write_soundings",
]


def read_edi(path: str | Path, mode: str = "det") -> dict[str, Any]:
    """Read an EDI file as an MT observation dict for ``mode`` (``det``, ``te``/``xy``,
    ``tm``/``yx``); see :func:`inversion.formats.mt_modes.edi_observation`."""
    return edi_observation(read_edi_file(path), mode)


def read_soundings(path: str | Path, mode: str = "det") -> dict[str, dict[str, Any]]:
    """Read a field-data file into ``{sounding_id: observation dict}``.

    ``.edi`` files are SEG EDI (one station; ``mode`` picks det/te/tm); ``.json`` files hold
    observations in the REST layout; TEM files are recognised by content (USF, TEM-FAST text
    exports, TEM tables: :func:`inversion.formats.tem_read.detect`); anything else is a table
    (CSV, TSV, whitespace text).
    Raises :class:`FormatError` on malformed input, ``OSError`` when the file cannot be opened.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".edi":
        data = read_edi_file(path)
        return {data.station: edi_observation(data, mode)}
    if suffix == ".json":
        return read_json_soundings(path)
    tem = read_tem(path)
    if tem is not None:
        return tem
    return read_table(path)


def read_observation(path: str | Path, mode: str = "det") -> dict[str, Any]:
    """Read a file holding exactly one sounding; see :func:`read_soundings`."""
    soundings = read_soundings(path, mode)
    if len(soundings) != 1:
        raise FormatError(
            f"the file holds {len(soundings)} soundings ({', '.join(list(soundings)[:5])}…); "
            "expected one",
            path=path,
            field="sounding",
        )
    return next(iter(soundings.values()))


def write_figure(
    observation: dict[str, Any],
    result: dict[str, Any],
    path: str | Path,
    title: str = "",
    depth_scale: str = "log",
) -> Path:
    """Write the data-fit and model figure (PNG or SVG by suffix; model depth on a ``"log"`` or
    ``"linear"`` axis); imports matplotlib lazily."""
    from inversion.formats.figures import write_figure as _write_figure

    return _write_figure(observation, result, path, title, depth_scale)
