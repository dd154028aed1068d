"""The linearised posterior of a refined model: covariance of log10 m and resolved combinations.

At the final model the covariance of ``log10 m`` is::

    C = (JᵀJ + P)⁻¹,   P = diag(1/σ²) (Gaussian prior)  or  diag(12 / w_j²) (uniform prior)

where J is the weighted-residual Jacobian and ``w_j`` the width of parameter j's bounds in
decades (the Gaussian approximation of the uniform prior over the bounds). The prior term keeps C
finite for unresolved parameters (their std then approaches the prior's). Fixed parameters get
zero variance. Layer by layer, conductance and transverse resistance may be resolved where ρ and
h alone are not (:func:`resolved_combinations`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from .misfit import weighted_residuals

__all__ = [
    "ForwardFn",
    "JacobianFn",
    "batch_covariance",
    "covariance",
    "linearised_covariance",
    "resolved_combinations",
]

#: models (k, p) → data (k, n_data) on one geometry
ForwardFn = Callable[[np.ndarray], np.ndarray]
#: models (k, p) → (data (k, n_data), ∂data/∂ln m (k, n_data, p)); ``MT1D.forward_and_jacobian``
JacobianFn = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def covariance(
    jac_free: np.ndarray,
    free: np.ndarray,
    width_log10: np.ndarray,
    prior_std: np.ndarray | None = None,
) -> np.ndarray:
    """(JᵀJ + P)⁻¹ on the free parameters, zero rows/columns for fixed ones (n_params²).

    ``P`` = diag(1/prior_std²) with a Gaussian prior (free parameters), else the Gaussian
    approximation diag(12/w²) of the uniform prior over the bounds.
    """
    n_params = free.size
    cov = np.zeros((n_params, n_params))
    if jac_free.shape[1] == 0:
        return cov
    if prior_std is None:
        prior = np.diag(12.0 / np.maximum(width_log10[free], 1e-6) ** 2)
    else:
        prior = np.diag(1.0 / np.asarray(prior_std, dtype=float) ** 2)
    cov_free = np.linalg.inv(jac_free.T @ jac_free + prior)
    idx = np.flatnonzero(free)
    cov[np.ix_(idx, idx)] = 0.5 * (cov_free + cov_free.T)
    return cov


def batch_covariance(
    jac: np.ndarray, free: np.ndarray, width_log10: np.ndarray, prior_std: np.ndarray | None
) -> np.ndarray:
    """(JᵀJ + P)⁻¹ per sounding on the free parameters; zero rows/columns for fixed ones.

    ``jac`` (n, n_data, p) (columns of fixed parameters are ignored); ``free`` (n, p) bool;
    ``width_log10`` (p,) or (n, p); ``prior_std`` (n, p) or None: P = diag(1/std²), and
    diag(12/w²) (the uniform prior's approximation) where there is no Gaussian prior (None or an
    infinite std).
    """
    n, _, p = jac.shape
    precision = np.broadcast_to(12.0 / np.maximum(width_log10, 1e-6) ** 2, (n, p))
    if prior_std is not None:
        std = np.asarray(prior_std, dtype=float)
        precision = np.where(np.isfinite(std), 1.0 / std**2, precision)
    a = np.matmul(jac.transpose(0, 2, 1), jac)
    a[:, np.arange(p), np.arange(p)] += np.where(free, precision, 1.0)
    mask = free[:, :, None] & free[:, None, :]
    eye = np.broadcast_to(np.eye(p, dtype=bool), a.shape)
    a = np.where(mask | eye, a, 0.0)
    cov = np.linalg.inv(a)
    cov = np.where(mask, cov, 0.0)
    return 0.5 * (cov + np.transpose(cov, (0, 2, 1)))


def resolved_combinations(
    model: np.ndarray, log10_cov: np.ndarray, n_layers: int
) -> list[dict[str, float | int | str]]:
    """Conductance and transverse resistance of each layer above the half-space.

    ``model`` (n_params,) ``[ρ1…ρN (Ω·m), h1…h(N−1) (m)]``; ``log10_cov`` its log10 covariance.
    For layer i: conductance ``S = h/ρ`` (siemens) and transverse resistance ``T = h·ρ`` (Ω·m²),
    each with the std of its log10. ``best_resolved`` names the combination whose std is less than
    half that of both ρ and h ("conductance", "transverse_resistance"), else "individually".
    """
    out: list[dict[str, float | int | str]] = []
    values = np.asarray(model, dtype=float).tolist()
    cov = np.asarray(log10_cov, dtype=float).tolist()
    for i in range(n_layers - 1):
        r, h = i, n_layers + i
        var_r, var_h, cross = max(cov[r][r], 0.0), max(cov[h][h], 0.0), cov[r][h]
        # log10 S = log10 h − log10 ρ and log10 T = log10 h + log10 ρ: aᵀCa with a = e_h ∓ e_ρ
        std_s = math.sqrt(max(var_h + var_r - 2.0 * cross, 0.0))
        std_t = math.sqrt(max(var_h + var_r + 2.0 * cross, 0.0))
        single = math.sqrt(min(var_r, var_h))
        best = "individually"
        if min(std_s, std_t) < 0.5 * single:
            best = "conductance" if std_s <= std_t else "transverse_resistance"
        out.append(
            {
                "layer": i + 1,
                "conductance_s": values[h] / values[r],
                "conductance_std_log10": std_s,
                "transverse_resistance_ohmm2": values[h] * values[r],
                "transverse_resistance_std_log10": std_t,
                "best_resolved": best,
            }
        )
    return out


def linearised_covariance(
    forward: ForwardFn,
    model: np.ndarray,
    observed: np.ndarray,
    sigma: np.ndarray,
    is_phase: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    fixed: Sequence[float | None] | Sequence[Sequence[float | None]] | None = None,
    *,
    step_log10: float = 5e-4,
) -> np.ndarray:
    """Linearised posterior covariance of log10 m at ``model`` (same formula as :func:`refine`).

    Batched: ``model`` (n, n_params) with ``observed``/``sigma`` (n, n_data) and ``fixed`` one
    list per sounding give (n, n_params, n_params) from ONE forward call of n·(n_params + 1)
    models; ``model`` (n_params,) gives (n_params, n_params). Used when a result is not refined.
    """
    single = np.ndim(model) == 1
    models = np.atleast_2d(np.asarray(model, dtype=float))
    n, n_params = models.shape
    observed = np.atleast_2d(np.asarray(observed, dtype=float))
    sigma = np.broadcast_to(np.asarray(sigma, dtype=float), observed.shape)
    if fixed is None:
        fixed_rows: list = [[None] * n_params] * n
    elif single:
        fixed_rows = [list(fixed)]
    else:
        fixed_rows = [list(row) for row in fixed]
    width = np.log10(np.asarray(upper, dtype=float)) - np.log10(np.asarray(lower, dtype=float))
    logs = np.log10(models)
    perturbed = logs[:, None, :] + np.vstack([np.zeros(n_params), step_log10 * np.eye(n_params)])
    pred = np.asarray(forward(10.0 ** perturbed.reshape(-1, n_params)), dtype=float)
    pred = pred.reshape(n, n_params + 1, -1)
    r = weighted_residuals(observed[:, None, :], pred, is_phase, sigma[:, None, :])
    r = np.where(np.isfinite(r), r, 1e6)
    jac = np.transpose((r[:, 1:, :] - r[:, :1, :]) / step_log10, (0, 2, 1))  # (n, n_data, p)
    free = np.array([[v is None for v in row] for row in fixed_rows], dtype=bool)
    out = batch_covariance(jac, free, width, None)
    return out[0] if single else out
