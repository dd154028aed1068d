"""Misfit measures against hand-computed values."""

import numpy as np
import pytest

from inversion.misfit import chi, default_sigma, rms_percent, weighted_residuals


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
