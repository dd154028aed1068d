"""Impedance-tensor tables (EMTF exported to CSV): the determinant sounding, its errors, refusals.

References are computed here from first principles: ρa = |Z|²/(ωμ0) with Z in Ω
(1 mV/km/nT = μ0·10³ Ω), the phase from ``cmath.phase``, the determinant error by first-order
propagation written out element by element.
"""

from __future__ import annotations

import cmath
import csv
import math
from pathlib import Path

import numpy as np
import pytest

import inversion
from inversion.formats import FormatError, parse_table
from inversion.formats.mt_impedance import DETERMINANT_WARNING

NMX20 = Path(__file__).resolve().parents[2] / "data" / "field" / "mt_usmtarray_NMX20.csv"
MU0 = 4e-7 * math.pi
OHM_PER_FIELD_UNIT = MU0 * 1e3
HEADER = "period_s,zxx_re,zxx_im,zxy_re,zxy_im,zyx_re,zyx_im,zyy_re,zyy_im"


def _first_row() -> dict[str, float]:
    with open(NMX20, encoding="utf-8") as handle:
        rows = csv.DictReader(line for line in handle if not line.startswith("#"))
        return {key: float(value) for key, value in next(rows).items()}


def _half_space_rows(rho_ohmm: float, periods_s: np.ndarray, angle_deg: float) -> list[str]:
    """CSV rows of a half-space tensor (mV/km/nT, e^{+iωt}) rotated by ``angle_deg``."""
    theta = math.radians(angle_deg)
    rot = np.array([[math.cos(theta), math.sin(theta)], [-math.sin(theta), math.cos(theta)]])
    rows = []
    for period in periods_s:
        z1 = cmath.sqrt(1j * 2 * math.pi / period * MU0 * rho_ohmm) / OHM_PER_FIELD_UNIT
        z = rot @ np.array([[0, z1], [-z1, 0]]) @ rot.T
        cells = [repr(float(period))]
        for value in (z[0, 0], z[0, 1], z[1, 0], z[1, 1]):
            cells += [repr(float(value.real)), repr(float(value.imag))]
        rows.append(",".join(cells))
    return rows


def test_nmx20_first_row_matches_a_hand_computation() -> None:
    obs = inversion.read_soundings(NMX20)["mt_usmtarray_NMX20"]
    row = _first_row()
    z = {e: complex(row[f"z{e}_re"], row[f"z{e}_im"]) for e in ("xx", "xy", "yx", "yy")}
    var = {e: row[f"z{e}_var"] for e in z}
    z_det = cmath.sqrt(z["xx"] * z["yy"] - z["xy"] * z["yx"])
    omega = 2 * math.pi / row["period_s"]
    rho = abs(z_det * OHM_PER_FIELD_UNIT) ** 2 / (omega * MU0)
    phase = math.degrees(cmath.phase(z_det))
    sigma = math.sqrt(
        abs(z["yy"]) ** 2 * var["xx"]
        + abs(z["xx"]) ** 2 * var["yy"]
        + abs(z["yx"]) ** 2 * var["xy"]
        + abs(z["xy"]) ** 2 * var["yx"]
    ) / (2 * abs(z_det))
    assert len(obs["periods_s"]) == 33
    assert obs["periods_s"][0] == row["period_s"]  # the file's digits, not 1/(1/T)
    assert obs["periods_s"] == sorted(obs["periods_s"])
    assert obs["rho_a_ohmm"][0] == pytest.approx(rho, rel=1e-12)
    assert obs["rho_a_ohmm"][0] == pytest.approx(0.2 * row["period_s"] * abs(z_det) ** 2, rel=1e-9)
    assert obs["phase_deg"][0] == pytest.approx(phase, abs=1e-10)
    assert obs["rho_a_error_percent"][0] == pytest.approx(200 * sigma / abs(z_det), rel=1e-12)
    assert obs["phase_error_deg"][0] == pytest.approx(
        math.degrees(math.asin(sigma / abs(z_det))), rel=1e-12
    )
    assert obs["warnings"][0] == DETERMINANT_WARNING
    assert any("tipper" in w and "tx_re" in w for w in obs["warnings"])


@pytest.mark.parametrize("angle_deg", [0.0, 9.1, 37.0])
def test_rotated_half_space_gives_its_resistivity_and_45_degrees(angle_deg: float) -> None:
    periods = np.geomspace(1e-3, 1e3, 7)
    text = "\n".join([HEADER, *_half_space_rows(80.0, periods, angle_deg)])
    obs = parse_table(text)["sounding"]
    assert obs["rho_a_ohmm"] == pytest.approx([80.0] * 7, rel=1e-10)
    assert obs["phase_deg"] == pytest.approx([45.0] * 7, abs=1e-8)
    assert "rho_a_error_percent" not in obs


def test_si_units_frequency_column_and_edi_style_names() -> None:
    periods = np.array([0.01, 1.0, 100.0])
    rows = _half_space_rows(30.0, periods, 0.0)
    header = "freq (Hz)\tZXXR (ohm)\tZXXI (ohm)\tZXYR (ohm)\tZXYI (ohm)\tZYXR (ohm)\tZYXI (ohm)"
    header += "\tZYYR (ohm)\tZYYI (ohm)\tnote"
    lines = [header]
    for period, row in zip(periods, rows, strict=True):
        cells = [float(c) * OHM_PER_FIELD_UNIT for c in row.split(",")[1:]]
        lines.append("\t".join([repr(float(1 / period)), *map(repr, cells), "x"]))
    obs = parse_table("\n".join(lines))["sounding"]
    assert obs["periods_s"] == pytest.approx(periods, rel=1e-12)
    assert obs["rho_a_ohmm"] == pytest.approx([30.0] * 3, rel=1e-10)
    assert "column 'note' not understood; ignored" in obs["warnings"]


def test_standard_error_columns_equal_the_root_of_variance_columns() -> None:
    row = _half_space_rows(50.0, np.array([1.0]), 20.0)[0]
    with_var = HEADER + ",zxx_var,zxy_var,zyx_var,zyy_var\n" + row + ",0.04,0.09,0.09,0.04"
    with_std = HEADER + ",zxx_std,zxy_std,zyx_std,zyy_std\n" + row + ",0.2,0.3,0.3,0.2"
    a, b = parse_table(with_var)["sounding"], parse_table(with_std)["sounding"]
    assert a["rho_a_error_percent"] == pytest.approx(b["rho_a_error_percent"], rel=1e-12)
    assert a["phase_error_deg"] == pytest.approx(b["phase_error_deg"], rel=1e-12)
    assert a["rho_a_error_percent"][0] > 0


@pytest.mark.parametrize(
    ("text", "message", "field"),
    [
        (HEADER.replace(",zyy_im", "") + "\n1," + "1," * 6 + "1", "missing zyy_im", "zyy_im"),
        (
            HEADER + ",zxx_var,zxy_var,zyx_var,zyy_var\n1" + ",1" * 8 + ",0.1,-0.1,0.1,0.1",
            "is negative",
            "zxy_var",
        ),
        (
            HEADER.replace("zxy_re", "zxy_re (V/m)") + "\n1" + ",1" * 8,
            "unknown impedance",
            "zxy_re (V/m)",
        ),
        (HEADER + "\n1" + ",1" * 7 + ",abc", "'abc' is not a number", "zyy_im"),
        (HEADER.replace("period_s", "station") + "\nA" + ",1" * 8, "period or frequency", None),
    ],
)
def test_refusals_name_the_column(text: str, message: str, field: str | None) -> None:
    with pytest.raises(FormatError, match=message) as caught:
        parse_table(text)
    if field is not None:
        assert caught.value.field == field
