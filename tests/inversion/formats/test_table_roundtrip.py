"""Write a sounding, read it back: identical floats, for every delimiter and kind."""

from __future__ import annotations

import numpy as np
import pytest

from inversion.formats import read_observation, read_soundings, write_sounding, write_soundings

RNG = np.random.default_rng(7)
AB2 = np.geomspace(1.0, 300.0, 17)


def schlumberger() -> dict:
    return {
        "ab2_m": AB2.tolist(),
        "mn2_m": np.where(AB2 < 10, 0.5, 2.5).tolist(),
        "rho_a_ohmm": (100 * np.exp(RNG.normal(size=AB2.size))).tolist(),
        "rho_a_error_percent": RNG.uniform(1, 5, AB2.size).tolist(),
    }


def mt() -> dict:
    periods = np.geomspace(1e-3, 1e3, 13)
    return {
        "periods_s": periods.tolist(),
        "rho_a_ohmm": (50 * np.exp(RNG.normal(size=13))).tolist(),
        "phase_deg": RNG.uniform(10, 80, 13).tolist(),
        "rho_a_error_percent": RNG.uniform(1, 5, 13).tolist(),
        "phase_error_deg": RNG.uniform(0.5, 2, 13).tolist(),
    }


def wenner() -> dict:
    return {"a_m": [1 / 3, 1.0, 3.0, 10.0], "rho_a_ohmm": [0.1, 2.5e4, 1e-3 + 1e-17, 7.0]}


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".txt"])
@pytest.mark.parametrize("make", [schlumberger, mt, wenner])
def test_round_trip_is_identical(tmp_path, suffix: str, make) -> None:
    observation = make()
    path = write_sounding(observation, tmp_path / f"sounding{suffix}")
    assert read_observation(path) == observation


def test_scalar_mn2_is_written_per_row(tmp_path) -> None:
    observation = {"ab2_m": [1.0, 2.0, 4.0], "mn2_m": 0.5, "rho_a_ohmm": [10.0, 11.0, 12.0]}
    back = read_observation(write_sounding(observation, tmp_path / "s.csv"))
    assert back["mn2_m"] == [0.5, 0.5, 0.5]


@pytest.mark.parametrize("suffix", [".csv", ".txt"])
def test_profile_round_trip(tmp_path, suffix: str) -> None:
    soundings = {"VES-1": schlumberger(), "VES-2": schlumberger(), "VES-3": schlumberger()}
    path = write_soundings(soundings, tmp_path / f"profile{suffix}")
    assert read_soundings(path) == soundings


def test_profile_with_different_fields_is_refused(tmp_path) -> None:
    with pytest.raises(ValueError, match="fields differ"):
        write_soundings({"a": schlumberger(), "b": wenner()}, tmp_path / "p.csv")
