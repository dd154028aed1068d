"""Refinement against the real forward solvers: recovery, fixed parameters, bounds, resolution."""

import numpy as np
import pytest

import forward_models
from inversion.lm_batch import LMSettings, refine_batch
from inversion.refine import linearised_covariance, refine, resolved_combinations

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


def test_the_batched_levenberg_marquardt_agrees_with_scipy(ves) -> None:
    forward, is_phase, sigma = ves
    truth = np.array(
        [
            [100.0, 10.0, 1000.0, 5.0, 20.0],
            [20.0, 800.0, 5.0, 4.0, 15.0],
            [300.0, 30.0, 300.0, 2.0, 8.0],
        ]
    )
    observed = forward(truth)
    starts = truth * np.array([1.4, 0.7, 1.3, 0.8, 1.2])
    fixed = np.zeros_like(truth, dtype=bool)
    fixed[1, 3] = True
    starts[1, 3] = truth[1, 3]
    batch = refine_batch(
        forward,
        starts,
        observed,
        sigma,
        is_phase,
        LOWER,
        UPPER,
        fixed,
        settings=LMSettings(target_chi=0.0, ftol=1e-12, cost_tol=0.0, max_iterations=60),
    )
    assert batch.models[1, 3] == truth[1, 3]
    assert batch.log10_cov[1, 3, 3] == 0.0 and batch.log10_cov[1, 0, 3] == 0.0
    for i in range(3):
        ref = refine(
            forward,
            starts[i],
            observed[i],
            sigma,
            is_phase,
            LOWER,
            UPPER,
            [truth[1, 3] if fixed[i, j] else None for j in range(5)],
            target_chi=0.0,
            ftol=1e-12,
            max_evaluations=100,
        )
        assert batch.chi[i] < 0.05 and ref.chi < 0.05
        np.testing.assert_allclose(np.log10(batch.models[i]), np.log10(ref.model), atol=0.01)
        np.testing.assert_allclose(batch.log10_cov[i], ref.log10_cov, rtol=0.05, atol=1e-6)
        np.testing.assert_allclose(batch.predicted[i], forward(batch.models[i])[0])


def test_the_batched_refinement_stops_at_the_discrepancy_principle(ves) -> None:
    forward, is_phase, sigma = ves
    truth = np.array([[100.0, 10.0, 1000.0, 5.0, 20.0]])
    rng = np.random.default_rng(3)
    observed = forward(truth) * (1 + 0.03 * rng.standard_normal((1, 20)))
    out = refine_batch(forward, truth * 1.5, observed, sigma, is_phase, LOWER, UPPER)
    best = refine(
        forward,
        truth[0],
        observed[0],
        sigma,
        is_phase,
        LOWER,
        UPPER,
        target_chi=0.0,
        ftol=1e-12,
        max_evaluations=100,
    )
    # Either it reached χ ≤ 1 and stopped, or χ = 1 is out of reach and it found the minimum.
    assert out.chi[0] <= max(1.0, best.chi + 0.01)
    assert out.n_iterations[0] <= 12
    assert np.all(out.models >= LOWER) and np.all(out.models <= UPPER)
