"""The refinement policy of ``Inverter.invert``: restarts and the bound test.

Each observed geometry's soundings are refined as one batch
(:func:`inversion.lm_batch.refine_batch`) from the network's models. As soon as a sounding
stops, extra rows join the same iteration:

* restarts for in-domain soundings still above χ 1.2: the best-fitting models of the restart pool
  (the ensemble members' models and draws from the calibrated predictive distribution); the best
  restart replaces the sounding's result when it fits better;
* the bound test's two fits (:func:`inversion.domain.bound_test_setup`), within the training bounds
  and beyond them, for soundings whose model touches a bound and either fits (χ within the misfit
  limit) or lies outside the feature domain; the likelihood-ratio test
  (:func:`inversion.domain.bound_test_reasons`) turns them into reasons.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .calibration import Predictive
from .domain import BoundTest, bound_test_reasons, bound_test_setup
from .geometries import Geometry
from .lm_batch import BatchRefineResult, ExtraRows, LMSettings, refine_batch
from .misfit import chi as chi_of
from .misfit import rms_percent

__all__ = ["RefinePolicy", "RefineStarts", "Refined", "refine_all", "refine_group"]

_RESTART_CHI = 1.2  # refined results above this χ get restarts (in-domain data only)
_MAX_RESTARTS = 12
_MAX_ITERATIONS = 20  # iterations of a sounding's own refinement
_RESTART_ITERATIONS = 40  # iterations of a restart
_BOUND_TEST_ITERATIONS = 10  # iterations of a bound-test fit
_RESTART, _INSIDE, _RELAXED = 1, 2, 3  # tags of extra rows: restart, bound test in / beyond


@dataclass
class RefinePolicy:
    """The inverter's settings the policy follows: ``lower``/``upper`` (p,) the training bounds
    (Ω·m / m), ``names`` the parameter names, ``misfit_chi_limit``, ``bound_test_alpha`` (None:
    no bound test), ``n_restart_draws`` and ``seed`` of the restart pool, and ``predictive`` the
    calibrated predictive distribution the pool is drawn from."""

    lower: np.ndarray
    upper: np.ndarray
    names: list[str]
    misfit_chi_limit: float
    bound_test_alpha: float | None
    n_restart_draws: int
    seed: int
    predictive: Predictive


@dataclass
class RefineStarts:
    """What the refinement starts from, for every sounding of the batch (n of them): ``models``
    (n, p) the network's models (fixed parameters at their value), ``fixed`` (n, p) bool,
    ``prior`` (mean, std) (n, p) of log10 m or None, ``members`` (n_members, n, p) the ensemble's
    predictions (standardised), ``in_domain`` (n,) bool the feature-domain flag."""

    models: np.ndarray
    fixed: np.ndarray
    prior: tuple[np.ndarray, np.ndarray] | None
    members: np.ndarray
    in_domain: np.ndarray


class _Spawner:
    """The :data:`inversion.lm_batch.SpawnFn` of one group: restarts and bound-test fits for the
    group's soundings that just stopped; ``tests`` collects the bound tests set up."""

    def __init__(self, group: Geometry, starts: RefineStarts, policy: RefinePolicy) -> None:
        self.group, self.policy = group, policy
        idx = np.asarray(group.rows)
        self.fixed, self.models = starts.fixed[idx], starts.models[idx]
        self.members, self.in_domain = starts.members[:, idx, :], starts.in_domain[idx]
        self.tests: list[BoundTest] = []

    def __call__(self, done: np.ndarray, now: BatchRefineResult) -> ExtraRows | None:
        """Extra rows for the group's soundings ``done`` (k,), whose rows are ``now``."""
        parts = []
        # Restarts only where the data look like training data: elsewhere no in-bounds
        # model is expected to fit, and the domain flag says so already.
        failing = done[(now.chi > _RESTART_CHI) & self.in_domain[done]]
        if failing.size:
            parts.append(self._restarts(failing))
        # The bound test where the model is final: a fit within the misfit limit, or data
        # outside the feature domain (no restarts; the reason says which way they point).
        tested = (now.chi <= self.policy.misfit_chi_limit) | ~self.in_domain[done]
        if self.policy.bound_test_alpha is not None and tested.any():
            parts.extend(self._bound_test(done, now, tested))
        return ExtraRows.concat(parts)

    def _restarts(self, failing: np.ndarray) -> ExtraRows:
        """The ``_MAX_RESTARTS`` best-fitting models of the restart pool per sounding."""
        policy, group = self.policy, self.group
        pool = policy.predictive.restart_pool(
            self.members[:, failing, :], policy.n_restart_draws, policy.seed
        )
        pool = np.where(self.fixed[failing], self.models[failing], pool)
        n_pool, k, p = pool.shape  # (n_members + n_draws, k, p)
        pred = group.forward(pool.reshape(-1, p)).reshape(n_pool, k, -1)
        observed, sigma = group.observed[failing][None], group.sigma[failing][None]
        chis = chi_of(observed, pred, group.is_phase, sigma)
        best = np.argsort(np.where(np.isfinite(chis), chis, np.inf), axis=0)
        n_starts = min(_MAX_RESTARTS, n_pool)
        chosen = pool[best[:n_starts], np.arange(k)[None, :], :].reshape(-1, p)
        return ExtraRows.build(
            np.tile(failing, n_starts),
            chosen,
            policy.lower,
            policy.upper,
            use_prior=True,
            target_chi=1.0,
            tag=_RESTART,
            max_iterations=_RESTART_ITERATIONS,
        )

    def _bound_test(
        self, done: np.ndarray, now: BatchRefineResult, tested: np.ndarray
    ) -> list[ExtraRows]:
        """Both fits of the bound test, without the prior and to convergence: within the
        training bounds and within the relaxed ones (none when the screen passes no sounding)."""
        lower, upper = self.policy.lower, self.policy.upper
        test = bound_test_setup(
            now.models,
            lower,
            upper,
            ~self.fixed[done] & tested[:, None],
            now.jacobian,
            now.residuals,
            float(self.policy.bound_test_alpha),
        )
        if not test.rows.size:
            return []
        at = now.models[test.rows]
        test.rows = done[test.rows]
        self.tests.append(test)
        return [
            ExtraRows.build(
                test.rows,
                at,
                low,
                high,
                use_prior=False,
                target_chi=0.0,
                tag=tag,
                max_iterations=_BOUND_TEST_ITERATIONS,
            )
            for tag, low, high in ((_INSIDE, lower, upper), (_RELAXED, test.lower, test.upper))
        ]


def _keep_best_restarts(out: BatchRefineResult, result: BatchRefineResult) -> None:
    """Replace, in place, each sounding's row of ``result`` by its best restart in ``out`` where
    that fits better."""
    restart = np.flatnonzero(out.tag == _RESTART)
    if not restart.size:
        return
    order = restart[np.argsort(out.chi[restart], kind="stable")]
    owners, first = np.unique(out.owner[order], return_index=True)
    best = order[first]
    better = out.chi[best] < result.chi[owners]
    for name in ("models", "predicted", "chi", "log10_cov", "residuals", "jacobian"):
        getattr(result, name)[owners[better]] = getattr(out, name)[best[better]]


def _bound_reasons(
    tests: list[BoundTest],
    out: BatchRefineResult,
    result: BatchRefineResult,
    n_data: int,
    policy: RefinePolicy,
) -> list[list[str]]:
    """The likelihood-ratio test's reasons, one list per sounding of the concatenated ``tests``."""
    test = BoundTest(
        rows=np.concatenate([t.rows for t in tests]),
        lower=np.vstack([t.lower for t in tests]),
        upper=np.vstack([t.upper for t in tests]),
        n_relaxed=np.concatenate([t.n_relaxed for t in tests]),
    )
    inside = np.flatnonzero(out.tag == _INSIDE)
    relaxed = np.flatnonzero(out.tag == _RELAXED)
    # Any in-bounds fit bounds the best one's χ from above: the refined result counts too.
    return bound_test_reasons(
        test,
        np.minimum(out.chi[inside], result.chi[test.rows]),
        out.chi[relaxed],
        out.models[relaxed],
        n_data,
        policy.names,
        policy.lower,
        policy.upper,
        float(policy.bound_test_alpha),
    )


def refine_group(
    group: Geometry, starts: RefineStarts, policy: RefinePolicy
) -> tuple[BatchRefineResult, dict[int, list[str]]]:
    """Refine the soundings of ``group`` (one observed geometry) as one batch, with restarts and
    the bound test joining as soundings stop. Returns the soundings' refined rows (in the order
    of ``group.rows``) and the bound test's reasons keyed by sounding (batch index)."""
    idx = np.asarray(group.rows)
    spawn = _Spawner(group, starts, policy)
    prior = starts.prior
    out = refine_batch(
        group.forward,
        starts.models[idx],
        group.observed,
        group.sigma,
        group.is_phase,
        policy.lower,
        policy.upper,
        starts.fixed[idx],
        prior=None if prior is None else (prior[0][idx], prior[1][idx]),
        settings=LMSettings(max_iterations=_MAX_ITERATIONS),
        jacobian=getattr(group.fwd, "forward_and_jacobian", None),  # exact derivatives (MT)
        spawn=spawn,
    )
    result = out.take(np.arange(idx.size))
    _keep_best_restarts(out, result)
    if not spawn.tests:
        return result, {}
    reasons = _bound_reasons(spawn.tests, out, result, group.observed.shape[1], policy)
    test_rows = np.concatenate([t.rows for t in spawn.tests])
    return result, {int(idx[r]): why for r, why in zip(test_rows, reasons, strict=True) if why}


@dataclass
class Refined:
    """The refinement of a batch of n soundings: per sounding its refined ``rows`` (model (p,),
    predicted (n_data,), χ, log10 covariance (p, p)), the Levenberg–Marquardt ``iterations`` (n,)
    of its own row (started at the network's answer), the bound test's ``reasons`` by sounding,
    and per sounding the ``rms`` (%) and the refinement time ``ms`` (its group's, shared)."""

    rows: list[tuple[np.ndarray, np.ndarray, float, np.ndarray] | None]
    reasons: dict[int, list[str]]
    rms: np.ndarray
    ms: np.ndarray
    iterations: np.ndarray


def refine_all(geometries: list[Geometry], starts: RefineStarts, policy: RefinePolicy) -> Refined:
    """Refine every sounding of the batch, one :func:`refine_group` per observed geometry."""
    n = starts.models.shape[0]
    out = Refined([None] * n, {}, np.zeros(n), np.zeros(n), np.zeros(n, dtype=int))
    for group in geometries:
        rows = group.rows
        t0 = time.perf_counter()
        outcome, reasons = refine_group(group, starts, policy)
        out.reasons.update(reasons)
        out.rms[rows] = rms_percent(group.observed, outcome.predicted, group.is_phase)
        out.ms[rows] = 1e3 * (time.perf_counter() - t0) / len(rows)
        out.iterations[rows] = outcome.n_iterations  # the own rows (restarts do not replace it)
        for r, row in enumerate(rows):
            out.rows[row] = (
                outcome.models[r],
                outcome.predicted[r],
                float(outcome.chi[r]),
                outcome.log10_cov[r],
            )
    return out
