"""Misfit measures against hand-computed values."""

import numpy as np
import pytest

from inversion.misfit import (
    chi,
    default_sigma,
    expected_share_within,
    rms_percent,
    weighted_residuals,
)


def test_chi_is_zero_for_exact_data_and_one_for_one_sigma_residuals() -> None:
    observed = np.array([100.0, 50.0, 20.0, 45.0, 30.0])
    is_phase = np.array([False, False, False, True, True])
    sigma = np.array([0.03, 0.03, 0.05, 1.0, 2.0])
    assert chi(observed, observed, is_phase, sigma) == pytest.approx(0.0)
    # ρa off by exactly one σ in log, phase off by exactly one σ in degrees.
    predicted = np.where(is_phase, observed + sigma, observed * np.exp(sigma))
    np.testing.assert_allclose(
        weighted_residuals(observed, predicted, is_phase, sigma), np.ones(5), rtol=1e-12
    )
    assert chi(observed, predicted, is_phase, sigma) == pytest.approx(1.0, rel=1e-12)


def test_chi_broadcasts_over_a_batch() -> None:
    observed = np.array([[10.0, 20.0, 30.0], [1.0, 2.0, 3.0]])
    predicted = observed * np.exp(np.array([[0.06], [0.03]]))
    is_phase = np.zeros(3, dtype=bool)
    np.testing.assert_allclose(chi(observed, predicted, is_phase, np.full(3, 0.03)), [2.0, 1.0])


def test_rms_percent_of_a_uniform_two_percent_error() -> None:
    observed = np.array([10.0, 100.0, 1000.0])
    assert rms_percent(observed, observed * 1.02, np.zeros(3, bool)) == pytest.approx(2.0)
    # Phases are relative too: 45° → 45.9° is 2 %.
    assert rms_percent(np.array([45.0]), np.array([45.9]), np.array([True])) == pytest.approx(2.0)


def test_default_sigma_uses_fraction_for_rho_a_and_degrees_for_phase() -> None:
    sigma = default_sigma(np.array([False, True]), 0.03, 1.5)
    np.testing.assert_array_equal(sigma, [0.03, 1.5])


@pytest.mark.parametrize(("n_data", "n_params"), [(12, 3), (30, 7), (60, 11)])
def test_expected_share_within_matches_linear_least_squares(n_data, n_params):
    """The χ² ceiling against Monte Carlo: exact linear least-squares fits to data with unit
    Gaussian errors reach χ ≤ 1.2 as often as the formula says (binomial error ≈ 0.5 %)."""
    rng = np.random.default_rng(7)
    design = rng.normal(size=(n_data, n_params))
    truth = rng.normal(size=n_params)
    data = design @ truth + rng.normal(size=(8000, n_data))
    fitted, *_ = np.linalg.lstsq(design, data.T, rcond=None)
    chis = np.sqrt(np.mean((data - (design @ fitted).T) ** 2, axis=1))
    expected = expected_share_within(1.2, n_data, n_params)
    assert abs(np.mean(chis <= 1.2) - expected) < 0.015
    # the truth itself (no parameters fitted) lands below 1.2 less often
    assert expected_share_within(1.2, n_data, 0) < expected


def test_expected_share_within_is_one_without_degrees_of_freedom():
    assert expected_share_within(1.2, 5, 5) == 1.0
    assert expected_share_within(1.2, 3, 9) == 1.0
