"""Observation parsing: validation errors (field + status), geometry interpolation, errors."""

import numpy as np
import pytest

import forward_models
from inversion.observations import InversionInputError, parse_observation, validate_noise_floor

AB2 = np.geomspace(1.0, 300.0, 20)
PERIODS = np.geomspace(1e-3, 1e3, 20)
MODEL = np.array([100.0, 10.0, 1000.0, 5.0, 20.0])


@pytest.fixture(scope="module")
def ves():
    return forward_models.create("ves-schlumberger", n_layers=3, ab2_m=AB2)


@pytest.fixture(scope="module")
def mt():
    return forward_models.create("mt-1d", n_layers=3, periods_s=PERIODS)


def _ves_obs(fm, **changes):
    obs = {"ab2_m": AB2.tolist(), "rho_a_ohmm": fm.forward(MODEL)[0].tolist()}
    obs.update(changes)
    return obs


def _mt_obs(fm, **changes):
    data = fm.forward(MODEL)[0]
    obs = {
        "periods_s": PERIODS.tolist(),
        "rho_a_ohmm": data[:20].tolist(),
        "phase_deg": data[20:].tolist(),
    }
    obs.update(changes)
    return obs


def test_same_geometry_is_taken_as_is(ves, mt) -> None:
    p = parse_observation(_ves_obs(ves), ves)
    assert p.same_geometry and p.warnings == []
    np.testing.assert_array_equal(p.network_data, p.data)
    np.testing.assert_allclose(p.sigma, 0.03)
    p = parse_observation(_mt_obs(mt), mt)
    assert p.data.shape == (40,)
    np.testing.assert_allclose(p.sigma, [0.03] * 20 + [1.0] * 20)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"rho_a_ohmm": [100.0, float("nan")] + [50.0] * 18}, "rho_a_ohmm[1]"),
        ({"rho_a_ohmm": [100.0, 0.0] + [50.0] * 18}, "rho_a_ohmm[1]"),
        ({"rho_a_ohmm": [100.0, 20.0, -5.0] + [50.0] * 17}, "rho_a_ohmm[2]"),
        ({"rho_a_ohmm": [100.0] * 19}, "rho_a_ohmm"),
        ({"ab2_m": [1.0, 2.0], "rho_a_ohmm": [10.0, 20.0]}, "ab2_m"),
        ({"ab2_m": None}, "ab2_m"),
        ({"rho_a_ohmm": "lots"}, "rho_a_ohmm"),
        ({"rho_a_error_percent": -1.0}, "rho_a_error_percent"),
        ({"ab2_m": [1.0, 1.0] + AB2[2:].tolist()}, "ab2_m"),
    ],
)
def test_malformed_ves_data_are_400_naming_the_field(ves, change, field) -> None:
    with pytest.raises(InversionInputError) as info:
        parse_observation(_ves_obs(ves, **change), ves)
    assert info.value.status == 400
    assert info.value.field == field
    assert field.split("[")[0] in str(info.value)


def test_mt_phases_outside_0_90_and_missing_phases_are_400(mt) -> None:
    phases = [45.0] * 20
    phases[4] = 95.0
    with pytest.raises(InversionInputError) as info:
        parse_observation(_mt_obs(mt, phase_deg=phases), mt)
    assert (info.value.field, info.value.status) == ("phase_deg[4]", 400)
    obs = _mt_obs(mt)
    del obs["phase_deg"]
    with pytest.raises(InversionInputError, match="phase_deg is required"):
        parse_observation(obs, mt)


def test_geometry_outside_the_trained_range_is_422(ves) -> None:
    wide = np.geomspace(0.5, 300.0, 20)
    with pytest.raises(InversionInputError) as info:
        parse_observation(_ves_obs(ves, ab2_m=wide.tolist()), ves)
    assert (info.value.field, info.value.status) == ("ab2_m[0]", 422)
    narrow = np.geomspace(5.0, 300.0, 20)  # misses a decade the network needs
    with pytest.raises(InversionInputError) as info:
        parse_observation(_ves_obs(ves, ab2_m=narrow.tolist()), ves)
    assert (info.value.field, info.value.status) == ("ab2_m", 422)


def test_other_spacings_are_interpolated_in_log_space(ves) -> None:
    ab2 = np.geomspace(1.0, 300.0, 31)
    obs = {"ab2_m": ab2.tolist(), "rho_a_ohmm": ves.with_geometry(ab2_m=ab2).forward(MODEL)[0]}
    p = parse_observation(obs, ves)
    assert not p.same_geometry
    assert any("interpolated" in w for w in p.warnings)
    np.testing.assert_allclose(p.network_data, ves.forward(MODEL)[0], rtol=0.01)
    assert p.data.shape == (31,) and p.geometry["ab2_m"].shape == (31,)


def test_unsorted_data_are_sorted_with_a_warning(ves) -> None:
    obs = _ves_obs(ves)
    obs["ab2_m"], obs["rho_a_ohmm"] = obs["ab2_m"][::-1], obs["rho_a_ohmm"][::-1]
    p = parse_observation(obs, ves)
    assert p.same_geometry
    np.testing.assert_allclose(p.data, ves.forward(MODEL)[0])
    assert any("sorted" in w for w in p.warnings)


def test_per_datum_errors_are_floored(ves, mt) -> None:
    p = parse_observation(_ves_obs(ves, rho_a_error_percent=[1.0] * 10 + [10.0] * 10), ves)
    np.testing.assert_allclose(p.sigma, [0.03] * 10 + [0.10] * 10)
    p = parse_observation(_mt_obs(mt, phase_error_deg=2.5), mt, {"rho_a_rel": 0.05})
    np.testing.assert_allclose(p.sigma, [0.05] * 20 + [2.5] * 20)


def test_noise_floor_is_validated() -> None:
    assert validate_noise_floor(None) == {"rho_a_rel": 0.03, "phase_deg": 1.0}
    with pytest.raises(InversionInputError) as info:
        validate_noise_floor({"rho_a_rel": -0.1})
    assert info.value.field == "noise_floor.rho_a_rel"
    with pytest.raises(InversionInputError, match="unknown key"):
        validate_noise_floor({"rho": 0.1})


def test_overlapping_mn2_segments_are_kept_as_measured(ves) -> None:
    """Repeated AB/2 with different MN/2 (field segments) → every reading kept with its MN/2."""
    ab2 = np.array([1.0, 2.0, 5.0, 10.0, 10.0, 20.0, 50.0, 100.0, 300.0])
    mn2 = np.array([0.3, 0.3, 0.3, 0.3, 2.0, 2.0, 2.0, 2.0, 2.0])
    measured = forward_models.create("ves-schlumberger", n_layers=3, ab2_m=ab2, mn2_m=mn2)
    rho_a = measured.forward(MODEL)[0]
    obs = {"ab2_m": ab2.tolist(), "mn2_m": mn2.tolist(), "rho_a_ohmm": rho_a.tolist()}
    p = parse_observation(obs, ves)
    np.testing.assert_array_equal(p.geometry["ab2_m"], ab2)
    np.testing.assert_array_equal(p.geometry["mn2_m"], mn2)
    np.testing.assert_array_equal(p.data, rho_a)
    assert any("overlapping MN/2 segments" in w for w in p.warnings)
    # the network input at AB/2 = 10 m is the log-mean of the two readings there
    at_10 = np.interp(np.log10(10.0), np.log10(AB2), np.log10(p.network_data))
    assert 10**at_10 == pytest.approx(np.sqrt(rho_a[3] * rho_a[4]), rel=0.05)


def test_repeated_ab2_pair_is_refused(ves) -> None:
    ab2 = [1.0, 2.0, 5.0, 5.0, 10.0]
    obs = {"ab2_m": ab2, "mn2_m": [0.3, 0.3, 0.3, 0.3, 1.0], "rho_a_ohmm": [100.0] * 5}
    with pytest.raises(InversionInputError, match="repeated") as info:
        parse_observation(obs, ves)
    assert info.value.field == "ab2_m" and info.value.status == 400
    with pytest.raises(InversionInputError, match="repeated"):
        parse_observation({"ab2_m": ab2, "rho_a_ohmm": [100.0] * 5}, ves)


def test_field_phases_just_past_the_quadrant_within_errors_are_kept_with_a_warning(mt) -> None:
    phases = _mt_obs(mt)["phase_deg"]
    phases[0], phases[3] = -1.5, 91.0  # within 2 standard errors of 1 degree
    p = parse_observation(_mt_obs(mt, phase_deg=phases), mt)
    assert p.data[20] == -1.5 and p.data[23] == 91.0
    assert any("phase_deg[0] = -1.5, phase_deg[3] = 91" in w for w in p.warnings)
    phases[0] = -3.0  # 3 standard errors out
    with pytest.raises(InversionInputError, match="more than 2 standard errors") as info:
        parse_observation(_mt_obs(mt, phase_deg=phases), mt)
    assert (info.value.field, info.value.status) == ("phase_deg[0]", 400)
    # with a stated phase error of 2 degrees, -3 degrees is within 2 standard errors
    p = parse_observation(_mt_obs(mt, phase_deg=phases, phase_error_deg=2.0), mt)
    assert p.data[20] == -3.0 and p.warnings


def test_synthetic_phases_past_the_quadrant_are_no_error(mt) -> None:
    phases = _mt_obs(mt)["phase_deg"]
    phases[2] = -9.0
    p = parse_observation(_mt_obs(mt, phase_deg=phases), mt, synthetic=True)
    assert p.data[22] == -9.0 and not any("quadrant" in w or "[0, 90]" in w for w in p.warnings)


def test_reader_warnings_are_carried_into_the_observation(ves) -> None:
    note = "column 'k' not understood; ignored"
    p = parse_observation(_ves_obs(ves, warnings=[note]), ves)
    assert p.warnings[0] == note
    with pytest.raises(InversionInputError) as info:
        parse_observation(_ves_obs(ves, warnings=[note, 3]), ves)
    assert (info.value.field, info.value.status) == ("warnings[1]", 400)
    with pytest.raises(InversionInputError) as info:
        parse_observation(_ves_obs(ves, warnings=note), ves)
    assert info.value.field == "warnings"


def test_spacings_within_one_percent_of_the_trained_range_are_accepted(ves) -> None:
    digitised = AB2.copy()
    digitised[0], digitised[-1] = 0.995, 302.0  # 0.5 % and 0.7 % beyond the trained range
    p = parse_observation(_ves_obs(ves, ab2_m=digitised.tolist()), ves)
    assert not p.same_geometry and np.array_equal(p.geometry["ab2_m"], digitised)
    assert p.network_data.shape == (20,)
    digitised[0] = 0.98  # 2 % beyond
    with pytest.raises(InversionInputError) as info:
        parse_observation(_ves_obs(ves, ab2_m=digitised.tolist()), ves)
    assert (info.value.field, info.value.status) == ("ab2_m[0]", 422)
