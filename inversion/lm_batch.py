"""Batched refinement: one projected Levenberg–Marquardt iteration for many soundings at once.

:func:`refine_batch` is the production solver behind ``Inverter.invert`` (the problem and the
posterior covariance are described in :mod:`inversion.refine`, whose single-sounding
:func:`inversion.refine.refine` is the scipy reference it is tested against). Each iteration makes
ONE forward call for every row still iterating (the exact Jacobian where the forward model has
one, ``MT1D.forward_and_jacobian``, else every trial model with its n_params finite-difference
perturbations), and extra rows (restarts, fits with other bounds) join the running iteration as
soon as their sounding stops.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np

from .refine import ForwardFn, JacobianFn, batch_covariance


@dataclass
class BatchRefineResult:
    """Outcome of :func:`refine_batch`: one row per sounding, then one per spawned extra row.

    ``models`` (m, n_params) physical units; ``predicted`` (m, n_data); ``chi`` (m,) data χ;
    ``log10_cov`` (m, n_params, n_params); ``residuals`` (m, n_data) the error-weighted data
    residuals and ``jacobian`` (m, n_data, n_params) their derivatives with respect to log10 m
    at ``models`` (zero columns for fixed parameters); ``n_iterations`` (m,) evaluations (the
    start's, then one per accepted or rejected step); ``owner`` (m,) the sounding each row
    refines (row i < n: sounding i); ``tag`` (m,) 0 for the soundings' own rows, the spawner's
    tag for extra rows; ``n_forward_models`` models forward-modelled in all.
    """

    models: np.ndarray
    predicted: np.ndarray
    chi: np.ndarray
    log10_cov: np.ndarray
    residuals: np.ndarray
    jacobian: np.ndarray
    n_iterations: np.ndarray
    owner: np.ndarray
    tag: np.ndarray
    n_forward_models: int

    def take(self, rows: np.ndarray) -> BatchRefineResult:
        """The rows ``rows`` (copies of every per-row array; the same ``n_forward_models``)."""
        arrays = {
            f.name: getattr(self, f.name)[rows]
            for f in fields(self)
            if f.name != "n_forward_models"
        }
        return BatchRefineResult(**arrays, n_forward_models=self.n_forward_models)


@dataclass
class ExtraRows:
    """Rows a spawner adds to a running :func:`refine_batch` (k rows).

    ``owner`` (k,) the sounding each refines; ``starts`` (k, p) physical models;
    ``lower``/``upper`` (k, p) physical bounds; ``use_prior`` (k,) bool, keep the owner's
    prior; ``target_chi`` (k,); ``max_iterations`` (k,) int; ``tag`` (k,) int ≥ 1 (the caller's
    label, returned in :attr:`BatchRefineResult.tag`).
    """

    owner: np.ndarray
    starts: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    use_prior: np.ndarray
    target_chi: np.ndarray
    max_iterations: np.ndarray
    tag: np.ndarray

    @classmethod
    def build(
        cls,
        owner: np.ndarray,
        starts: np.ndarray,
        lower: np.ndarray,
        upper: np.ndarray,
        *,
        use_prior: bool,
        target_chi: float,
        max_iterations: int,
        tag: int,
    ) -> ExtraRows:
        """k rows sharing bounds ((p,) or (k, p)) and settings."""
        k, p = np.shape(starts)
        return cls(
            owner=np.asarray(owner, int),
            starts=np.asarray(starts, float),
            lower=np.broadcast_to(np.asarray(lower, float), (k, p)),
            upper=np.broadcast_to(np.asarray(upper, float), (k, p)),
            use_prior=np.full(k, use_prior),
            target_chi=np.full(k, float(target_chi)),
            max_iterations=np.full(k, int(max_iterations)),
            tag=np.full(k, int(tag)),
        )

    @classmethod
    def concat(cls, parts: list[ExtraRows]) -> ExtraRows | None:
        """All rows of ``parts`` in order; None when there are none."""
        parts = [part for part in parts if part.owner.size]
        if not parts:
            return None
        names = [f.name for f in fields(cls)]
        return cls(**{name: np.concatenate([getattr(x, name) for x in parts]) for name in names})


#: called with the soundings (k,) that just stopped and their k rows of the running result
#: (models, χ, residuals and Jacobians filled in); returns extra rows to refine, or None
SpawnFn = Callable[[np.ndarray, BatchRefineResult], ExtraRows | None]


class _Rows:
    """Per-sounding constants of :func:`refine_batch`'s problem for a set of soundings.

    ``log_obs``/``weight`` (k, n_data): observed ln ρa (or phase, degrees) and 1/σ; ``free``
    (k, p) bool; ``mean``/``precision`` (k, p) of the log10-m prior (precision 0: none);
    ``lo``/``hi`` (k, p) log10 bounds; ``stop``/``accept`` (k,) ½Σr² at the target χ and at the
    χ below which small gains end the iteration; ``cap`` (k,) the most iterations.
    """

    names = ("log_obs", "weight", "free", "mean", "precision", "lo", "hi", "stop", "accept", "cap")

    def __init__(self, **arrays: np.ndarray) -> None:
        for name in self.names:
            setattr(self, name, arrays[name])
        self.root_precision = np.sqrt(self.precision)

    def take(self, index: np.ndarray) -> _Rows:
        """The constants of soundings ``index`` (indices or a boolean mask)."""
        return _Rows(**{name: getattr(self, name)[index] for name in self.names})

    def append(self, other: _Rows) -> _Rows:
        """These rows followed by ``other``'s."""
        return _Rows(
            **{
                name: np.concatenate([getattr(self, name), getattr(other, name)])
                for name in self.names
            }
        )


class _Evaluator:
    """Weighted residuals, costs and Jacobians for :func:`refine_batch` (one forward call)."""

    def __init__(
        self,
        forward: ForwardFn,
        jacobian: JacobianFn | None,
        is_phase: np.ndarray,
        n_params: int,
        step_log10: float,
    ) -> None:
        self.forward, self.jacobian, self.is_phase = forward, jacobian, is_phase
        self.step = step_log10
        self.perturb = step_log10 * np.vstack([np.zeros(n_params), np.eye(n_params)])
        self.n_models = 0

    def residuals(self, pred: np.ndarray, rows: _Rows) -> np.ndarray:
        """Weighted residuals (k, [m,] n_data) of predictions (k, [m,] n_data) for ``rows``."""
        safe = np.where(self.is_phase, 1.0, pred)
        expand = (slice(None),) + (None,) * (pred.ndim - 2)
        value = np.where(self.is_phase, pred, np.log(safe))
        r = (value - rows.log_obs[expand]) * rows.weight[expand]
        return np.where(np.isfinite(r), r, 1e6)

    def __call__(self, xs: np.ndarray, rows: _Rows) -> tuple[np.ndarray, ...]:
        """At ``xs`` (k, p) log10 m: responses (k, n_data), residuals (k, n_data), ½Σr² (k,),
        cost = ½Σr² + prior (k,), and the residuals' Jacobian w.r.t. log10 m (k, n_data, p)."""
        k, p = xs.shape
        if self.jacobian is not None:
            pred, dd = self.jacobian(10.0**xs)
            self.n_models += k
            r = self.residuals(pred, rows)
            per_ln = (np.log(10.0) * rows.weight) / np.where(self.is_phase, 1.0, pred)
            jac = dd * per_ln[:, :, None]
        else:
            both = (xs[:, None, :] + self.perturb[None]).reshape(k * (p + 1), p)
            out = np.asarray(self.forward(10.0**both), dtype=float).reshape(k, p + 1, -1)
            self.n_models += k * (p + 1)
            r_all = self.residuals(out, rows)
            pred, r = out[:, 0, :], r_all[:, 0, :]
            jac = np.transpose((r_all[:, 1:, :] - r[:, None, :]) / self.step, (0, 2, 1))
        jac *= rows.free[:, None, :]
        rp = (xs - rows.mean) * rows.root_precision
        half_ssr = 0.5 * np.einsum("ij,ij->i", r, r)
        return pred, r, half_ssr, half_ssr + 0.5 * np.einsum("ij,ij->i", rp, rp), jac


def _where_rows(mask: np.ndarray, new: np.ndarray, old: np.ndarray) -> np.ndarray:
    """Rows of ``new`` where ``mask`` (k,), else of ``old`` (any trailing shape)."""
    return np.where(mask.reshape(-1, *(1,) * (new.ndim - 1)), new, old)


def refine_batch(
    forward: ForwardFn,
    starts: np.ndarray,
    observed: np.ndarray,
    sigma: np.ndarray,
    is_phase: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    fixed: np.ndarray | None = None,
    *,
    prior: tuple[np.ndarray, np.ndarray] | None = None,
    max_iterations: int = 20,
    target_chi: float | np.ndarray = 1.0,
    ftol: float = 1e-3,
    cost_tol: float = 0.5,
    accept_chi: float = 1.2,
    max_step_log10: float = 0.5,
    step_log10: float = 5e-4,
    jacobian: JacobianFn | None = None,
    covariance: bool = True,
    spawn: SpawnFn | None = None,
) -> BatchRefineResult:
    """Levenberg–Marquardt refinement of n soundings at once (vectorised over the batch).

    The same problem as :func:`refine` — error-weighted residuals over ``x = log10 m`` within
    the bounds, optional Gaussian ``prior`` — solved by a projected Levenberg–Marquardt iteration
    (Marquardt's diagonal scaling, damping λ ÷3 after an accepted step and ×5 after a rejected
    one, steps shortened to at most ``max_step_log10`` decades in any parameter — restarts and
    other extra rows take full steps — and clipped to the bounds) in which every iteration makes
    ONE call for all rows still iterating, so an accepted step arrives with its Jacobian:
    ``jacobian(models)`` → ``(data (k, n_data), ∂data/∂ln m (k, n_data, p))`` when the forward
    model has exact derivatives (k models), else ``forward`` of every trial model with its p
    forward-difference perturbations (k·(p + 1) models, step ``step_log10``). A row stops at
    χ ≤ ``target_chi`` (a number, or one per sounding; the discrepancy principle), when an
    accepted step lowers the cost ½Σr² (+ prior) by less than ``ftol`` relative, or by less
    than ``cost_tol`` absolute once χ ≤ ``accept_chi`` (the default 0.5: Σr² by 1, far below
    its own noise of √(2·n_data); a fit that is already acceptable need not crawl on), when λ
    exceeds 10⁷, or after ``max_iterations`` evaluations (the start's counts as one).

    ``spawn`` is called whenever soundings stop (:data:`SpawnFn`); the rows it returns
    (restarts, fits with other bounds) join the running iteration at once instead of waiting
    for the slowest sounding, and come back after the n soundings' rows, with ``owner`` and
    ``tag``. Extra rows with the same owner and tag are alternatives: when one reaches its
    target χ the others stop.

    ``starts`` (n, p) physical models (fixed parameters already at their value);
    ``observed``, ``sigma`` (n, n_data) (σ relative for ρa, degrees for phase; ρa > 0);
    ``is_phase`` (n_data,); ``lower``/``upper`` (p,) or (n, p) bounds in physical units;
    ``fixed`` (n, p) bool, True where the parameter is held; ``prior`` ((n, p), (n, p)) mean and
    std of log10 m (an infinite std: no prior on that parameter). ``covariance=False`` skips
    the posterior covariance (``log10_cov`` is then all zeros).
    """
    starts = np.atleast_2d(np.asarray(starts, dtype=float))
    n, p = starts.shape
    observed = np.atleast_2d(np.asarray(observed, dtype=float))
    n_data = observed.shape[1]
    is_phase = np.asarray(is_phase, dtype=bool)
    free = np.ones((n, p), bool) if fixed is None else ~np.asarray(fixed, dtype=bool)
    std = np.full((n, p), np.inf) if prior is None else np.asarray(prior[1], dtype=float)
    mean = np.zeros((n, p)) if prior is None else np.asarray(prior[0], dtype=float)
    soundings = _Rows(
        log_obs=np.where(is_phase, observed, np.log(np.where(is_phase, 1.0, observed))),
        weight=1.0 / np.broadcast_to(np.asarray(sigma, dtype=float), observed.shape),
        free=free,
        mean=mean,
        precision=np.where(free, np.maximum(std, 1e-6) ** -2, 0.0),
        lo=np.broadcast_to(np.log10(np.asarray(lower, dtype=float)), (n, p)),
        hi=np.broadcast_to(np.log10(np.asarray(upper, dtype=float)), (n, p)),
        stop=0.5 * n_data * np.broadcast_to(np.asarray(target_chi, float), n) ** 2,
        accept=np.full(n, 0.5 * n_data * accept_chi**2),
        cap=np.full(n, max_iterations),
    )
    evaluate = _Evaluator(forward, jacobian, is_phase, p, step_log10)
    every, prior_std = soundings, std  # per row: the n soundings', then any spawned rows'
    owner, tag = np.arange(n), np.zeros(n, int)
    max_step = np.full(n, max_step_log10)

    def fresh_state(x0: np.ndarray, rows: _Rows) -> list[np.ndarray]:
        """[x, predicted, residuals, ½Σr², cost, Jacobian] of rows that start at ``x0``
        (physical, clipped just inside the bounds), not yet evaluated (infinite cost)."""
        inset = np.minimum(1e-6, 0.25 * (rows.hi - rows.lo))
        x = np.log10(x0)
        x = np.where(rows.free, np.clip(x, rows.lo + inset, rows.hi - inset), x)
        k = x.shape[0]
        blank = np.zeros((k, n_data))
        return [
            x,
            blank,
            blank.copy(),
            np.full(k, np.inf),
            np.full(k, np.inf),
            np.zeros((k, n_data, p)),
        ]

    # Every row enters as "new": its first trial is its start (step 0), evaluated together with
    # the other rows' steps and always accepted. ``ids`` are the rows still iterating; their
    # state ``work`` is compacted whenever some stop.
    state = fresh_state(starts, every)
    iterations = np.zeros(n, dtype=int)
    ids, rows, work = np.arange(n), every, [a.copy() for a in state]
    lam, new = np.full(n, 1e-2), np.ones(n, bool)
    diag = (slice(None), np.arange(p), np.arange(p))
    while ids.size:
        xw, _, rw, _, cost, jw = work
        jt = jw.transpose(0, 2, 1)
        a = np.matmul(jt, jw)  # JᵀJ (k, p, p); BLAS, far faster than einsum here
        a[diag] += rows.precision
        g = np.matmul(jt, rw[:, :, None])[:, :, 0] + rows.precision * (xw - rows.mean)
        g[new] = 0.0
        a[diag] = (np.where(rows.free, a[diag], 1.0) + 1e-12) * (1.0 + lam[:, None])
        step = np.linalg.solve(a, -g[:, :, None])[:, :, 0]
        longest = np.max(np.abs(step), axis=1, keepdims=True)
        step *= np.minimum(1.0, max_step[ids][:, None] / np.maximum(longest, 1e-300))
        x_new = np.where(rows.free, np.clip(xw + step, rows.lo, rows.hi), xw)
        # The trial models and their Jacobians in one call: accepted steps need no second call.
        trial = evaluate(x_new, rows)
        iterations[ids] += 1
        drop = cost - trial[3]
        better = drop > 0
        small = (drop < ftol * cost) | ((drop < cost_tol) & (trial[2] <= rows.accept))
        work = [_where_rows(better, a, b) for a, b in zip((x_new, *trial), work, strict=True)]
        lam = np.where(new, 1e-2, np.where(better, np.maximum(lam / 3.0, 1e-7), lam * 5.0))
        new[:] = False
        fit = work[3] <= rows.stop
        stop = fit | (better & small) | (lam > 1e7) | (iterations[ids] >= rows.cap)
        if fit.any() and tag[ids].any():  # a fit ends its siblings (same owner and tag)
            key = owner[ids] * (tag.max() + 1) + tag[ids]
            stop |= (tag[ids] > 0) & np.isin(key, key[fit])
        if not stop.any():
            continue
        for full, part in zip(state, work, strict=True):
            full[ids[stop]] = part[stop]
        done, keep = ids[stop], ~stop
        ids, rows, lam, new = ids[keep], rows.take(keep), lam[keep], new[keep]
        work = [part[keep] for part in work]
        done = done[done < n]  # soundings (not spawned rows) that just stopped
        if spawn is None or not done.size:
            continue
        extra = spawn(
            done, _partial([a[done] for a in state], iterations[done], done, tag[done], n_data)
        )
        if extra is None or not extra.owner.size:
            continue
        k, use = extra.owner.size, extra.use_prior[:, None]
        base = soundings.take(extra.owner)
        added = _Rows(
            log_obs=base.log_obs,
            weight=base.weight,
            free=base.free,
            mean=base.mean,
            precision=np.where(use, base.precision, 0.0),
            lo=np.log10(extra.lower),
            hi=np.log10(extra.upper),
            stop=0.5 * n_data * np.asarray(extra.target_chi, float) ** 2,
            accept=base.accept,
            cap=np.asarray(extra.max_iterations, int),
        )
        fresh = fresh_state(extra.starts, added)
        ids = np.concatenate([ids, len(owner) + np.arange(k)])
        every, rows = every.append(added), rows.append(added)
        state = [np.concatenate([a, b]) for a, b in zip(state, fresh, strict=True)]
        work = [np.concatenate([a, b]) for a, b in zip(work, fresh, strict=True)]
        lam, new = np.concatenate([lam, np.full(k, 1e-2)]), np.concatenate([new, np.ones(k, bool)])
        prior_std = np.vstack([prior_std, np.where(use, std[extra.owner], np.inf)])
        owner = np.concatenate([owner, extra.owner])
        tag = np.concatenate([tag, extra.tag])
        max_step = np.concatenate([max_step, np.full(k, np.inf)])  # restarts take full steps
        iterations = np.concatenate([iterations, np.zeros(k, int)])
    out = _partial(state, iterations, owner, tag, n_data)
    out.n_forward_models = evaluate.n_models
    if covariance:
        out.log10_cov = batch_covariance(out.jacobian, every.free, every.hi - every.lo, prior_std)
    return out


def _partial(
    state: list[np.ndarray], iterations: np.ndarray, owner: np.ndarray, tag: np.ndarray, n_data: int
) -> BatchRefineResult:
    """The running state [x, predicted, residuals, ½Σr², cost, Jacobian] as a result (no
    covariance yet)."""
    x, pred, r, half_ssr, _, jac = state
    m, p = x.shape
    return BatchRefineResult(
        models=10.0**x,
        predicted=pred,
        chi=np.sqrt(2.0 * half_ssr / n_data),
        log10_cov=np.zeros((m, p, p)),
        residuals=r,
        jacobian=jac,
        n_iterations=iterations,
        owner=owner,
        tag=tag,
        n_forward_models=0,
    )
