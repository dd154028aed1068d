"""DataMisfitLoss: the data misfit of a network's answer as bpnet's output_loss."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import forward_models
from inversion import Inverter
from inversion.misfit import chi, default_sigma
from inversion.observations import phase_mask
from inversion.physics_loss import DataMisfitLoss
from inversion.transforms import DataTransform, ParameterTransform


def setup(name: str, **geometry):
    fm = forward_models.create(name, n_layers=3, **geometry)
    space = forward_models.ModelSpace.for_forward_model(fm)
    train = forward_models.generate_dataset(fm, space, 2000, seed=1)
    data_t = DataTransform(fm.data_kinds).fit(train.data)
    param_t = ParameterTransform(fm.n_params).fit(train.models)
    sigma = default_sigma(phase_mask(fm.data_kinds), 0.03, 1.0)
    loss = DataMisfitLoss(fm, data_t, param_t, sigma, space.lower, space.upper, weight=0.5)
    return fm, space, data_t, param_t, sigma, loss


CASES = {
    "ves": ("ves-schlumberger", {"ab2_m": np.geomspace(1.0, 300.0, 15), "mn2_m": 0.3}),
    "mt": ("mt-1d", {"periods_s": np.geomspace(1e-3, 10.0, 12)}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_value_is_the_weighted_chi_squared_of_the_answer(case) -> None:
    name, geometry = CASES[case]
    fm, space, data_t, param_t, sigma, loss = setup(name, **geometry)
    truth = space.sample(20, sampler="random", seed=5)
    observed = forward_models.NoiseModel(0.03, 1.0).apply(fm.forward(truth), fm.data_kinds, rng=3)
    answer = truth * 1.2  # not the truth: a misfit to measure
    value, grad = loss(data_t.transform(observed), param_t.transform(answer))
    chis = chi(observed, fm.forward(answer, precision="double"), phase_mask(fm.data_kinds), sigma)
    # MT's loss runs in float32 (loss_precision): within its rounding, not float64's
    assert loss.precision == ("single" if case == "mt" else "double")
    rel = 1e-4 if loss.precision == "single" else 1e-9
    assert value == pytest.approx(0.5 * np.sum(chis**2), rel=rel)
    assert grad.shape == truth.shape and np.abs(grad).max() > 0


@pytest.mark.parametrize("case", sorted(CASES))
def test_gradient_matches_finite_differences(case) -> None:
    name, geometry = CASES[case]
    fm, space, data_t, param_t, _sigma, loss = setup(name, **geometry)
    truth = space.sample(6, sampler="random", seed=7)
    inputs = data_t.transform(fm.forward(truth))
    outputs = param_t.transform(truth * np.array([1.5, 0.7, 1.3, 0.8, 1.4]))
    _, served_grad = loss(inputs, outputs)  # MT: float32 (loss_precision)
    loss.precision = "double"  # central differences of 10⁻⁶ need float64
    _, grad = loss(inputs, outputs)
    np.testing.assert_allclose(served_grad, grad, rtol=1e-3, atol=1e-4 * np.abs(grad).max())
    numeric = np.zeros_like(outputs)
    eps = 1e-6
    for i in range(outputs.shape[0]):
        for j in range(outputs.shape[1]):
            up, down = outputs.copy(), outputs.copy()
            up[i, j] += eps
            down[i, j] -= eps
            numeric[i, j] = (loss(inputs, up)[0] - loss(inputs, down)[0]) / (2 * eps)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-6 * np.abs(numeric).max())


def test_outputs_far_outside_the_bounds_are_clipped_without_gradient() -> None:
    fm, space, data_t, param_t, _sigma, loss = setup(*CASES["ves"][:1], **CASES["ves"][1])
    truth = space.sample(3, sampler="random", seed=9)
    outputs = param_t.transform(truth)
    outputs[:, 0] = 1e3  # ρ1 = 10^(huge): beyond the clip
    value, grad = loss(data_t.transform(fm.forward(truth)), outputs)
    assert np.isfinite(value)
    assert np.all(grad[:, 0] == 0) and np.abs(grad[:, 1:]).max() > 0


def test_a_forward_model_without_exact_derivatives_is_refused() -> None:
    class NoJacobian:
        name = "no-jacobian"
        data_kinds = ("rho_a",)

    with pytest.raises(ValueError, match="no exact vector–Jacobian product"):
        DataMisfitLoss(NoJacobian(), None, None, np.ones(1), np.ones(1), np.ones(1), 1.0)


def test_an_inverter_trained_with_the_misfit_term_fits_the_data_better_on_its_own() -> None:
    """Network-only χ on held-out calibration soundings (``metrics_["network_chi_median"]``)
    drops when the training loss carries the data misfit; the setting is saved and loaded."""
    fm = forward_models.create("mt-1d", n_layers=3, periods_s=np.geomspace(1e-3, 10.0, 12))
    space = forward_models.ModelSpace.for_forward_model(fm)
    noise = forward_models.NoiseModel(0.03, 1.0)
    train = forward_models.generate_dataset(fm, space, 4000, seed=1, noise=noise)
    keywords = {"hidden": 32, "max_epochs": 40, "learning_rate": 3e-3}
    chis = {}
    for weight in (0.0, 0.1):
        inv = Inverter(fm, space, noise, network=keywords, n_members=1, data_misfit_weight=weight)
        inv.fit(train.models, train.data)
        chis[weight] = inv.metrics_["network_chi_median"]
    assert chis[0.1] < 0.7 * chis[0.0], chis
    with pytest.raises(ValueError, match="data_misfit_weight must be >= 0"):
        Inverter(fm, space, noise, data_misfit_weight=-1.0).fit(train.models, train.data)


def test_the_weight_is_saved_and_old_files_load_without_it(tmp_path) -> None:
    old = Inverter.load(str(Path(__file__).parents[1] / "data" / "old_inverter_v010.npz"))
    assert old.data_misfit_weight == 0.0
    fm = forward_models.create("mt-1d", n_layers=2, periods_s=np.geomspace(1e-3, 10.0, 8))
    space = forward_models.ModelSpace.for_forward_model(fm)
    train = forward_models.generate_dataset(fm, space, 800, seed=2)
    inv = Inverter(fm, space, network={"hidden": 4, "max_epochs": 2}, n_members=1)
    inv.data_misfit_weight = 0.05
    inv.fit(train.models, train.data)
    inv.save(str(tmp_path / "inv.npz"))
    assert Inverter.load(str(tmp_path / "inv.npz")).data_misfit_weight == 0.05
