"""Sounding tables: header spellings, units, the raw I/V form, MN/2 segments, profiles."""

from __future__ import annotations

import math

import pytest

from inversion.formats import parse_table, read_observation, read_soundings


def one(text: str) -> dict:
    soundings = parse_table(text)
    assert len(soundings) == 1
    return next(iter(soundings.values()))


@pytest.mark.parametrize(
    "header",
    [
        "AB/2,MN/2,rhoa",
        "ab2,mn2,Rho_a",
        "AB2 (m),MN/2 (m),app_res (ohm.m)",
        "ab2_m,mn2_m,rho_a_ohmm",
        "AB/2 [m],MN/2 [m],Rho_a [Ω·m]",
        "AB/2 (m),MN/2 (m),rhoa (ohmm)",
        "AB/2 (m),MN/2 (m),Apparent Resistivity (Ohm-m)",
    ],
)
def test_header_spellings_are_recognised(header: str) -> None:
    obs = one(f"{header}\n1.5,0.5,100\n2.2,0.5,120\n")
    assert obs == {"ab2_m": [1.5, 2.2], "mn2_m": [0.5, 0.5], "rho_a_ohmm": [100.0, 120.0]}


@pytest.mark.parametrize(
    ("sep", "header"),
    [
        ("\t", "AB/2 (m)\tMN/2 (m)\trho_a (ohm.m)"),
        (";", "AB/2 (m);MN/2 (m);rho_a (ohm.m)"),
        ("  ", "AB/2 (m)   MN/2 (m)  rho_a (ohm.m)"),
    ],
)
def test_delimiters(sep: str, header: str) -> None:
    obs = one(f"# a comment\n{header}\n\n1.5{sep}0.5{sep}100\n2.2{sep}0.5{sep}120\n")
    assert obs["ab2_m"] == [1.5, 2.2] and obs["rho_a_ohmm"] == [100.0, 120.0]


def test_feet_are_converted_to_metres() -> None:
    obs = one("AB/2 (ft),rho_a (ohm.m)\n10,50\n20,60\n")
    assert obs["ab2_m"] == pytest.approx([3.048, 6.096], rel=1e-15)
    assert "mn2_m" not in obs


def test_error_percent_and_fraction_and_absolute() -> None:
    assert one("ab2,rhoa,error (%)\n1,100,3\n2,100,5\n")["rho_a_error_percent"] == [3.0, 5.0]
    assert one("ab2,rhoa,err%\n1,100,3\n2,100,5\n")["rho_a_error_percent"] == [3.0, 5.0]
    fraction = one("ab2,rhoa,error (fraction)\n1,100,0.03\n2,100,0.05\n")
    assert fraction["rho_a_error_percent"] == pytest.approx([3.0, 5.0], rel=1e-14)
    absolute = one("ab2,rhoa,std (ohm.m)\n1,200,4\n2,50,5\n")
    assert absolute["rho_a_error_percent"] == pytest.approx([2.0, 10.0], rel=1e-14)
    assert one("ab2,rhoa,rho_a_error_percent\n1,1,2\n2,1,2\n")["rho_a_error_percent"] == [2, 2]


def test_raw_form_applies_the_schlumberger_geometric_factor() -> None:
    # K = π(L² − l²)/(2l); ρa = K·V/I.
    obs = one("AB/2 (m),MN/2 (m),I (mA),V (mV)\n10,1,200,35\n30,2,500,12.5\n")
    k1 = math.pi * (10**2 - 1**2) / (2 * 1)
    k2 = math.pi * (30**2 - 2**2) / (2 * 2)
    assert obs["rho_a_ohmm"] == pytest.approx([k1 * 35 / 200, k2 * 12.5 / 500], rel=1e-14)
    assert obs["mn2_m"] == [1.0, 2.0]


def test_raw_form_units_scale_independently() -> None:
    volts = one("AB/2 (m),MN/2 (m),I (A),V (V)\n10,1,0.2,0.035\n20,1,0.2,0.01\n")
    millivolts = one("AB/2 (m),MN/2 (m),I (mA),V (mV)\n10,1,200,35\n20,1,200,10\n")
    assert volts["rho_a_ohmm"] == pytest.approx(millivolts["rho_a_ohmm"], rel=1e-14)


def test_raw_wenner_geometric_factor() -> None:
    obs = one("a (m),I (mA),V (mV)\n5,100,20\n10,100,8\n")
    assert obs["a_m"] == [5.0, 10.0]
    assert obs["rho_a_ohmm"] == pytest.approx([2 * math.pi * 5 * 0.2, 2 * math.pi * 10 * 0.08])


def test_overlapping_mn2_segments_are_kept_as_measured() -> None:
    text = (
        "AB/2,MN/2,rhoa\n1,0.2,50\n2,0.2,55\n3,0.2,60\n3,1,63\n5,1,70\n10,1,90\n10,5,94\n20,5,120\n"
    )
    obs = one(text)
    assert obs["ab2_m"] == [1, 2, 3, 3, 5, 10, 10, 20]
    assert obs["mn2_m"] == [0.2, 0.2, 0.2, 1, 1, 1, 5, 5]
    assert obs["rho_a_ohmm"] == [50, 55, 60, 63, 70, 90, 94, 120]


def test_mt_table_with_frequency_column() -> None:
    obs = one("freq (Hz),rho_a (ohm.m),phase (deg),phase_err (deg)\n100,10,45,1\n0.1,20,50,2\n")
    assert obs["periods_s"] == pytest.approx([0.01, 10.0], rel=1e-15)
    assert obs["phase_deg"] == [45.0, 50.0] and obs["phase_error_deg"] == [1.0, 2.0]


def test_columns_not_understood_are_ignored_with_a_warning() -> None:
    obs = one("AB/2,rhoa,comment,elevation\n1,100,ok,3\n2,110,noisy,4\n")
    assert obs == {
        "ab2_m": [1.0, 2.0],
        "rho_a_ohmm": [100.0, 110.0],
        "warnings": [
            "column 'comment' not understood; ignored",
            "column 'elevation' not understood; ignored",
        ],
    }


def test_profile_file_splits_on_the_sounding_column(tmp_path) -> None:
    path = tmp_path / "line1.csv"
    path.write_text("station,AB/2,rhoa\nV1,1,10\nV1,2,12\nV2,1,30\nV2,2,33\nV2,3,35\n")
    soundings = read_soundings(path)
    assert list(soundings) == ["V1", "V2"]
    assert soundings["V2"]["ab2_m"] == [1.0, 2.0, 3.0]


def test_single_sounding_file_uses_the_stem_as_id(tmp_path) -> None:
    path = tmp_path / "ves12.txt"
    path.write_text("AB/2 (m)  rho_a (ohm.m)\n1 10\n2 12\n")
    assert list(read_soundings(path)) == ["ves12"]
    assert read_observation(path) == {"ab2_m": [1.0, 2.0], "rho_a_ohmm": [10.0, 12.0]}


def test_utf8_bom_is_accepted(tmp_path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffAB/2,rhoa\n1,10\n2,11\n".encode())
    assert read_observation(path)["ab2_m"] == [1.0, 2.0]


def test_windows_line_endings() -> None:
    assert one("AB/2,rhoa\r\n1,10\r\n2,11\r\n") == {"ab2_m": [1.0, 2.0], "rho_a_ohmm": [10.0, 11.0]}
