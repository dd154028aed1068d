"""TEM readers: USF, TEM-FAST text exports and TEM tables, recognised by content."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

import forward_models
from inversion.formats import FormatError, read_observation, read_soundings
from inversion.formats.tem_read import detect

DATA = Path(__file__).resolve().parents[2] / "data"
USF = DATA / "tem_terratem_XOC1.usf"
TEMFAST = DATA / "tem_temfast_salzlacken_P2.tem"
CSV_TEMFAST = DATA / "field" / "tem_temfast_hengstberg_P10_L01_loop12.5m.csv"
CSV_USF = DATA / "field" / "tem_terratem_xochimilco_XOC1_loop150m.csv"


def test_usf_terratem_single_loop(caplog):
    with caplog.at_level(logging.WARNING):
        obs = read_observation(USF)
    assert obs["receiver"] == "coincident" and obs["loop_side_m"] == 150.0
    assert obs["ramp_off_s"] == pytest.approx(1.233e-4) and obs["current_a"] == 3.86
    # 45 gates, 13 with zero or negative values (noise) dropped with a warning
    assert len(obs["times_s"]) == 32 and "13 gates" in obs["warnings"][0]
    assert "13 gates" in caplog.text
    assert obs["times_s"][0] == 1.7e-4 and obs["dbzdt_v_per_am2"][0] == pytest.approx(1.9296628e-05)
    assert obs["dbzdt_error_percent"][0] == pytest.approx(100 * 1.0752249e-05 / 1.9296628e-05)
    assert obs["gate_open_s"][5] == pytest.approx(3.95e-4)
    assert obs["gate_close_s"][5] == pytest.approx(4.95e-4)


def test_gates_that_open_during_the_turn_off_ramp_are_dropped_with_a_warning(tmp_path):
    """terraTEM VIV1 (300 m single loop, 167 µs ramp): gate 1 (168 ± 3 µs) opens 2 µs before
    the end of the ramp, which the forward model does not describe: it is dropped, not the
    whole sounding refused."""
    viv1 = DATA / "field_more" / "tem_terratem_viveros_VIV1_loop300m.csv"
    obs = read_observation(viv1)
    assert obs["ramp_off_s"] == pytest.approx(1.6695e-4)
    assert min(obs["gate_open_s"]) > obs["ramp_off_s"] and obs["times_s"][0] == 1.74e-4
    assert any(
        "1 gates that open before the end of the turn-off ramp" in w for w in obs["warnings"]
    )
    # without gate widths the centre time decides; too few gates after the ramp: a clear refusal
    text = CSV_TEXT.replace("# receiver: central\n", "# receiver: central\n# ramp_off_s: 3e-5\n")
    with pytest.raises(FormatError, match="only 1 usable gates .*after the turn-off ramp"):
        read_soundings(_write(tmp_path, "ramp.csv", text))
    early = read_observation(_write(tmp_path, "ok.csv", text.replace("3e-5", "5e-6")))
    assert len(early["times_s"]) == 3 and "warnings" not in early


def test_temfast_export_two_sets():
    soundings = read_soundings(TEMFAST)
    assert list(soundings) == ["TEM_P2_21", "TEM_P2_35"]
    big, small = soundings["TEM_P2_21"], soundings["TEM_P2_35"]
    assert big["loop_side_m"] == 50.0 and small["loop_side_m"] == 12.5
    assert big["receiver"] == "coincident" and big["current_a"] == 4.3
    # µs → s; E/I (V/A) / loop area → V/(A·m²)
    assert big["times_s"][0] == pytest.approx(4.06e-6)
    assert big["dbzdt_v_per_am2"][2] == pytest.approx(2.627 / 50.0**2)
    assert big["dbzdt_error_percent"][2] == pytest.approx(100 * 8.499e-4 / 2.627)
    assert len(big["times_s"]) == 40
    assert len(small["times_s"]) == 27 and "negative" in small["warnings"][0]  # last gate


def test_csv_copy_of_a_temfast_block_reads_as_it_is():
    obs = read_observation(CSV_TEMFAST)
    assert obs["receiver"] == "coincident" and obs["loop_side_m"] == 12.5
    assert len(obs["times_s"]) == 32
    assert obs["dbzdt_v_per_am2"][0] == pytest.approx(4.692e-2 / 12.5**2)


def test_csv_copy_of_the_usf_equals_the_usf():
    from_csv, from_usf = read_observation(CSV_USF), read_observation(USF)
    for key in ("times_s", "dbzdt_v_per_am2", "dbzdt_error_percent", "gate_open_s"):
        np.testing.assert_allclose(from_csv[key], from_usf[key])
    assert from_csv["ramp_off_s"] == from_usf["ramp_off_s"]


def test_csv_with_key_value_metadata(tmp_path):
    path = tmp_path / "sounding.txt"
    path.write_text(
        "# loop_radius_m: 20\n# receiver: central\n# ramp_off_s: 2e-6\n"
        "time_us\tdbzdt_v_per_am2\terror_percent\n10\t1e-3\t2\n20\t2e-4\t2\n40\t3e-5\t3\n"
    )
    obs = read_observation(path)
    assert obs["receiver"] == "central" and obs["loop_radius_m"] == 20.0
    assert obs["ramp_off_s"] == 2e-6 and obs["times_s"] == pytest.approx([1e-5, 2e-5, 4e-5])
    assert obs["dbzdt_error_percent"] == pytest.approx([2, 2, 3])


def test_files_are_recognised_by_content_not_extension(tmp_path):
    for source, kind in ((USF, "usf"), (TEMFAST, "temfast"), (CSV_USF, "csv")):
        renamed = tmp_path / f"data{kind}.dat"
        shutil.copy(source, renamed)
        assert detect(renamed.read_text(encoding="latin-1")) == kind
        assert read_soundings(renamed)
    assert detect("AB/2,rho_a\n1,100\n") is None


def test_published_model_reproduces_the_salzlacken_data():
    """The source's smooth 10-layer model, through our central-loop forward with its 4.3 µs
    ramp (the approximation the source inverted with), fits gates 7–40 to ~1.4 % RMS; without
    the ramp the early gates are off by up to 27 %."""
    obs = read_soundings(TEMFAST)["TEM_P2_21"]
    t, d = np.array(obs["times_s"]), np.array(obs["dbzdt_v_per_am2"])
    window = (t > 12e-6) & (t < 5000e-6)
    thk = [3.072, 4.015, 5.014, 6.280, 8.184, 10.536, 13.596, 17.543, 22.610]
    rho = [41.976, 33.668, 19.023, 11.974, 13.457, 16.666, 19.306, 20.068, 15.668, 20.699]
    rms = {}
    for ramp in (0.0, 4.3e-6):
        fm = forward_models.create(
            "tem-central-loop", n_layers=10, times_s=t[window], loop_side_m=50.0, ramp_off_s=ramp
        )
        rel = fm.forward(rho + thk)[0] / d[window] - 1
        rms[ramp] = np.sqrt(np.mean(rel**2))
    assert rms[4.3e-6] < 0.02 and rms[0.0] > 0.05


# -- refusals: one line naming file, line and field --------------------------------------------
def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _usf(tmp_path, body: str, extra: str = "") -> Path:
    head = (
        "//USF: Universal Sounding Format\n//SOUNDINGS: 1\n//END\n"
        f"/ARRAY: SINGLE LOOP TEM\n/VOLTAGE_UNITS: V/AM2\n/LOOP_SIZE: 50, 50\n{extra}"
        "/SWEEP_NUMBER: 1\n/CURRENT: 3.0\n/END\n"
    )
    return _write(tmp_path, "bad.usf", head + body)


USF_ROWS = (
    "INDEX, TIME, VOLTAGE, ERROR_BAR\n"
    "1, 1e-4, 1e-5, 1e-7\n2, 2e-4, 3e-6, 1e-7\n3, 4e-4, 1e-6, 1e-7\n"
)


@pytest.mark.parametrize(
    ("body", "extra", "line", "field", "words"),
    [
        (USF_ROWS.replace("3e-6", "abc"), "", 13, "VOLTAGE", "not a number"),
        (USF_ROWS.replace("VOLTAGE", "VOLTS"), "", 11, "VOLTAGE", "no VOLTAGE column"),
        (USF_ROWS.replace("2, 2e-4, 3e-6, 1e-7", "2, 2e-4, 3e-6"), "", 13, None, "3 values"),
        (USF_ROWS + "/END\n", "/VOLTAGE_UNITS: mV\n", 5, "VOLTAGE_UNITS", "not understood"),
        (USF_ROWS.replace("2e-4", "5e-5") + "/END\n", "", 13, "time", "not after"),
        (USF_ROWS, "", 10, None, "not closed by /END"),
    ],
)
def test_usf_refusals(tmp_path, body, extra, line, field, words):
    if not body.endswith("/END\n"):
        body = body + ("" if "closed" in words else "/END\n")
    path = _usf(tmp_path, body, extra)
    with pytest.raises(FormatError, match=words) as info:
        read_soundings(path)
    assert info.value.path == str(path) and info.value.field == field
    if line is not None:
        assert info.value.line is not None and "bad.usf" in str(info.value)
    assert "\n" not in str(info.value)


def test_usf_rectangular_loop_refused(tmp_path):
    text = _usf(tmp_path, USF_ROWS + "/END\n").read_text().replace("50, 50", "50, 100")
    path = _write(tmp_path, "rect.usf", text)
    with pytest.raises(FormatError, match="rectangular") as info:
        read_soundings(path)
    assert info.value.line == 6 and info.value.field == "LOOP_SIZE"


TEMFAST_BLOCK = (
    "TEM-FAST 48 HPC/S2 Date: Wed May 25 13:26:50 2022\n#Set A1\n"
    "Time-Range 4 Stacks 20 deff= 3 us I=4.1 A FILTR=50 Hz AMPLIFER=OFF\n"
    "T-LOOP (m) 12.500 R-LOOP (m) 12.500 TURN= 1\n"
    "Channel\tTime\tE/I[V/A]\tErr[V/A]\tRes[Ohm-m]\n"
    "1\t4.06\t4.692e-002\t4.612e-005\t39.64\n2\t5.07\t2.213e-002\t2.140e-005\t45.17\n"
    "3\t6.07\t1.227e-002\t1.215e-005\t49.53\n"
)


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "words"),
    [
        ("2.213e-002", "2.213e-0x2", 7, "E/I[V/A]", "not a number"),
        ("T-LOOP (m) 12.500 R-LOOP (m) 12.500 TURN= 1\n", "", 1, "T-LOOP", "loop size"),
        ("Channel", "Kanal", 1, "Channel", "column header"),
        ("\t5.07\t2.213e-002\t2.140e-005\t45.17", "\t5.07", 7, None, "values"),
        ("E/I[V/A]", "Volt", 5, "E/I[V/A]", "no E/I"),
    ],
)
def test_temfast_refusals(tmp_path, old, new, line, field, words):
    path = _write(tmp_path, "bad.tem", TEMFAST_BLOCK.replace(old, new))
    with pytest.raises(FormatError, match=words) as info:
        read_soundings(path)
    assert info.value.line == line and info.value.field == field
    assert str(info.value).startswith(f"bad.tem, line {line}")


CSV_TEXT = (
    "# loop_side_m: 40\n# receiver: central\ntime_s,dbzdt_v_per_am2\n"
    "1e-5,1e-3\n2e-5,2e-4\n4e-5,3e-5\n"
)


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "words"),
    [
        ("2e-4", "high", 5, "dbzdt_v_per_am2", "not a number"),
        ("# loop_side_m: 40\n", "", 2, "loop_side_m", "no loop size"),
        ("central", "dipole", 3, "receiver", "receiver 'dipole' unknown"),
        ("2e-5,2e-4", "2e-5,2e-4,7", 5, None, "3 values"),
        ("dbzdt_v_per_am2", "e_over_i_V_per_A", 3, "rx_area_m2", "receiver area"),
        ("2e-5,2e-4\n4e-5,3e-5", "2e-5,-2e-4\n4e-5,-3e-5", None, None, "only 1 usable gates"),
    ],
)
def test_csv_refusals(tmp_path, old, new, line, field, words):
    path = _write(tmp_path, "bad.csv", CSV_TEXT.replace(old, new))
    with pytest.raises(FormatError, match=words) as info:
        read_soundings(path)
    assert info.value.line == line and info.value.field == field
    assert "bad.csv" in str(info.value) and "\n" not in str(info.value)


def test_usf_two_sweeps_and_volts_per_ampere(tmp_path):
    """Each sweep is a sounding; V/A is divided by the receiver area (/COIL_SIZE)."""
    sweep = "/SWEEP_NUMBER: {n}\n/CURRENT: 2.0\n/END\n" + USF_ROWS + "/END\n"
    text = (
        "//USF: Universal Sounding Format\n//END\n/ARRAY: CENTRAL LOOP\n/VOLTAGE_UNITS: V/A\n"
        "/COIL_SIZE: 100.0\n/LOOP_SIZE: 40, 40\n/SOUNDING_NAME: S7\n"
        + sweep.format(n=1)
        + sweep.format(n=2)
    )
    soundings = read_soundings(_write(tmp_path, "two.usf", text))
    assert list(soundings) == ["S7", "S7-sweep2"]
    obs = soundings["S7"]
    assert obs["receiver"] == "central" and obs["loop_side_m"] == 40.0
    assert obs["dbzdt_v_per_am2"] == pytest.approx([1e-7, 3e-8, 1e-8])
    assert obs["dbzdt_error_percent"][0] == pytest.approx(1.0)


def _negative_gate_csv(tmp_path: Path, late_value: str) -> dict:
    text = (
        "# loop_side_m: 40\n# receiver: central\ntime_s,dbzdt_v_per_am2,error_v_per_am2\n"
        f"1e-5,1e-3,3e-5\n2e-5,2e-4,6e-6\n4e-5,3e-5,1e-6\n8e-5,{late_value},1e-7\n"
    )
    return read_observation(_write(tmp_path, "late.csv", text))


def test_negative_gates_within_their_errors_are_noise(tmp_path):
    obs = _negative_gate_csv(tmp_path, "-2e-7")  # 2 standard errors below zero
    assert len(obs["times_s"]) == 3
    assert obs["warnings"] == ["1 gates with zero or negative values (noise) dropped (lines 7)"]
    assert "reversed_gates" not in obs


def test_gates_far_below_zero_are_named_a_sign_reversal(tmp_path):
    """A central or coincident loop over a non-polarisable layered earth decays positively
    (Weidelt 1982): a gate 5 standard errors below zero is signal, and the warning says so."""
    obs = _negative_gate_csv(tmp_path, "-5e-7")
    assert len(obs["times_s"]) == 3
    (warning,) = obs["warnings"]
    assert "1 lie below zero by more than 3 standard errors (up to 5) from t = 8e-05 s" in warning
    assert "reverses sign" in warning and "induced polarisation" in warning
    assert obs["reversed_gates"]["times_s"] == [8e-05]


def test_real_sign_reversals_are_told_from_noise():
    """Hengstberg P08-25 and P05-25 (a site the source models with Cole–Cole IP) reverse sign
    late, by up to 147 and 6 standard errors; the other eight soundings of the export do not.
    terraTEM XOC1's 13 negative late gates scatter within 2.4 standard errors: noise."""
    soundings = read_soundings(DATA / "field_more" / "tem_temfast_hengstberg_p20_sel.tem")
    reversing = {
        name for name, obs in soundings.items() if "reverses sign" in str(obs.get("warnings"))
    }
    assert len(soundings) == 10 and reversing == {"P08-25", "P05-25"}
    # the gates below zero travel with the observation for the polarisable fit
    gates = {name: obs.get("reversed_gates") for name, obs in soundings.items()}
    assert {name for name, g in gates.items() if g} == reversing
    assert len(gates["P08-25"]["times_s"]) == 6 and len(gates["P05-25"]["times_s"]) == 11
    assert max(gates["P08-25"]["dbzdt_v_per_am2"]) < 0
    assert gates["P08-25"]["times_s"][0] == pytest.approx(59.41e-6)
    assert gates["P08-25"]["dbzdt_error_percent"][1] == pytest.approx(100 * 1.093e-3 / 1.609e-1)
    (xoc1,) = read_soundings(USF).values()
    assert "(noise)" in xoc1["warnings"][0] and "reverses sign" not in xoc1["warnings"][0]
