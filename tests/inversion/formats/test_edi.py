"""EDI files written from known impedances: units, every mode, errors, EMPTY values."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from inversion.formats import (
    impedance_1d_field_units,
    read_edi,
    read_observation,
    write_edi_impedance,
    write_edi_rho_phase,
)
from inversion.formats.edi import read_edi_file
from inversion.formats.mt_modes import edi_observation

MU0 = 4e-7 * math.pi
# 1 mV/km per nT: E = 1e-6 V/m over H = B/μ0 = 1e-9 T/μ0, so 1 mV/km/nT = 1e-6·μ0/1e-9 Ω.
OHM_PER_FIELD_UNIT = 1e-6 * MU0 / 1e-9
FREQUENCIES_HZ = np.geomspace(1e3, 1e-3, 13)  # descending, as EDI files usually are


def half_space_field_units(rho_ohmm: float) -> np.ndarray:
    """Impedance tensor (K, 2, 2) of a half-space in mV/km/nT: Z = √(iωμ0ρ) (e^{+iωt})."""
    omega = 2 * math.pi * FREQUENCIES_HZ
    zxy = np.sqrt(1j * omega * MU0 * rho_ohmm) / OHM_PER_FIELD_UNIT
    z = np.zeros((FREQUENCIES_HZ.size, 2, 2), dtype=complex)
    z[:, 0, 1], z[:, 1, 0] = zxy, -zxy
    return z


def test_field_unit_factor_is_four_pi_times_ten_to_minus_four() -> None:
    assert OHM_PER_FIELD_UNIT == pytest.approx(4 * math.pi * 1e-4, rel=1e-15)


@pytest.mark.parametrize("mode", ["det", "te", "tm", "xy", "yx", "Determinant"])
def test_half_space_gives_its_resistivity_and_45_degrees(tmp_path, mode: str) -> None:
    path = write_edi_impedance(tmp_path / "hs.edi", FREQUENCIES_HZ, half_space_field_units(250.0))
    obs = read_edi(path, mode)
    assert obs["periods_s"] == pytest.approx(np.sort(1 / FREQUENCIES_HZ), rel=1e-15)
    assert obs["rho_a_ohmm"] == pytest.approx([250.0] * 13, rel=1e-12)
    assert obs["phase_deg"] == pytest.approx([45.0] * 13, abs=1e-10)
    assert "rho_a_error_percent" not in obs


def test_each_mode_follows_rho_equals_abs_z_squared_over_omega_mu0(tmp_path) -> None:
    rng = np.random.default_rng(3)
    k = FREQUENCIES_HZ.size
    z = (rng.normal(size=(k, 2, 2)) + 1j * rng.normal(size=(k, 2, 2))) * 30.0
    z[:, 0, 1] = np.abs(z[:, 0, 1].real) + 1j * np.abs(z[:, 0, 1].imag)  # first quadrant
    z[:, 1, 0] = -(np.abs(z[:, 1, 0].real) + 1j * np.abs(z[:, 1, 0].imag))  # third quadrant
    path = write_edi_impedance(tmp_path / "z.edi", FREQUENCIES_HZ, z)
    omega = 2 * math.pi * FREQUENCIES_HZ
    order = np.argsort(1 / FREQUENCIES_HZ)
    z_ohm = z * OHM_PER_FIELD_UNIT
    expected = {
        "te": z_ohm[:, 0, 1],
        "tm": z_ohm[:, 1, 0],
        "det": np.sqrt(z_ohm[:, 0, 0] * z_ohm[:, 1, 1] - z_ohm[:, 0, 1] * z_ohm[:, 1, 0]),
    }
    for mode, z_mode in expected.items():
        obs = read_edi(path, mode)
        rho = np.abs(z_mode) ** 2 / (omega * MU0)
        phase = np.degrees(np.arctan2(z_mode.imag, z_mode.real))
        phase = np.where(phase <= -90, phase + 180, np.where(phase > 90, phase - 180, phase))
        assert obs["rho_a_ohmm"] == pytest.approx(rho[order], rel=1e-12), mode
        assert obs["phase_deg"] == pytest.approx(phase[order], abs=1e-9), mode
    # the 0.2·T·|Z|² field-unit formula agrees
    te = read_edi(path, "te")
    assert te["rho_a_ohmm"] == pytest.approx(
        (0.2 / FREQUENCIES_HZ * np.abs(z[:, 0, 1]) ** 2)[order], rel=1e-12
    )
    assert all(0 <= p <= 90 for p in read_edi(path, "tm")["phase_deg"])


def test_impedance_errors_become_percent_and_degrees(tmp_path) -> None:
    z = half_space_field_units(100.0)
    sigma = 0.05 * np.abs(z[:, 0, 1])  # 5 % of |Z| on every component
    variance = np.repeat(sigma[:, None, None] ** 2, 4, axis=1).reshape(-1, 2, 2)
    path = write_edi_impedance(tmp_path / "err.edi", FREQUENCIES_HZ, z, variance)
    te = read_edi(path, "te")
    assert te["rho_a_error_percent"] == pytest.approx([10.0] * 13, rel=1e-10)
    assert te["phase_error_deg"] == pytest.approx([math.degrees(math.asin(0.05))] * 13, rel=1e-10)
    det = read_edi(path, "det")  # 1-D: σ_det = √(σxy² + σyx²)/2 = σ/√2
    assert det["rho_a_error_percent"] == pytest.approx([10.0 / math.sqrt(2)] * 13, rel=1e-10)


def test_rho_phase_blocks_with_errors_and_third_quadrant_tm(tmp_path) -> None:
    rho = np.linspace(10, 100, 13)
    modes = {
        "XY": {"rho_ohmm": rho, "phase_deg": np.full(13, 40.0), "rho_err_ohmm": 0.04 * rho},
        "YX": {"rho_ohmm": 2 * rho, "phase_deg": np.full(13, -130.0), "phase_err_deg": np.ones(13)},
    }
    path = write_edi_rho_phase(tmp_path / "rp.edi", FREQUENCIES_HZ, modes)
    te, tm = read_edi(path, "te"), read_edi(path, "tm")
    assert te["rho_a_ohmm"] == pytest.approx(rho.tolist(), rel=1e-15)
    assert te["rho_a_error_percent"] == pytest.approx([4.0] * 13, rel=1e-12)
    assert tm["phase_deg"] == pytest.approx([50.0] * 13, abs=1e-12)
    assert tm["phase_error_deg"] == [1.0] * 13
    with pytest.raises(ValueError, match="determinant mode needs the full impedance tensor"):
        read_edi(path, "det")


def test_phase_folding_keeps_the_first_quadrant_closed() -> None:
    from inversion.formats.mt_modes import fold_phase_deg

    folded = fold_phase_deg(np.array([90.0, 0.0, -135.0, 135.0, -90.0, 180.0, 45.0]))
    assert folded.tolist() == [90.0, 0.0, 45.0, -45.0, 90.0, 0.0, 45.0]


def test_1d_impedance_helper_reproduces_rho_and_phase(tmp_path) -> None:
    rho, phase = np.geomspace(5, 500, 13), np.linspace(20, 70, 13)
    z = impedance_1d_field_units(rho, phase, FREQUENCIES_HZ)
    obs = read_edi(write_edi_impedance(tmp_path / "m.edi", FREQUENCIES_HZ, z), "det")
    assert obs["rho_a_ohmm"] == pytest.approx(rho, rel=1e-12)
    assert obs["phase_deg"] == pytest.approx(phase, abs=1e-9)


def test_empty_sentinel_drops_that_frequency(tmp_path, caplog) -> None:
    z = half_space_field_units(100.0)
    path = write_edi_impedance(tmp_path / "gap.edi", FREQUENCIES_HZ, z)
    lines = path.read_text().splitlines()
    start = lines.index(next(line for line in lines if line.startswith(">ZXYR")))
    values = lines[start + 1].split()
    values[0] = "1.0E+32"  # first frequency, 1 kHz
    lines[start + 1] = "  " + " ".join(values)
    path.write_text("\n".join(lines) + "\n")
    te = read_edi(path, "te")
    assert len(te["periods_s"]) == 12 and min(te["periods_s"]) > 1.5e-3
    assert "EMPTY values dropped" in caplog.text
    assert len(read_edi(path, "tm")["periods_s"]) == 13


def test_file_in_the_usual_field_layout_is_read(tmp_path) -> None:
    text = """>HEAD
  DATAID="MT042"
  EMPTY=1.0E32
>INFO MAXINFO=999
  some notes, with = signs and words
>=DEFINEMEAS
  MAXCHAN=4
>HMEAS ID=1.001 CHTYPE=HX X=0 Y=0 Z=0 AZM=0
>=MTSECT
  NFREQ=3
>!****FREQUENCIES****!
>FREQ NFREQ=3 ORDER=DEC // 3
  1.0E+01 1.0E+00
  1.0E-01
>ZROT // 3
  0 0 0
>ZXYR ROT=ZROT // 3
  1.0 2.0 3.0
>ZXYI ROT=ZROT // 3
  1.0 2.0 3.0
>END
"""
    path = tmp_path / "mt042.edi"
    path.write_text(text)
    assert read_edi_file(path).station == "MT042"
    obs = read_observation(path, "te")
    assert obs["periods_s"] == pytest.approx([0.1, 1.0, 10.0])
    assert obs["rho_a_ohmm"] == pytest.approx([0.2 * 0.1 * 2, 0.2 * 1 * 8, 0.2 * 10 * 18])
    assert obs["phase_deg"] == pytest.approx([45.0] * 3)


def test_file_written_by_mt_metadata_matches_ours() -> None:
    """tests/inversion/formats/data: the same impedances written by geobp (17 digits) and
    re-written by mt-metadata 1.0.12 (7 digits, tabs, extra header keywords)."""
    here = Path(__file__).parent / "data"
    ours, theirs = (
        read_edi_file(here / name) for name in ("geobp_written.edi", "mt_metadata_written.edi")
    )
    assert theirs.station == ours.station == "XCHK"
    order = np.argsort(-ours.frequencies_hz)  # mt-metadata writes decreasing frequency
    assert theirs.frequencies_hz == pytest.approx(ours.frequencies_hz[order], rel=1e-6)
    assert sorted(theirs.blocks) == sorted(ours.blocks)
    for name, values in ours.blocks.items():
        assert theirs.blocks[name] == pytest.approx(values[order], rel=1e-5, abs=1e-6), name
    for mode in ("det", "te", "tm"):
        a, b = edi_observation(ours, mode), edi_observation(theirs, mode)
        assert a["rho_a_ohmm"] == pytest.approx(b["rho_a_ohmm"], rel=1e-5)
        assert a["phase_error_deg"] == pytest.approx(b["phase_error_deg"], rel=1e-4)
