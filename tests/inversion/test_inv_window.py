"""The abscissa window: data outside [min, max] dropped alike in every per-datum list."""

from __future__ import annotations

import pytest

from inversion.input_checks import InversionInputError
from inversion.window import window_observation

MT = {
    "periods_s": [0.01, 0.1, 1.0, 10.0, 100.0, 1000.0],
    "rho_a_ohmm": [10.0, 20.0, 30.0, 40.0, 50.0, 60.0],
    "phase_deg": [40.0, 41.0, 42.0, 43.0, 44.0, 45.0],
    "rho_a_error_percent": 5.0,
    "phase_error_deg": [1.0, 1.1, 1.2, 1.3, 1.4, 1.5],
    "warnings": ["a reader's note"],
}


def test_every_list_of_the_abscissa_length_is_cut_alike():
    out = window_observation(MT, 0.1, 100.0)
    assert out["periods_s"] == [0.1, 1.0, 10.0, 100.0]  # the bounds are inside
    assert out["rho_a_ohmm"] == [20.0, 30.0, 40.0, 50.0]
    assert out["phase_deg"] == [41.0, 42.0, 43.0, 44.0]
    assert out["phase_error_deg"] == [1.1, 1.2, 1.3, 1.4]
    assert out["rho_a_error_percent"] == 5.0  # a scalar stays
    assert out["warnings"] == [
        "a reader's note",
        "2 of 6 data outside the window [0.1, 100] s of periods_s dropped",
    ]
    assert MT["periods_s"][0] == 0.01 and len(MT["warnings"]) == 1  # the input is not changed


def test_open_sides_and_a_window_that_keeps_everything():
    assert window_observation(MT, None, 5.0)["periods_s"] == [0.01, 0.1, 1.0]
    assert window_observation(MT, 5.0, None)["rho_a_ohmm"] == [40.0, 50.0, 60.0]
    same = window_observation(MT, 1e-3, 1e4)
    assert same == MT and same is not MT
    tem = {
        "times_s": [1e-4, 2e-4, 4e-4, 8e-4],
        "dbzdt_v_per_am2": [4, 3, 2, 1],
        "gate_open_s": [0.9e-4, 1.9e-4, 3.9e-4, 7.9e-4],
        "loop_side_m": 4.0,
    }
    cut = window_observation(tem, 1.5e-4)
    assert cut["gate_open_s"] == [1.9e-4, 3.9e-4, 7.9e-4] and cut["loop_side_m"] == 4.0


@pytest.mark.parametrize(
    ("lower", "upper", "field", "words"),
    [
        (10.0, 1.0, "window", "min 10 must be below max 1"),
        (-1.0, None, "window.min", "positive finite"),
        (None, float("nan"), "window.max", "positive finite"),
        ("1", None, "window.min", "must be a number"),
        (2.0, 300.0, "window", "keeps 2 of 6 data; at least 3"),
    ],
)
def test_refusals_are_clear_400s(lower, upper, field, words):
    with pytest.raises(InversionInputError, match=words) as info:
        window_observation(MT, lower, upper)
    assert info.value.field == field and info.value.status == 400


def test_an_observation_without_one_abscissa_is_refused():
    with pytest.raises(InversionInputError, match="exactly one of"):
        window_observation({"rho_a_ohmm": [1.0, 2.0, 3.0]}, 1.0, 2.0)


def test_malformed_reader_notes_are_left_for_the_parser_to_refuse():
    from inversion.served.parse import parse_served

    obs = dict(MT, warnings="not a list")
    out = window_observation(obs, 0.1, None)
    assert out["warnings"] == "not a list"
    with pytest.raises(InversionInputError, match="warnings must be a list"):
        parse_served(out, {"rho_a_rel": 0.05, "phase_deg": 1.5})


def test_a_tem_sounding_s_reversed_gates_are_cut_by_the_same_window():
    obs = {
        "times_s": [1e-5, 2e-5, 4e-5, 8e-5],
        "dbzdt_v_per_am2": [1e-3, 2e-4, 3e-5, 4e-6],
        "reversed_gates": {
            "times_s": [1e-4, 2e-4],
            "dbzdt_v_per_am2": [-1e-7, -5e-8],
            "dbzdt_error_percent": [5.0, 9.0],
        },
    }
    cut = window_observation(obs, None, 1.5e-4)
    assert cut["times_s"] == obs["times_s"]  # every fitted gate is inside
    assert cut["reversed_gates"] == {
        "times_s": [1e-4],
        "dbzdt_v_per_am2": [-1e-7],
        "dbzdt_error_percent": [5.0],
    }
    assert window_observation(obs, None, 9e-5)["reversed_gates"] is None
    assert window_observation(obs)["reversed_gates"] == obs["reversed_gates"]
