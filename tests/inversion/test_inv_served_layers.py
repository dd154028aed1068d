"""Honest layer choice on the per-geometry path: each candidate refined on to its minimum."""

import numpy as np
import pytest
from inverter_helpers import AB2_M, train

from inversion.inverter import observation_from_data
from inversion.layers import choose_layer_count, minimum_chi


@pytest.fixture(scope="module")
def two_three(ves_inverter):
    return {2: train("ves-schlumberger", 2, ab2_m=AB2_M), 3: ves_inverter}


def test_minimum_chi_goes_below_the_stopping_rule(ves_inverter):
    fm = ves_inverter.forward_model
    obs = observation_from_data(fm, fm.forward([100.0, 10.0, 1000.0, 5.0, 20.0])[0])
    result = ves_inverter.invert([obs], refine=True)[0]
    found = minimum_chi(ves_inverter, obs, result)
    assert found <= result["misfit"]["chi"]
    assert found < 0.05  # noise-free data: the minimum is (nearly) zero, not the χ ≤ 1 stop


def test_candidates_carry_the_minimum_and_the_choice_uses_it(two_three):
    fm = two_three[3].forward_model
    rng = np.random.default_rng(3)
    data = fm.forward([100.0, 10.0, 1000.0, 5.0, 20.0])[0]
    data *= 1 + 0.02 * rng.standard_normal(data.size)
    choice = choose_layer_count(two_three, [observation_from_data(fm, data)])[0]
    assert choice["n_layers"] == 3
    for c in choice["candidates"]:
        assert c["chi_minimum"] <= c["chi"]
        k, n = c["n_free_params"], c["n_data"]
        assert c["bic"] == pytest.approx(n * c["chi_minimum"] ** 2 + k * np.log(n))
        assert isinstance(c["unresolved"], list)
