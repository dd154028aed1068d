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

from dataclasses import dataclass

import numpy as np

from .lm_problem import Evaluator, Rows, State
from .lm_rows import BatchRefineResult, ExtraRows, SpawnFn
from .posterior import ForwardFn, JacobianFn, batch_covariance

__all__ = ["BatchRefineResult", "ExtraRows", "LMSettings", "SpawnFn", "refine_batch"]


@dataclass
class LMSettings:
    """Stopping rule and step control of :func:`refine_batch`.

    A row stops at χ ≤ ``target_chi`` (a number, or one per sounding (n,); the discrepancy
    principle), when an accepted step lowers the cost ½Σr² (+ prior) by less than ``ftol``
    relative, or by less than ``cost_tol`` absolute once χ ≤ ``accept_chi``, when λ exceeds 10⁷,
    or after ``max_iterations`` evaluations (the start's counts as one). Steps are shortened to at
    most ``max_step_log10`` decades in any parameter; ``step_log10`` is the forward-difference
    step (decades) where there is no exact Jacobian.
    """

    max_iterations: int = 20
    target_chi: float | np.ndarray = 1.0
    ftol: float = 1e-3
    cost_tol: float = 0.5
    accept_chi: float = 1.2
    max_step_log10: float = 0.5
    step_log10: float = 5e-4


@dataclass
class _Batch:
    """Every row of a running :func:`refine_batch` (the n soundings', then spawned rows') and the
    rows still iterating.

    All rows (m of them): ``every`` constants, ``state`` latest state (final for stopped rows),
    ``prior_std`` (m, p), ``owner``/``tag``/``max_step``/``iterations`` (m,). Rows still
    iterating (k of them): ``ids`` (k,) their row numbers, ``rows`` constants, ``work`` state,
    ``lam`` (k,) damping, ``new`` (k,) not yet evaluated. ``soundings``/``sounding_std`` (n, p):
    the soundings' constants and prior std, which spawned rows inherit.
    """

    n: int
    n_data: int
    soundings: Rows
    sounding_std: np.ndarray
    every: Rows
    state: State
    prior_std: np.ndarray
    owner: np.ndarray
    tag: np.ndarray
    max_step: np.ndarray
    iterations: np.ndarray
    ids: np.ndarray
    rows: Rows
    work: State
    lam: np.ndarray
    new: np.ndarray


def _start(
    starts: np.ndarray,
    observed: np.ndarray,
    sigma: np.ndarray,
    is_phase: np.ndarray,
    bounds: tuple[np.ndarray, np.ndarray],
    fixed: np.ndarray | None,
    prior: tuple[np.ndarray, np.ndarray] | None,
    settings: LMSettings,
) -> _Batch:
    """Every sounding as a row not yet evaluated: its first trial is its start (step 0)."""
    n, p = starts.shape
    n_data = observed.shape[1]
    free = np.ones((n, p), bool) if fixed is None else ~np.asarray(fixed, dtype=bool)
    std = np.full((n, p), np.inf) if prior is None else np.asarray(prior[1], dtype=float)
    mean = np.zeros((n, p)) if prior is None else np.asarray(prior[0], dtype=float)
    soundings = Rows(
        log_obs=np.where(is_phase, observed, np.log(np.where(is_phase, 1.0, observed))),
        weight=1.0 / np.broadcast_to(np.asarray(sigma, dtype=float), observed.shape),
        free=free,
        mean=mean,
        precision=np.where(free, np.maximum(std, 1e-6) ** -2, 0.0),
        lo=np.broadcast_to(np.log10(np.asarray(bounds[0], dtype=float)), (n, p)),
        hi=np.broadcast_to(np.log10(np.asarray(bounds[1], dtype=float)), (n, p)),
        stop=0.5 * n_data * np.broadcast_to(np.asarray(settings.target_chi, float), n) ** 2,
        accept=np.full(n, 0.5 * n_data * settings.accept_chi**2),
        cap=np.full(n, settings.max_iterations),
    )
    state = State.fresh(starts, soundings, n_data)
    return _Batch(
        n=n,
        n_data=n_data,
        soundings=soundings,
        sounding_std=std,
        every=soundings,
        state=state,
        prior_std=std,
        owner=np.arange(n),
        tag=np.zeros(n, int),
        max_step=np.full(n, settings.max_step_log10),
        iterations=np.zeros(n, dtype=int),
        ids=np.arange(n),
        rows=soundings,
        work=state.copy(),
        lam=np.full(n, 1e-2),
        new=np.ones(n, bool),
    )


def _trial_models(b: _Batch) -> np.ndarray:
    """The damped Gauss–Newton trial models (k, p) log10 m of the rows still iterating:
    (JᵀJ + P + λ·diag(JᵀJ + P)) δ = −g over the parameters that may move, shortened and
    clipped to the bounds (new rows: step 0). A parameter at a bound whose descent direction
    points outside is held for the step (active set): solved with it, its step would be clipped
    away while the others moved as if it had gone on, and its (often insensitive, hence long)
    component would shorten the whole step."""
    w, rows = b.work, b.rows
    p = w.x.shape[1]
    diag = (slice(None), np.arange(p), np.arange(p))
    jt = w.jacobian.transpose(0, 2, 1)
    a = np.matmul(jt, w.jacobian)  # JᵀJ (k, p, p); BLAS, far faster than einsum here
    a[diag] += rows.precision
    g = np.matmul(jt, w.residuals[:, :, None])[:, :, 0] + rows.precision * (w.x - rows.mean)
    g[b.new] = 0.0
    held = ((w.x <= rows.lo) & (g > 0)) | ((w.x >= rows.hi) & (g < 0))
    move = rows.free & ~held
    a *= move[:, :, None] & move[:, None, :]
    g = np.where(move, g, 0.0)
    a[diag] = (np.where(move, a[diag], 1.0) + 1e-12) * (1.0 + b.lam[:, None])
    step = np.linalg.solve(a, -g[:, :, None])[:, :, 0]
    longest = np.max(np.abs(step), axis=1, keepdims=True)
    step *= np.minimum(1.0, b.max_step[b.ids][:, None] / np.maximum(longest, 1e-300))
    return np.where(move, np.clip(w.x + step, rows.lo, rows.hi), w.x)


def _iterate(b: _Batch, evaluate: Evaluator, settings: LMSettings) -> np.ndarray:
    """One iteration of the rows still iterating; returns which of them (k,) stop."""
    # The trial models and their Jacobians in one call: accepted steps need no second call.
    trial = evaluate(_trial_models(b), b.rows)
    b.iterations[b.ids] += 1
    cost = b.work.cost
    drop = cost - trial.cost
    better = drop > 0
    small = (drop < settings.ftol * cost) | (
        (drop < settings.cost_tol) & (trial.half_ssr <= b.rows.accept)
    )
    b.work = trial.where(better, b.work)
    b.lam = np.where(b.new, 1e-2, np.where(better, np.maximum(b.lam / 3.0, 1e-7), b.lam * 5.0))
    b.new[:] = False
    fit = b.work.half_ssr <= b.rows.stop
    stop = fit | (better & small) | (b.lam > 1e7) | (b.iterations[b.ids] >= b.rows.cap)
    tag = b.tag[b.ids]
    if fit.any() and tag.any():  # a fit ends its siblings (same owner and tag)
        key = b.owner[b.ids] * (b.tag.max() + 1) + tag
        stop |= (tag > 0) & np.isin(key, key[fit])
    return stop


def _retire(b: _Batch, stop: np.ndarray) -> np.ndarray:
    """Keep the final state of the rows that ``stop`` (k,) and drop them from the iteration;
    returns the soundings (not spawned rows) among them."""
    done, keep = b.ids[stop], ~stop
    b.state.put(done, b.work.take(stop))
    b.ids, b.rows, b.lam, b.new = b.ids[keep], b.rows.take(keep), b.lam[keep], b.new[keep]
    b.work = b.work.take(keep)
    return done[done < b.n]


def _add_rows(b: _Batch, extra: ExtraRows) -> None:
    """Let the spawned rows ``extra`` join the running iteration (as new rows)."""
    k, use = extra.owner.size, extra.use_prior[:, None]
    base = b.soundings.take(extra.owner)
    added = Rows(
        log_obs=base.log_obs,
        weight=base.weight,
        free=base.free,
        mean=base.mean,
        precision=np.where(use, base.precision, 0.0),
        lo=np.log10(extra.lower),
        hi=np.log10(extra.upper),
        stop=0.5 * b.n_data * np.asarray(extra.target_chi, float) ** 2,
        accept=base.accept,
        cap=np.asarray(extra.max_iterations, int),
    )
    fresh = State.fresh(extra.starts, added, b.n_data)
    b.ids = np.concatenate([b.ids, len(b.owner) + np.arange(k)])
    b.every, b.rows = b.every.append(added), b.rows.append(added)
    b.state, b.work = b.state.append(fresh), b.work.append(fresh)
    b.lam = np.concatenate([b.lam, np.full(k, 1e-2)])
    b.new = np.concatenate([b.new, np.ones(k, bool)])
    b.prior_std = np.vstack([b.prior_std, np.where(use, b.sounding_std[extra.owner], np.inf)])
    b.owner = np.concatenate([b.owner, extra.owner])
    b.tag = np.concatenate([b.tag, extra.tag])
    b.max_step = np.concatenate([b.max_step, np.full(k, np.inf)])  # restarts take full steps
    b.iterations = np.concatenate([b.iterations, np.zeros(k, int)])


def _as_result(
    state: State, iterations: np.ndarray, owner: np.ndarray, tag: np.ndarray, n_data: int
) -> BatchRefineResult:
    """The state of m rows as a result (no covariance yet: zeros)."""
    m, p = state.x.shape
    return BatchRefineResult(
        models=10.0**state.x,
        predicted=state.predicted,
        chi=np.sqrt(2.0 * state.half_ssr / n_data),
        log10_cov=np.zeros((m, p, p)),
        residuals=state.residuals,
        jacobian=state.jacobian,
        n_iterations=iterations,
        owner=owner,
        tag=tag,
        n_forward_models=0,
    )


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
    settings: LMSettings | None = None,
    jacobian: JacobianFn | None = None,
    covariance: bool = True,
    spawn: SpawnFn | None = None,
) -> BatchRefineResult:
    """Levenberg–Marquardt refinement of n soundings at once (vectorised over the batch).

    The same problem as :func:`inversion.refine.refine` — error-weighted residuals over
    ``x = log10 m`` within the bounds, optional Gaussian ``prior`` — solved by a projected
    Levenberg–Marquardt iteration (Marquardt's diagonal scaling, damping λ ÷3 after an accepted
    step and ×5 after a rejected one, steps shortened to at most ``settings.max_step_log10``
    decades — restarts and other extra rows take full steps — and clipped to the bounds) in which
    every iteration makes ONE call for all rows still iterating, so an accepted step arrives with
    its Jacobian: ``jacobian(models)`` → ``(data (k, n_data), ∂data/∂ln m (k, n_data, p))`` where
    the forward model has exact derivatives, else ``forward`` of every trial model with its p
    forward-difference perturbations (k·(p + 1) models). ``settings`` (:class:`LMSettings`,
    default ``LMSettings()``) holds the stopping rule; the default ``cost_tol`` 0.5 (Σr² by 1, far
    below its own noise of √(2·n_data)) lets a fit that is already acceptable stop.

    ``spawn`` is called whenever soundings stop (:data:`SpawnFn`); the rows it returns
    (restarts, fits with other bounds) join the running iteration at once, and come back after
    the n soundings' rows, with ``owner`` and ``tag``. Extra rows with the same owner and tag
    are alternatives: when one reaches its target χ the others stop.

    ``starts`` (n, p) physical models (fixed parameters already at their value);
    ``observed``, ``sigma`` (n, n_data) (σ relative for ρa, degrees for phase; ρa > 0);
    ``is_phase`` (n_data,); ``lower``/``upper`` (p,) or (n, p) bounds in physical units;
    ``fixed`` (n, p) bool, True where the parameter is held; ``prior`` ((n, p), (n, p)) mean and
    std of log10 m (an infinite std: no prior on that parameter). ``covariance=False`` skips
    the posterior covariance (``log10_cov`` is then all zeros).
    """
    settings = LMSettings() if settings is None else settings
    starts = np.atleast_2d(np.asarray(starts, dtype=float))
    observed = np.atleast_2d(np.asarray(observed, dtype=float))
    is_phase = np.asarray(is_phase, dtype=bool)
    b = _start(starts, observed, sigma, is_phase, (lower, upper), fixed, prior, settings)
    evaluate = Evaluator(forward, jacobian, is_phase, starts.shape[1], settings.step_log10)
    while b.ids.size:
        stop = _iterate(b, evaluate, settings)
        if not stop.any():
            continue
        done = _retire(b, stop)
        if spawn is None or not done.size:
            continue
        now = _as_result(b.state.take(done), b.iterations[done], done, b.tag[done], b.n_data)
        extra = spawn(done, now)
        if extra is not None and extra.owner.size:
            _add_rows(b, extra)
    out = _as_result(b.state, b.iterations, b.owner, b.tag, b.n_data)
    out.n_forward_models = evaluate.n_models
    if covariance:
        out.log10_cov = batch_covariance(
            out.jacobian, b.every.free, b.every.hi - b.every.lo, b.prior_std
        )
    return out
