"""Refinement: damped Gauss–Newton (Levenberg–Marquardt) in log10-parameter space with bounds.

The network gives the start, the physics gives the fit. Over ``x = log10 m`` within the network's
bounds we minimise ``½ Σ r_i²`` with the error-weighted residuals of :mod:`inversion.misfit`, plus,
optionally, ``½ Σ ((x − μ)/σ)²`` for a Gaussian prior (the network's calibrated prediction).

* :func:`inversion.lm_batch.refine_batch` — the production solver: a projected Levenberg–Marquardt
  iteration vectorised over a batch of soundings (its own module).
* :func:`refine` — one sounding with ``scipy.optimize.least_squares(method="trf")`` (bounded
  trust-region Gauss–Newton), the Jacobian one batched forward call of the ``n_free`` perturbed
  models; the reference :func:`inversion.lm_batch.refine_batch` is tested against.

At the final model both return the linearised posterior covariance of ``log10 m``::

    C = (JᵀJ + P)⁻¹,   P = diag(1/σ²) (Gaussian prior)  or  diag(12 / w_j²) (uniform prior)

where J is the weighted-residual Jacobian and ``w_j`` the width of parameter j's bounds in
decades (the Gaussian approximation of the uniform prior over the bounds). The prior term keeps C
finite for unresolved parameters (their std then approaches the prior's). Fixed parameters get
zero variance.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import least_squares

from .misfit import chi as chi_of
from .misfit import weighted_residuals

ForwardFn = Callable[[np.ndarray], np.ndarray]
#: models (k, p) → (data (k, n_data), ∂data/∂ln m (k, n_data, p)); ``MT1D.forward_and_jacobian``
JacobianFn = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass
class RefineResult:
    """Outcome of :func:`refine`.

    ``model`` (n_params,) physical units; ``predicted`` (n_data,) forward response of ``model``;
    ``chi`` its χ; ``log10_cov`` (n_params, n_params) linearised posterior covariance of log10 m;
    ``n_forward_models`` how many models were forward-modelled; ``n_starts`` starts tried.
    """

    model: np.ndarray
    predicted: np.ndarray
    chi: float
    log10_cov: np.ndarray
    n_forward_models: int
    n_starts: int
    status: int

    @property
    def log10_std(self) -> np.ndarray:
        """Linearised posterior standard deviation of log10 of each parameter (n_params,)."""
        return np.sqrt(np.clip(np.diag(self.log10_cov), 0.0, None))


class _Problem:
    """Residuals and batched finite-difference Jacobian for one sounding."""

    def __init__(
        self,
        forward: ForwardFn,
        observed: np.ndarray,
        sigma: np.ndarray,
        is_phase: np.ndarray,
        template_log10: np.ndarray,
        free: np.ndarray,
        step_log10: float,
        target_chi: float = 0.0,
        prior: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        self.forward = forward
        self.prior = prior  # (mean, std) of log10 m_free, or None
        self.observed = observed
        self.sigma = sigma
        self.is_phase = is_phase
        self.template = template_log10
        self.free = free
        self.step = step_log10
        self.stop_cost = 0.5 * observed.size * target_chi**2
        self.n_models = 0
        self._x: np.ndarray | None = None
        self._pred: np.ndarray | None = None

    def models(self, x: np.ndarray) -> np.ndarray:
        """Physical models (k, n_params) for free-parameter vectors x (k, n_free)."""
        full = np.repeat(self.template[None, :], x.shape[0], axis=0)
        full[:, self.free] = x
        return 10.0**full

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Forward response (n_data,) of free-parameter vector x (cached for the last x)."""
        if self._x is not None and np.array_equal(x, self._x):
            return self._pred
        pred = np.asarray(self.forward(self.models(x[None, :])), dtype=float)[0]
        self.n_models += 1
        self._x, self._pred = x.copy(), pred
        return pred

    def data_residuals(self, x: np.ndarray) -> np.ndarray:
        """Error-weighted data residuals (n_data,) at x (non-finite ones replaced by 10⁶)."""
        r = weighted_residuals(self.observed, self.predict(x), self.is_phase, self.sigma)
        return np.where(np.isfinite(r), r, 1e6)

    def residuals(self, x: np.ndarray) -> np.ndarray:
        """Data residuals followed by the prior's (x − mean)/std when there is a prior."""
        r = self.data_residuals(x)
        if self.prior is None:
            return r
        mean, std = self.prior
        return np.concatenate([r, (x - mean) / std])

    def best_candidates(
        self, candidates: np.ndarray, lo: np.ndarray, hi: np.ndarray, k: int
    ) -> list[np.ndarray]:
        """The ``k`` candidate models (physical) of lowest χ, ranked in one forward call."""
        pool = np.atleast_2d(np.asarray(candidates, dtype=float))
        if pool.shape[0] == 0 or k < 1:
            return []
        x = np.clip(np.log10(pool[:, self.free]), lo, hi)
        models = self.models(x)
        pred = np.asarray(self.forward(models), dtype=float)
        self.n_models += pool.shape[0]
        value = chi_of(self.observed, pred, self.is_phase, self.sigma)
        order = np.argsort(np.where(np.isfinite(value), value, np.inf), kind="stable")
        return [models[i] for i in order[:k]]

    def stop_when_fit(self, intermediate_result: Any) -> None:
        """least_squares callback: stop once the data's χ ≤ target (discrepancy principle)."""
        r = self.data_residuals(np.asarray(intermediate_result.x, dtype=float))
        if 0.5 * float(r @ r) <= self.stop_cost:
            raise StopIteration

    def data_jacobian(self, x: np.ndarray) -> np.ndarray:
        """Jacobian (n_data, n_free) of the data residuals: ONE forward call of n_free models."""
        base = self.data_residuals(x)
        n_free = x.size
        xs = np.repeat(x[None, :], n_free, axis=0) + self.step * np.eye(n_free)
        pred = np.asarray(self.forward(self.models(xs)), dtype=float)
        self.n_models += n_free
        r = weighted_residuals(self.observed, pred, self.is_phase, self.sigma)
        r = np.where(np.isfinite(r), r, 1e6)
        return ((r - base) / self.step).T

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        """Jacobian of :meth:`residuals`: the data's, with diag(1/std) rows for a prior."""
        jac = self.data_jacobian(x)
        if self.prior is None:
            return jac
        return np.vstack([jac, np.diag(1.0 / self.prior[1])])


def _covariance(
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


def refine(
    forward: ForwardFn,
    starts: np.ndarray,
    observed: np.ndarray,
    sigma: np.ndarray,
    is_phase: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    fixed: Sequence[float | None] | None = None,
    *,
    candidates: np.ndarray | None = None,
    max_restarts: int = 3,
    max_evaluations: int = 30,
    restart_evaluations: int = 15,
    restart_chi: float = 1.2,
    target_chi: float = 1.0,
    ftol: float = 1e-3,
    step_log10: float = 5e-4,
    prior: tuple[np.ndarray, np.ndarray] | None = None,
) -> RefineResult:
    """Refine a layered-earth model against one sounding.

    ``forward`` maps models ``(k, n_params)`` → data ``(k, n_data)`` for the observed geometry;
    ``starts`` ``(n_starts, n_params)`` or ``(n_params,)`` starting models in physical units (the
    first is tried first; later ones only while χ > ``restart_chi``); ``candidates``
    ``(k, n_params)`` optional pool for restarts: when every start ends above ``restart_chi``,
    all candidates are forward-modelled in ONE call and the ``max_restarts`` best-fitting ones
    are tried in turn (each with at most ``restart_evaluations`` residual evaluations instead of
    ``max_evaluations``); ``observed`` and ``sigma``
    ``(n_data,)`` (σ relative for ρa, degrees for phase); ``is_phase`` (n_data,) bool; ``lower``,
    ``upper`` (n_params,) bounds in physical units; ``fixed`` (n_params,) value or ``None`` per
    parameter — fixed parameters keep their value. ``prior`` optional ``(mean, std)`` (n_params,)
    of log10 m: a Gaussian prior (e.g. the network's calibrated prediction) whose residuals
    ``(x − mean)/std`` join the data's, so parameters the data do not resolve stay near the prior
    instead of drifting; χ, restarts and the stopping rule use the data residuals only.
    Returns the best :class:`RefineResult`.
    """
    starts = np.atleast_2d(np.asarray(starts, dtype=float))
    lower_log = np.log10(np.asarray(lower, dtype=float))
    upper_log = np.log10(np.asarray(upper, dtype=float))
    n_params = lower_log.size
    fixed_values = [None] * n_params if fixed is None else list(fixed)
    free = np.asarray([v is None for v in fixed_values], dtype=bool)
    template = np.zeros(n_params)
    for j, value in enumerate(fixed_values):
        if value is not None:
            template[j] = np.log10(float(value))
    problem = _Problem(
        forward,
        np.asarray(observed, dtype=float),
        np.asarray(sigma, dtype=float),
        np.asarray(is_phase, dtype=bool),
        template,
        free,
        step_log10,
        target_chi,
        None if prior is None else (np.asarray(prior[0])[free], np.asarray(prior[1])[free]),
    )
    lo, hi = lower_log[free], upper_log[free]
    inset = np.minimum(1e-6, 0.25 * (hi - lo))
    best: tuple[float, np.ndarray, np.ndarray | None, int] | None = None
    n_starts = 0
    queue = list(starts)
    pool_used = candidates is None or not free.any()
    while queue:
        start = queue.pop(0)
        n_starts += 1
        if not free.any():
            x_final, jac, status = np.zeros(0), np.zeros((problem.observed.size, 0)), 0
        else:
            x0 = np.clip(np.log10(start[free]), lo + inset, hi - inset)
            fit = least_squares(
                problem.residuals,
                x0,
                jac=problem.jacobian,
                bounds=(lo, hi),
                method="trf",
                max_nfev=max_evaluations if n_starts <= len(starts) else restart_evaluations,
                ftol=ftol,
                xtol=1e-5,
                gtol=1e-8,
                callback=problem.stop_when_fit if target_chi > 0 else None,
            )
            x_final, jac, status = fit.x, fit.jac, int(fit.status)
        pred = problem.predict(x_final)
        value = float(chi_of(problem.observed, pred, problem.is_phase, problem.sigma))
        if best is None or value < best[0]:
            best = (value, x_final, jac, status)
        if value <= restart_chi:
            break
        if not queue and not pool_used:
            pool_used = True
            queue = problem.best_candidates(candidates, lo, hi, max_restarts)
    value, x_final, jac, status = best
    pred = problem.predict(x_final)
    n_data = problem.observed.size
    if jac is None or jac.shape[0] < n_data or jac.shape[1] != x_final.size:
        jac = problem.data_jacobian(x_final) if x_final.size else np.zeros((n_data, 0))
    prior_std = None if problem.prior is None else problem.prior[1]
    cov = _covariance(np.asarray(jac)[:n_data], free, upper_log - lower_log, prior_std)
    model = problem.models(x_final[None, :])[0]
    return RefineResult(
        model=model,
        predicted=pred,
        chi=value,
        log10_cov=cov,
        n_forward_models=problem.n_models,
        n_starts=n_starts,
        status=status,
    )


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
