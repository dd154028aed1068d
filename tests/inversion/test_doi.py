"""Depth of investigation (Christiansen & Auken 2012) and the served result's smooth model."""

from __future__ import annotations

import json

import numpy as np
import pytest

import forward_models
import inversion
from inversion.doi import (
    THRESHOLDS,
    cumulative_sensitivity,
    doi_m,
    doi_of_model,
    dois,
    length_unit_m,
)
from inversion.served import SearchSettings, ServedSet
from inversion.served.smooth_result import disagreements, smooth_part
from inversion.smooth_stack import depth_range_m, stack_thickness_m

FIELD = "tests/data/field/"
FLOOR = {"rho_a_rel": 0.05, "phase_deg": 1.5}
AB2_M = np.geomspace(1.0, 300.0, 20)

# error-weighted sensitivities of 2 data to 4 layers (the last a half-space), thicknesses 1, 2, 4 m:
# column sums s = [0.6, 0.4, 0.2, 0.1]; s* = s/t for the 3 layers = [0.6, 0.2, 0.05];
# from the bottom: S = [0.85, 0.25, 0.05]
JAC = np.array([[0.4, -0.2, 0.1, 0.05], [0.2, 0.2, -0.1, 0.05]])
THK = np.array([1.0, 2.0, 4.0])


def test_cumulative_sensitivity_by_hand():
    np.testing.assert_allclose(cumulative_sensitivity(JAC, THK), [0.85, 0.25, 0.05])
    np.testing.assert_allclose(cumulative_sensitivity(JAC, THK, 2.0), [1.7, 0.5, 0.1])


def test_doi_is_the_bottom_of_the_deepest_layer_above_the_threshold():
    assert doi_m(JAC, THK, 0.8) == 1.0  # only the first layer: S = 0.85 > 0.8
    assert doi_m(JAC, THK, 0.2) == 3.0  # first two layers
    assert doi_m(JAC, THK, 0.01) == 7.0
    assert doi_m(JAC, THK, 0.9) == 0.0  # none
    # thicknesses in units of u = 7/300 m (the stack is 7 m deep) multiply S by u; with the
    # sensitivities ×50: S = 50·u·[0.85, 0.25, 0.05] = [0.992, 0.292, 0.058]
    assert length_unit_m(THK) == pytest.approx(7 / 300)
    assert dois(50 * JAC, THK) == {"standard": 1.0, "conservative": 0.0}


def test_conservative_never_deeper_than_standard_on_random_jacobians():
    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(3, 30))
        jac = rng.normal(size=(int(rng.integers(1, 40)), n)) * rng.uniform(0, 3)
        thk = rng.uniform(0.1, 50, n - 1)
        out = dois(jac, thk)
        assert out["conservative"] <= out["standard"]
    assert THRESHOLDS["conservative"] > THRESHOLDS["standard"]


def _ves_doi(scale: float) -> dict[str, float]:
    """The DOIs of a 3-layer VES model and geometry with every length × scale."""
    model = np.array([100.0, 10.0, 1000.0, 5.0 * scale, 20.0 * scale])
    ab2 = AB2_M * scale
    thk = stack_thickness_m(*depth_range_m("ab2_m", ab2, 1, 1), 30)
    fs = forward_models.create("ves-schlumberger", n_layers=30, ab2_m=ab2)
    return doi_of_model(fs, model, 3, thk, np.full(ab2.size, 0.03), np.zeros(ab2.size, bool))


def test_doi_scales_with_the_sounding_and_grows_with_better_data():
    one, hundred = _ves_doi(1.0), _ves_doi(100.0)
    for name in THRESHOLDS:
        assert hundred[name] == pytest.approx(100.0 * one[name], rel=1e-6)
        assert 0 < one[name] < 600.0
    assert one["conservative"] <= one["standard"]
    model = np.array([100.0, 10.0, 1000.0, 5.0, 20.0])
    thk = stack_thickness_m(*depth_range_m("ab2_m", AB2_M, 1, 1), 30)
    fs = forward_models.create("ves-schlumberger", n_layers=30, ab2_m=AB2_M)
    noisy = doi_of_model(fs, model, 3, thk, np.full(20, 0.3), np.zeros(20, bool))
    assert noisy["standard"] < one["standard"]  # ten times the noise: a shallower DOI


def test_disagreement_is_found_only_where_the_smooth_model_lacks_the_interface():
    depth = np.geomspace(1.0, 1000.0, 29)
    layered = np.array([10.0, 1000.0, 30.0])  # 1 → 3 decades at 30 m
    flat = np.full(30, 1.5)
    assert disagreements(flat, depth, layered, 2, doi_m=500.0) == [30.0]
    assert disagreements(flat, depth, layered, 2, doi_m=20.0) == []  # below the DOI
    step = np.where(np.concatenate([[0.0], depth]) < 30.0, 1.0, 3.0)
    ramp = np.interp(np.log10(np.concatenate([[0.5], depth])), [0.8, 2.2], [1.0, 3.0])
    assert disagreements(step, depth, layered, 2, doi_m=500.0) == []
    assert disagreements(ramp, depth, layered, 2, doi_m=500.0) == []
    assert disagreements(4.0 - ramp, depth, layered, 2, doi_m=500.0) == [30.0]  # wrong sense


@pytest.fixture(scope="module")
def served() -> ServedSet:
    return ServedSet(max_layers=4, search=SearchSettings(n_draws=128, n_refined=8))


@pytest.mark.parametrize(
    "name",
    ["ves_schlumberger_boundiali_se1.csv", "mt_south_australia_pb23.edi"],
)
def test_served_result_carries_smooth_model_and_dois(served, name):
    (obs,) = inversion.read_soundings(FIELD + name).values()
    result = served.invert(obs, noise_floor=FLOOR)[0]
    json.dumps(result, allow_nan=False)
    sm = result["smooth"]
    n = len(sm["rho_ohmm"])
    assert 20 <= n <= 40
    for key, size in (("depth_m", n - 1), ("thickness_m", n - 1), ("p10", n), ("p90", n)):
        assert len(sm[key]) == size
        assert np.isfinite(sm[key]).all()
    np.testing.assert_allclose(np.cumsum(sm["thickness_m"]), sm["depth_m"])
    assert np.all(np.array(sm["p10"]) <= np.array(sm["rho_ohmm"]) * (1 + 1e-9))
    assert np.all(np.array(sm["p90"]) >= np.array(sm["rho_ohmm"]) * (1 - 1e-9))
    assert 0.5 < sm["misfit"]["chi"] <= 1.2
    assert sm["misfit"]["rms_percent"] > 0
    assert sm["lambda"] > 0 and sm["n_iterations"] >= 1
    assert isinstance(sm["consistent"], bool)
    for block in (sm, result):
        assert 0 < block["doi_m"]["conservative"] <= block["doi_m"]["standard"]
        assert block["doi_m"]["standard"] <= sm["depth_m"][-1]


def test_a_layered_model_the_data_do_not_support_gets_the_warning(served):
    fm = forward_models.create("ves-schlumberger", n_layers=1, ab2_m=AB2_M)
    rho_a = fm.forward(np.array([100.0]), precision="double")[0]
    obs = {"ab2_m": AB2_M.tolist(), "rho_a_ohmm": rho_a.tolist()}
    sounding = served.parse(obs, FLOOR)[0]
    wrong = np.array([100.0, 3000.0, 10.0])  # a strong resistor below 10 m the data do not show
    smooth, layered_doi, warnings = smooth_part(sounding, wrong, 2)
    assert smooth["consistent"] is False
    assert warnings and "10 m" in warnings[0]
    right = smooth_part(sounding, np.array([100.0]), 1)
    assert right[0]["consistent"] is True and right[2] == []
    assert smooth["misfit"]["chi"] <= 1.0 + 1e-9
