"""Refinement against the real forward solvers: recovery, fixed parameters, bounds, resolution."""

import numpy as np
import pytest

import forward_models
from bpnet.refine import linearised_covariance, refine, resolved_combinations

LOWER = np.array([1.0, 1.0, 1.0, 0.5, 0.5])
UPPER = np.array([5000.0, 5000.0, 5000.0, 100.0, 100.0])


@pytest.fixture(scope="module")
def ves():
    fm = forward_models.create("ves-schlumberger", n_layers=3, ab2_m=np.geomspace(1, 300, 20))

    def forward(models: np.ndarray) -> np.ndarray:
        return fm.forward(models, precision="double")

    return forward, np.zeros(fm.n_data, bool), np.full(fm.n_data, 0.03)


def test_noise_free_data_are_fitted_and_the_model_recovered(ves) -> None:
    forward, is_phase, sigma = ves
    true = np.array([100.0, 10.0, 1000.0, 5.0, 20.0])
    observed = forward(true)[0]
    start = true * np.array([1.5, 0.6, 0.7, 1.4, 0.8])
    out = refine(
        forward,
        start,
        observed,
        sigma,
        is_phase,
        LOWER,
        UPPER,
        target_chi=0.0,
        max_evaluations=60,
        ftol=1e-10,
    )
    assert out.chi < 0.05
    np.testing.assert_allclose(np.log10(out.model), np.log10(true), atol=0.01)
    np.testing.assert_allclose(out.predicted, observed, rtol=2e-3)
    # One batched forward call per Jacobian: far fewer models than iterations × parameters² .
    assert out.n_forward_models < 60 * 6


def test_a_fixed_parameter_keeps_its_value_and_gets_zero_variance(ves) -> None:
    forward, is_phase, sigma = ves
    true = np.array([100.0, 10.0, 1000.0, 5.0, 20.0])
    observed = forward(true)[0]
    fixed = [None, None, None, 5.0, None]
    out = refine(
        forward,
        true * 1.3,
        observed,
        sigma,
        is_phase,
        LOWER,
        UPPER,
        fixed,
        target_chi=0.0,
        max_evaluations=60,
        ftol=1e-10,
    )
    assert out.model[3] == pytest.approx(5.0, rel=1e-12)
    assert out.log10_std[3] == 0.0
    assert out.log10_std[0] > 0.0
    np.testing.assert_allclose(np.log10(out.model), np.log10(true), atol=0.01)


def test_bounds_are_honoured_when_the_truth_lies_outside(ves) -> None:
    forward, is_phase, sigma = ves
    true = np.array([20000.0, 10.0, 1000.0, 5.0, 20.0])  # top layer 4× above the upper bound
    observed = forward(true)[0]
    out = refine(
        forward, np.array([100.0, 10.0, 1000.0, 5.0, 20.0]), observed, sigma, is_phase, LOWER, UPPER
    )
    assert np.all(out.model >= LOWER) and np.all(out.model <= UPPER)
    assert out.model[0] == pytest.approx(5000.0, rel=1e-3)
    assert out.chi > 5.0


def test_restarts_take_the_best_start(ves) -> None:
    forward, is_phase, sigma = ves
    true = np.array([100.0, 10.0, 1000.0, 5.0, 20.0])
    observed = forward(true)[0]
    bad = np.array([1.0, 5000.0, 1.0, 100.0, 0.5])
    out = refine(
        forward,
        np.vstack([bad, true * 1.1]),
        observed,
        sigma,
        is_phase,
        LOWER,
        UPPER,
        max_evaluations=3,
    )
    assert out.n_starts == 2
    assert out.chi <= 1.2


def test_thin_conductor_resolves_conductance_and_thin_resistor_transverse_resistance(ves) -> None:
    forward, is_phase, sigma = ves
    conductor = np.array([100.0, 5.0, 100.0, 10.0, 2.0])
    cov = linearised_covariance(
        forward, conductor, forward(conductor)[0], sigma, is_phase, LOWER, UPPER
    )
    layer2 = resolved_combinations(conductor, cov, 3)[1]
    assert layer2["best_resolved"] == "conductance"
    assert layer2["conductance_s"] == pytest.approx(0.4)
    assert layer2["conductance_std_log10"] < 0.1 < np.sqrt(cov[1, 1])

    resistor = np.array([100.0, 2000.0, 100.0, 10.0, 2.0])
    cov = linearised_covariance(
        forward, resistor, forward(resistor)[0], sigma, is_phase, LOWER, UPPER
    )
    layer2 = resolved_combinations(resistor, cov, 3)[1]
    assert layer2["best_resolved"] == "transverse_resistance"
    assert layer2["transverse_resistance_ohmm2"] == pytest.approx(4000.0)


def test_unresolved_parameters_tend_to_the_prior_std(ves) -> None:
    forward, is_phase, sigma = ves
    # A 0.5 m layer of the same resistivity as its neighbours is invisible to these spacings.
    model = np.array([100.0, 100.0, 100.0, 20.0, 0.5])
    cov = linearised_covariance(forward, model, forward(model)[0], sigma, is_phase, LOWER, UPPER)
    prior_std = np.log10(UPPER[4] / LOWER[4]) / np.sqrt(12.0)
    assert np.sqrt(cov[4, 4]) == pytest.approx(prior_std, rel=0.05)
    assert np.sqrt(cov[0, 0]) < 0.05


def test_a_gaussian_prior_holds_parameters_the_data_cannot_see(ves) -> None:
    forward, is_phase, sigma = ves
    model = np.array([100.0, 100.0, 100.0, 20.0, 5.0])  # a half-space: thicknesses invisible
    observed = forward(model)[0]
    mean = np.log10([100.0, 100.0, 100.0, 8.0, 3.0])
    std = np.array([0.5, 0.5, 0.5, 0.1, 0.2])
    start = np.array([120.0, 90.0, 110.0, 40.0, 20.0])
    out = refine(
        forward,
        start,
        observed,
        sigma,
        is_phase,
        LOWER,
        UPPER,
        target_chi=0.0,
        ftol=1e-10,
        max_evaluations=60,
        prior=(mean, std),
    )
    np.testing.assert_allclose(np.log10(out.model[3:]), mean[3:], atol=0.02)
    assert out.chi < 0.1
    # Posterior std: the prior's for the invisible thicknesses, far below it for the resistivity.
    np.testing.assert_allclose(out.log10_std[3:], std[3:], rtol=0.02)
    assert out.log10_std[0] < 0.05
