"""Data misfit: RMS of relative error (%) and χ with per-datum standard errors.

Conventions (data layout as the forward models: K apparent resistivities in Ω·m, then, for MT,
K phases in degrees):

* apparent resistivity residual: ``ln(ρa_pred / ρa_obs) / σ_rel`` (σ_rel a fraction, e.g. 0.03);
  for small errors this is the relative error over its standard deviation;
* phase residual: ``(φ_pred − φ_obs) / σ_φ`` with σ_φ in degrees;
* ``χ = sqrt(mean(r²))`` — 1 when the model fits to within the stated errors;
* ``rms_percent = 100·sqrt(mean(((pred − obs)/obs)²))`` over every datum (phases relative to
  ``max(φ_obs, 1°)`` so that a near-zero phase does not explode the figure).

All functions broadcast over leading batch dimensions: arrays ``(..., n_data)`` give ``(...)``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import chdtr

_MIN_PHASE_DEG = 1.0


def weighted_residuals(
    observed: np.ndarray, predicted: np.ndarray, is_phase: np.ndarray, sigma: np.ndarray
) -> np.ndarray:
    """Error-weighted residuals ``(..., n_data)`` (dimensionless).

    ``observed``/``predicted`` ``(..., n_data)`` in physical units; ``is_phase`` (n_data,) bool;
    ``sigma`` ``(..., n_data)`` relative fraction for ρa, degrees for phase.
    """
    observed = np.asarray(observed, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    is_phase = np.asarray(is_phase, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.log(np.where(is_phase, 1.0, predicted) / np.where(is_phase, 1.0, observed))
    diff = np.where(is_phase, predicted - observed, log_ratio)
    return diff / np.asarray(sigma, dtype=float)


def chi(
    observed: np.ndarray, predicted: np.ndarray, is_phase: np.ndarray, sigma: np.ndarray
) -> np.ndarray:
    """χ = RMS of error-weighted residuals, shape ``(...)``; non-finite predictions give ``inf``."""
    r = weighted_residuals(observed, predicted, is_phase, sigma)
    value = np.sqrt(np.einsum("...i,...i->...", r, r) / r.shape[-1])
    return np.where(np.isfinite(value), value, np.inf)


def rms_percent(observed: np.ndarray, predicted: np.ndarray, is_phase: np.ndarray) -> np.ndarray:
    """RMS of relative error in percent, shape ``(...)``."""
    observed = np.asarray(observed, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    denominator = np.where(is_phase, np.maximum(np.abs(observed), _MIN_PHASE_DEG), observed)
    rel = (predicted - observed) / denominator
    value = 100.0 * np.sqrt(np.einsum("...i,...i->...", rel, rel) / rel.shape[-1])
    return np.where(np.isfinite(value), value, np.inf)


def default_sigma(is_phase: np.ndarray, rho_a_rel: float, phase_deg: float) -> np.ndarray:
    """Per-datum standard errors (n_data,) from a noise floor (fraction for ρa, degrees)."""
    return np.where(np.asarray(is_phase, dtype=bool), float(phase_deg), float(rho_a_rel))


def expected_share_within(chi_max: float, n_data: int, n_params: int) -> float:
    """Probability that an exact least-squares fit with ``n_params`` free parameters to
    ``n_data`` data, whose Gaussian errors are those stated, reaches χ ≤ ``chi_max``.

    The fit's χ² (``n_data``·χ²) follows the χ² distribution of ``n_data − n_params`` degrees
    of freedom (linearised model; Gauss–Markov), so the probability is
    P(χ²_{n−k} ≤ n·χ_max²); 1 when the parameters are at least as many as the data. Averaged
    over synthetic soundings with the true parameter count, it is the share an answer that
    neither misses the minimum nor overfits can expect (bench/served_quality.py).
    """
    if n_data <= n_params:
        return 1.0
    return float(chdtr(n_data - n_params, n_data * chi_max * chi_max))
