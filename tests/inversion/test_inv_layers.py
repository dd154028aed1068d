"""Layer-count choice by BIC over a family of inverters (2, 3 and 4 layers)."""

import numpy as np
import pytest
from inverter_helpers import AB2_M, train

from inversion.inverter import InversionInputError, observation_from_data
from inversion.layers import choose_layer_count


@pytest.fixture(scope="module")
def family(ves_inverter):
    return {
        2: train("ves-schlumberger", 2, ab2_m=AB2_M),
        3: ves_inverter,
        4: train("ves-schlumberger", 4, ab2_m=AB2_M),
    }


def _observations(family, n_layers, models, noisy, seed):
    fm = family[n_layers].forward_model
    return [observation_from_data(fm, d) for d in noisy(family[3], models, seed, fm=fm)]


def test_two_layer_data_choose_two_layers(family, noisy) -> None:
    models = np.array([[30.0, 800.0, 6.0], [500.0, 20.0, 15.0], [100.0, 5.0, 40.0]])
    choices = choose_layer_count(family, _observations(family, 2, models, noisy, seed=21))
    assert [c["n_layers"] for c in choices] == [2, 2, 2]
    for choice in choices:
        assert len(choice["result"]["model"]["rho_ohmm"]) == 2
        bics = [c["bic"] for c in choice["candidates"]]
        assert bics == sorted(bics) and choice["candidates"][0]["delta_bic"] == 0.0
        assert {c["n_layers"] for c in choice["candidates"]} == {2, 3, 4}


def test_three_layer_data_choose_three_layers(family, noisy) -> None:
    models = np.array([[100.0, 10.0, 1000.0, 5.0, 20.0], [20.0, 800.0, 5.0, 4.0, 15.0]])
    choices = choose_layer_count(family, _observations(family, 3, models, noisy, seed=22))
    assert [c["n_layers"] for c in choices] == [3, 3]
    two = next(c for c in choices[0]["candidates"] if c["n_layers"] == 2)
    assert two["chi"] > 1.5 and two["delta_bic"] > 10.0
    chosen = next(c for c in choices[0]["candidates"] if c["n_layers"] == 3)
    assert chosen["n_free_params"] == 5


def test_the_family_must_be_consistent(family, mt_inverter) -> None:
    with pytest.raises(ValueError, match="same forward model"):
        choose_layer_count([family[2], mt_inverter], [])
    with pytest.raises(ValueError, match="once"):
        choose_layer_count([family[3], family[3]], [])


def test_an_inverter_whose_geometry_cannot_take_the_sounding_is_skipped(family, noisy) -> None:
    narrow = train("ves-schlumberger", 2, n_samples=1500, ab2_m=np.geomspace(1.0, 100.0, 15))
    models = np.array([[30.0, 800.0, 6.0]])
    obs = _observations(family, 2, models, noisy, seed=23)  # AB/2 up to 300 m
    choice = choose_layer_count([narrow, family[3]], obs)[0]
    assert choice["n_layers"] == 3
    assert [c["n_layers"] for c in choice["candidates"]] == [3]
    assert choice["skipped"][0]["n_layers"] == 2
    assert "outside the network's trained range" in choice["skipped"][0]["reason"]
    with pytest.raises(InversionInputError) as info:
        choose_layer_count([narrow], obs)
    assert info.value.status == 422
