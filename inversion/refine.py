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
decades (:mod:`inversion.posterior`, which also holds the covariance of unrefined models and the
resolved combinations).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import least_squares

from .misfit import chi as chi_of
from .misfit import weighted_residuals
from .posterior import (
    ForwardFn,
    JacobianFn,
    batch_covariance,
    covariance,
    linearised_covariance,
    resolved_combinations,
)

__all__ = [
    "ForwardFn",
    "JacobianFn",
    "RefineResult",
    "batch_covariance",
    "linearised_covariance",
    "refine",
    "resolved_combinations",
]


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
    fixed_values = [None] * lower_log.size if fixed is None else list(fixed)
    problem = _problem_for(
        forward, observed, sigma, is_phase, fixed_values, step_log10, target_chi, prior
    )
    free = problem.free
    lo, hi = lower_log[free], upper_log[free]
    best: tuple[float, np.ndarray, np.ndarray | None, int] | None = None
    n_starts = 0
    queue = list(starts)
    pool_used = candidates is None or not free.any()
    while queue:
        start = queue.pop(0)
        n_starts += 1
        max_nfev = max_evaluations if n_starts <= len(starts) else restart_evaluations
        x_final, jac, status = _fit_one(problem, start, (lo, hi), max_nfev, ftol, target_chi)
        pred = problem.predict(x_final)
        value = float(chi_of(problem.observed, pred, problem.is_phase, problem.sigma))
        if best is None or value < best[0]:
            best = (value, x_final, jac, status)
        if value <= restart_chi:
            break
        if not queue and not pool_used:
            pool_used = True
            queue = problem.best_candidates(candidates, lo, hi, max_restarts)
    return _result_at(problem, best, n_starts, upper_log - lower_log)


def _problem_for(
    forward: ForwardFn,
    observed: np.ndarray,
    sigma: np.ndarray,
    is_phase: np.ndarray,
    fixed_values: list[float | None],
    step_log10: float,
    target_chi: float,
    prior: tuple[np.ndarray, np.ndarray] | None,
) -> _Problem:
    """:func:`refine`'s problem: the free parameters are those whose ``fixed_values`` is None."""
    free = np.asarray([v is None for v in fixed_values], dtype=bool)
    template = np.zeros(free.size)
    for j, value in enumerate(fixed_values):
        if value is not None:
            template[j] = np.log10(float(value))
    return _Problem(
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


def _fit_one(
    problem: _Problem,
    start: np.ndarray,
    bounds: tuple[np.ndarray, np.ndarray],
    max_nfev: int,
    ftol: float,
    target_chi: float,
) -> tuple[np.ndarray, np.ndarray | None, int]:
    """One bounded trust-region fit from ``start`` (n_params,) physical, within the free
    parameters' log10 ``bounds``: final free x, its Jacobian, least_squares' status."""
    if not problem.free.any():
        return np.zeros(0), np.zeros((problem.observed.size, 0)), 0
    lo, hi = bounds
    inset = np.minimum(1e-6, 0.25 * (hi - lo))
    x0 = np.clip(np.log10(start[problem.free]), lo + inset, hi - inset)
    fit = least_squares(
        problem.residuals,
        x0,
        jac=problem.jacobian,
        bounds=(lo, hi),
        method="trf",
        max_nfev=max_nfev,
        ftol=ftol,
        xtol=1e-5,
        gtol=1e-8,
        callback=problem.stop_when_fit if target_chi > 0 else None,
    )
    return fit.x, fit.jac, int(fit.status)


def _result_at(
    problem: _Problem,
    best: tuple[float, np.ndarray, np.ndarray | None, int],
    n_starts: int,
    width_log10: np.ndarray,
) -> RefineResult:
    """:func:`refine`'s result at the best fit ``(χ, free x, Jacobian, status)``, with the
    posterior covariance (``width_log10`` (n_params,): the bounds' widths in decades)."""
    value, x_final, jac, status = best
    pred = problem.predict(x_final)
    n_data = problem.observed.size
    if jac is None or jac.shape[0] < n_data or jac.shape[1] != x_final.size:
        jac = problem.data_jacobian(x_final) if x_final.size else np.zeros((n_data, 0))
    prior_std = None if problem.prior is None else problem.prior[1]
    cov = covariance(np.asarray(jac)[:n_data], problem.free, width_log10, prior_std)
    return RefineResult(
        model=problem.models(x_final[None, :])[0],
        predicted=pred,
        chi=value,
        log10_cov=cov,
        n_forward_models=problem.n_models,
        n_starts=n_starts,
        status=status,
    )
