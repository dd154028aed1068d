"""Error and log10 columns by the names field files give them, and the geometric-factor and
transfer-resistance columns of raw VES files: one test per reading rule and per refusal."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from inversion.formats import FormatError, parse_table, read_observation

DATA = Path(__file__).parent / "data"
LN10 = math.log(10.0)


def one(text: str) -> dict:
    soundings = parse_table(text)
    assert len(soundings) == 1
    return next(iter(soundings.values()))


def test_sd_in_ohm_m_is_an_absolute_error() -> None:
    obs = one("ab2_m,rho_a_ohmm,sd_rho_ohmm\n1,200,4\n2,50,5\n")
    assert obs["rho_a_error_percent"] == pytest.approx([2.0, 10.0], rel=1e-14)
    assert "warnings" not in obs


def test_sd_phase_in_degrees_is_the_phase_error() -> None:
    obs = one("period_s,rho_a_ohmm,phase_deg,sd_phase_deg\n1,10,45,1.5\n10,20,50,2\n")
    assert obs["phase_error_deg"] == [1.5, 2.0]


def test_sd_phase_in_radians_is_converted() -> None:
    obs = one("period_s,rho_a_ohmm,phase_deg,phase_std (rad)\n1,10,45,0.01\n10,20,50,0.02\n")
    assert obs["phase_error_deg"] == pytest.approx([0.01 * 180 / math.pi, 0.02 * 180 / math.pi])


def test_rel_err_is_a_fraction() -> None:
    obs = one("ab2_m,rho_a_ohmm,rel_err_used\n1,100,0.05\n2,100,0.08\n")
    assert obs["rho_a_error_percent"] == pytest.approx([5.0, 8.0], rel=1e-14)


@pytest.mark.parametrize("header", ["rhoa_err_pct", "rel err (%)", "uncertainty (%)", "std%"])
def test_percent_spellings(header: str) -> None:
    assert one(f"ab2_m,rho_a_ohmm,{header}\n1,100,3\n2,100,4\n")["rho_a_error_percent"] == [3, 4]


def test_uncertainty_in_ohm_m_is_absolute() -> None:
    obs = one("ab2_m,rho_a_ohmm,uncertainty (Ω·m)\n1,100,3\n2,50,4\n")
    assert obs["rho_a_error_percent"] == pytest.approx([3.0, 8.0], rel=1e-14)


def test_log10_apparent_resistivity_with_log10_standard_deviation() -> None:
    obs = one("ab2_m,log10_rho_a,sd_log10_rho\n1,2,0.02\n2,-0.5,0.01\n")
    assert obs["rho_a_ohmm"] == pytest.approx([100.0, 10**-0.5], rel=1e-14)
    # σ(ln ρa) = ln 10 · σ(log10 ρa): the relative error the misfit uses
    assert obs["rho_a_error_percent"] == pytest.approx([2 * LN10, 1 * LN10], rel=1e-14)


def test_the_error_of_a_log10_column_is_in_log10_units() -> None:
    obs = one("AB/2 (m),rho_a (log10 ohm.m),sd\n1,1,0.03\n2,1.2,0.03\n")
    assert obs["rho_a_ohmm"] == pytest.approx([10.0, 10**1.2], rel=1e-14)
    assert obs["rho_a_error_percent"] == pytest.approx([3 * LN10] * 2, rel=1e-14)


def test_transfer_resistance_with_the_schlumberger_factor() -> None:
    obs = one("AB/2 (m),MN/2 (m),V/I (ohm)\n10,1,0.5\n30,2,0.1\n")
    k1 = math.pi * (10**2 - 1**2) / 2
    k2 = math.pi * (30**2 - 2**2) / 4
    assert obs["rho_a_ohmm"] == pytest.approx([k1 * 0.5, k2 * 0.1], rel=1e-14)


def test_a_geometric_factor_column_is_used_when_given() -> None:
    obs = one("AB/2 (m),K (m),V (mV),I (mA)\n10,150,35,200\n30,700,12.5,500\n")
    assert obs["rho_a_ohmm"] == pytest.approx([150 * 0.175, 700 * 0.025], rel=1e-14)


def test_a_real_raw_file_reads_every_column_without_warnings() -> None:
    obs = read_observation(DATA / "ves_schlumberger_mawlamyine_loc3.csv")
    assert "warnings" not in obs and len(obs["ab2_m"]) == 26
    assert obs["rho_a_ohmm"][0] == 757.47 and obs["mn2_m"][:2] == [1.0, 1.0]


def test_an_error_column_without_a_unit_is_refused() -> None:
    with pytest.raises(FormatError, match="needs a unit") as info:
        parse_table("ab2_m,rho_a_ohmm,uncertainty\n1,100,3\n")
    assert info.value.field == "uncertainty"


def test_a_phase_error_in_percent_is_refused() -> None:
    with pytest.raises(FormatError, match="unknown unit") as info:
        parse_table("period_s,rho_a_ohmm,phase_deg,phase_err_pct\n1,10,45,3\n")
    assert info.value.field == "phase_err_pct"


def test_a_negative_log10_standard_deviation_is_refused() -> None:
    with pytest.raises(FormatError, match="must be positive") as info:
        parse_table("ab2_m,log10_rho_a,sd_log10_rho\n1,2,-0.02\n")
    assert (info.value.line, info.value.field) == (2, "sd_log10_rho")


def test_a_relative_error_of_one_or_more_is_refused() -> None:
    with pytest.raises(FormatError, match="below 1") as info:
        parse_table("ab2_m,rho_a_ohmm,rel_err_used\n1,100,5\n")
    assert info.value.field == "rel_err_used"


def test_two_error_columns_for_rho_a_are_refused() -> None:
    with pytest.raises(FormatError, match="two columns") as info:
        parse_table("ab2_m,rho_a_ohmm,sd_rho_ohmm,rel_err_used\n1,100,3,0.03\n")
    assert info.value.field == "rel_err_used"


def test_a_phase_beyond_minus_90_to_180_is_refused_with_the_folding_hint() -> None:
    with pytest.raises(FormatError, match="fold TM/yx phases"):
        parse_table("period_s,rho_a_ohmm,phase_deg\n1,10,-135\n")


def test_a_phase_just_below_zero_is_read_for_the_inversion_to_judge() -> None:
    assert one("period_s,rho_a_ohmm,phase_deg\n1,10,-0.5\n10,10,45\n")["phase_deg"][0] == -0.5
