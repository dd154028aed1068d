"""Smooth (Occam) models: many fixed layers, the smoothest resistivities that fit the data.

On a fixed stack of layers (:mod:`inversion.smooth_stack`) the unknowns are x = log10 ρ of each
layer. With error-weighted residuals r(x) (:class:`inversion.smooth_problem.StackProblem`) —
``(ln ρa_pred − ln ρa_obs)/σ_rel`` and ``(φ_pred − φ_obs)/σ_φ``, the convention of
:mod:`inversion.misfit` and :func:`inversion.lm_batch.refine_batch` — the objective is

    Φ(x) = ‖r(x)‖² + λ (‖R x‖² + α ‖x − x_ref‖²)

with R the first differences of x between neighbouring layers and a weak reference term (α,
``OccamSettings.reference_weight``, pulling towards the start's mean log10 ρ; it only keeps the
layers the data do not see well-posed). Each Gauss–Newton iteration linearises r about the
current x and solves, for a grid of λ at once,

    (JᵀJ + λQ) x(λ) = JᵀJ x − Jᵀr + λα x_ref,   Q = RᵀR + αI,

then forward-models every x(λ) in one call (the first iteration's grid spans 8 decades around
trace(JᵀJ)/trace(Q), later ones ±1.5 decades around the previous λ) and picks λ as Occam does
(Constable, Parker & Constable 1987, Geophysics 52:289): while no x(λ) reaches the target χ,
the one with the least χ (phase 1, step-halved when it does not lower χ); once some do, the
largest λ — the smoothest model — that still reaches it, located between grid values by
interpolation (phase 2; from a model that fits but whose full steps all miss the target, the
steps are cut to 1/2, 1/4, 1/8). Steps are shortened to ``max_step_log10`` decades. It stops
when χ ≤ target and the roughness ‖Rx‖ changes by less than ``roughness_rtol``, when phase 1 no
longer lowers χ (the smallest reachable χ), or after ``max_iterations``.

Where a forward is dear (TEM: a 20–35-layer stack model takes milliseconds, its Jacobian about
1.5 forwards), the line search can run on the linearised misfit instead (``OccamSettings.
line_search = "linearised"``; ‖r + J·Δx‖ costs no forward once J is known): the same choice made
on a fine λ grid (20 per decade) from the linearised χ, and only the chosen model
forward-modelled to verify it; a miss gets one more forward call (phase 2: the step cut to 1/2,
1/4, 1/8 and the λ for the target lowered by the linearisation's error; phase 1: a few larger λ
and the cut steps) before the iteration ends. :func:`linearised_start` gives such a search a
smooth start from the layered answer's Jacobian, which the layered model's DOI needs anyway
(:mod:`inversion.served.smooth_result`).

Several starts may be given; they are tried in the order given until one ends near the target.
Where none does (data that no model on the stack fits to their errors), the least χ found sets
a relaxed target, ``UNREACHABLE_MARGIN`` (10 %) above it, and the smoothest model that
reaches it is taken from the first start that does — Occam's rule for data that cannot be
fitted to their errors.
The served path (:mod:`inversion.served.smooth_result`) gives a half-space first (a start that
already fits, such as the blocky layered model, keeps its sharp interfaces: Occam's steps towards
smoothness then miss the target and are cut short), then the chosen layered model mapped onto the
stack; for TEM it gives :func:`linearised_start` before them. Uncertainty: the regularised
posterior covariance C = (JᵀJ + λQ)⁻¹ of x at the final model, its standard deviations scaled by
χ when χ > 1.

Measured alternatives (``bench/smooth.py``, docs/methods.md "Accuracy and what limits it"): R as
a derivative in log depth, with depth weights, or as second differences (Constable et al.'s R₂);
4 λ per decade; fewer smoothing iterations; the layered start first — none changed the synthetic
accuracy by more than a few of ~90 scored layers, nor did an IRLS L1 or minimum-gradient-support
roughness (a blocky family, compared only). Most true layers it misses are not resolved by the
data: a model with the true number of layers fits as well as the truth with that layer's ρ 0.31
decades off (equivalence); on the resolved ones it is within 0.3 decades in 98–100 %.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import scipy.linalg

from .smooth_problem import SmoothModelError, StackProblem, weighted_jacobian

__all__ = [
    "UNREACHABLE_MARGIN",
    "OccamSettings",
    "SmoothFit",
    "SmoothModelError",
    "invert_smooth",
    "linearised_start",
    "weighted_jacobian",
]


#: where no start reaches the target χ, the smoothest model within this factor of the least χ
UNREACHABLE_MARGIN = 1.1


@dataclass
class OccamSettings:
    """``target_chi`` of phase 2; the λ grid: ``lambda_decades`` (low, high) around
    trace(JᵀJ)/trace(Q) with ``lambdas_per_decade`` in the first iteration, then
    ±``later_decades`` around the previous λ; ``reference_weight`` α; stopping:
    ``max_iterations``, ``roughness_rtol``, ``chi_rtol`` (phase 1 gains below it end);
    ``max_step_log10``: each trial step is shortened to at most this many decades;
    ``fallback_chi``: a run ending above this multiple of the target tries the next start.

    ``line_search``: ``"forward"`` forward-models every trial model of the λ grid (Occam's
    line search); ``"linearised"`` picks λ from the linearised misfit ‖r + J·Δx‖ on
    ``lambda_decades`` at ``linearised_per_decade`` and forward-models only that model
    (:func:`_linearised_step`; retries ``retry_decades`` larger λ in phase 1, and stops once
    ``converged_low``·target ≤ χ ≤ ``converged_chi``·target and the next step would move no
    layer by more than ``converged_step_log10`` or change ‖Rx‖ by less than
    ``roughness_rtol``).
    ``relax_from_starts``: where no start reaches the target, the relaxed run repeats every
    start (True) or continues from the least-χ model (False).

    The linearised search's values were measured on the 20 TEM synthetics of ``bench/smooth.py
    --n 20 --methods tem-coincident-loop`` (forward work per sounding: forwards + 5 × Jacobians,
    p50 / p95; with ``chi_rtol`` 0.05 as TEM's settings): 20 λ per decade 19 / 42, 10 per
    decade 19 / 47, 40 the same as 20, 5 left 5 % of the soundings outside χ [0.9, 1.2];
    ``converged_step_log10`` 0.15 against 0: 19 / 42 against 22 / 42; ``converged_chi`` 1.05
    against 1.0: 19 / 42 against 22 / 42, 1.2: 19 / 41 but accuracy 0.77 → 0.73; phase 1
    retries at (0.5, 1, 2) decades against only the cut steps: 19 / 42 against 19 / 50."""

    target_chi: float = 1.0
    lambda_decades: tuple[float, float] = (-5.0, 3.0)
    lambdas_per_decade: int = 2
    later_decades: float = 1.5
    reference_weight: float = 1e-3
    max_iterations: int = 15
    roughness_rtol: float = 0.02
    chi_rtol: float = 0.01
    max_step_log10: float = 1.0
    fallback_chi: float = 1.2
    line_search: Literal["forward", "linearised"] = "forward"
    linearised_per_decade: int = 20
    retry_decades: tuple[float, ...] = (0.5, 1.0, 2.0)
    converged_step_log10: float = 0.15
    converged_chi: float = 1.05
    converged_low: float = 0.9
    relax_from_starts: bool = True


@dataclass
class SmoothFit:
    """A smooth model: ``log10_rho`` (N,), ``predicted`` (n_data,), ``chi``, ``lam`` (the
    final λ), ``n_iterations``, ``jacobian`` (n_data, N) ∂r/∂log10 ρ at the final model,
    ``log10_std`` (N,) posterior standard deviations (scaled by χ when χ > 1), ``reference``
    (N,) the reference model x_ref it was regularised towards."""

    log10_rho: np.ndarray
    predicted: np.ndarray
    chi: float
    lam: float
    n_iterations: int
    jacobian: np.ndarray
    log10_std: np.ndarray
    reference: np.ndarray


def _first_differences(n: int) -> np.ndarray:
    """R (n−1, n): (Rx)_i = x_{i+1} − x_i."""
    return np.eye(n - 1, n, 1) - np.eye(n - 1, n)


def _shorten(
    x: np.ndarray, trial: np.ndarray, max_step: float, bounds: tuple[float, float]
) -> np.ndarray:
    """Trial models (k, N) moved from ``x`` (N,) by at most ``max_step`` decades in any
    layer (the step's direction kept), clipped to ``bounds`` (log10 ρ)."""
    step = trial - x
    longest = np.max(np.abs(step), axis=1, keepdims=True)
    step *= np.minimum(1.0, max_step / np.maximum(longest, 1e-300))
    return np.clip(x + step, *bounds)


def _solve(
    jtj: np.ndarray, rhs: np.ndarray, q: np.ndarray, lams: np.ndarray, ref: np.ndarray
) -> np.ndarray:
    """x(λ) (k, N) of (JᵀJ + λQ) x = rhs + λ·ref for each λ in ``lams`` (k,): one generalised
    eigendecomposition JᵀJ V = Q V diag(μ), VᵀQV = I (Q is positive definite), then
    x(λ) = V (Vᵀrhs + λVᵀref)/(μ + λ) for every λ (a 30-layer stack, 161 λ: 0.3 ms against
    2.4 ms for the k solves, the same x to 10⁻⁹ relative)."""
    mu, v = scipy.linalg.eigh(jtj, q)
    coef = (v.T @ rhs)[None] + lams[:, None] * (v.T @ ref)[None]
    return (coef / (mu[None] + lams[:, None])) @ v.T


def invert_smooth(
    fwd: Any,
    observed: np.ndarray,
    sigma: np.ndarray,
    is_phase: np.ndarray,
    thickness_m: np.ndarray,
    start_log10_rho: np.ndarray,
    rho_range_ohmm: tuple[float, float],
    settings: OccamSettings | None = None,
    reference_log10_rho: np.ndarray | None = None,
) -> SmoothFit:
    """The smoothest model on the stack ``thickness_m`` (N−1,) m that reaches the target χ.

    ``fwd``: a forward model of N layers on the observed geometry
    (``forward_models.create(name, n_layers=N, **geometry)``); ``observed``/``sigma``
    (n_data,) data and errors (σ a fraction for ρa-like data, degrees for phase);
    ``is_phase`` (n_data,) bool; ``start_log10_rho`` (N,) the start, or (k, N) starts tried in
    the order given until one ends at χ ≤ ``fallback_chi``·target (else the least χ is kept);
    ``rho_range_ohmm`` (lower, upper) bounds every layer's ρ; ``reference_log10_rho`` (N,) the
    reference model x_ref (default: each start's mean log10 ρ). See the module docstring for the
    algorithm. Raises :class:`SmoothModelError` when no start gives finite data.
    """
    s = settings or OccamSettings()
    prob = StackProblem(fwd, observed, sigma, is_phase, thickness_m, s.line_search == "linearised")
    bounds = (float(np.log10(rho_range_ohmm[0])), float(np.log10(rho_range_ohmm[1])))
    starts = np.clip(np.atleast_2d(np.asarray(start_log10_rho, dtype=float)), *bounds)
    refs = [
        np.full(starts.shape[1], start.mean())
        if reference_log10_rho is None
        else np.asarray(reference_log10_rho, dtype=float)
        for start in starts
    ]
    best, failure = _first_fit(prob, starts, refs, bounds, s, s.fallback_chi * s.target_chi)
    if best is None:
        assert failure is not None
        raise failure
    if best.chi > s.fallback_chi * s.target_chi:
        # χ = target is out of reach: the smoothest model within UNREACHABLE_MARGIN of the least
        # χ found, from the starts in order (Occam's rule for data that cannot be fitted to
        # their errors)
        relaxed = replace(s, target_chi=UNREACHABLE_MARGIN * best.chi)
        if not s.relax_from_starts:  # the least-χ model already reaches the relaxed target
            starts, refs = best.log10_rho[None], [best.reference]
        smoother, _ = _first_fit(prob, starts, refs, bounds, relaxed, relaxed.target_chi)
        if smoother is not None and smoother.chi <= relaxed.target_chi:
            return smoother
    return best


def linearised_start(
    about: np.ndarray,
    residuals: np.ndarray,
    jacobian: np.ndarray,
    rho_range_ohmm: tuple[float, float],
    settings: OccamSettings | None = None,
) -> np.ndarray:
    """A smooth start (N,) log10 ρ from the data linearised about the model ``about`` (N,)
    log10 ρ (the layered answer on the stack), with its residuals (n_data,) and Jacobian
    ∂r/∂log10 ρ (n_data, N) (:meth:`StackProblem.linearise`): the solution of Occam's system
    (JᵀJ + λQ) x = JᵀJ·about − Jᵀr + λα·x_ref, x_ref the mean of ``about``, for the largest λ
    of the fine grid (``lambda_decades``, ``linearised_per_decade``) whose linearised χ reaches
    the target — or ``UNREACHABLE_MARGIN`` × the least linearised χ where that is larger — not
    shortened, clipped to ``rho_range_ohmm``. No forward: a smooth model near the data, where
    the blocky model itself, already fitting, would keep its interfaces (module docstring)."""
    s = settings or OccamSettings()
    _, q = _regulariser(about.size, s)
    jtj = jacobian.T @ jacobian
    lams = _fine_lambdas(jtj, q, s)
    ref = np.full(about.size, s.reference_weight * about.mean())
    models = _solve(jtj, jtj @ about - jacobian.T @ residuals, q, lams, ref)
    chi_lin = _linearised_chi(about, residuals, jacobian, models)
    goal = max(s.target_chi, UNREACHABLE_MARGIN * float(chi_lin.min()))
    return np.clip(models[_largest_fitting(chi_lin, goal)], *np.log10(rho_range_ohmm))


def _first_fit(
    prob: StackProblem,
    starts: np.ndarray,
    refs: list[np.ndarray],
    bounds: tuple[float, float],
    s: OccamSettings,
    accept_chi: float,
) -> tuple[SmoothFit | None, SmoothModelError | None]:
    """Occam from each start (k, N) with its reference, in order, until one ends at
    χ ≤ ``accept_chi``: ``(the least-χ fit or None, the last failure or None)``."""
    best: SmoothFit | None = None
    failure: SmoothModelError | None = None
    for start, ref in zip(starts, refs, strict=True):
        try:
            fit = _occam(prob, start, ref, bounds, s)
        except SmoothModelError as exc:  # this start fails; another may not
            failure = exc
            continue
        if best is None or fit.chi < best.chi:
            best = fit
        if best.chi <= accept_chi:
            break
    return best, failure


def _occam(
    prob: StackProblem,
    x: np.ndarray,
    reference: np.ndarray,
    bounds: tuple[float, float],
    s: OccamSettings,
) -> SmoothFit:
    """Occam's iteration from the start ``x`` (N,) log10 ρ with the reference model
    ``reference`` (N,) within ``bounds`` (log10 ρ)."""
    r_mat, q = _regulariser(x.size, s)
    ref = s.reference_weight * reference
    pred, r, jac = prob.linearise(x)
    chi = float(np.sqrt(np.mean(r * r)))
    lam, iterations = float("nan"), 0
    while iterations < s.max_iterations:
        iterations += 1
        jtj = jac.T @ jac
        system = (jtj, jtj @ x - jac.T @ r, q, ref)
        if s.line_search == "linearised":
            step = _linearised_step(prob, system, x, r, jac, chi, bounds, s)
        else:
            step = _forward_step(prob, system, x, chi, lam, bounds, s)
        if step is None:
            break
        rough_old = float(np.linalg.norm(r_mat @ x))
        was_fit = chi <= s.target_chi
        x, _, lam = step
        pred, r, jac = prob.linearise(x)
        chi = float(np.sqrt(np.mean(r * r)))
        rough = float(np.linalg.norm(r_mat @ x))
        if (
            was_fit
            and chi <= s.target_chi
            and abs(rough - rough_old) <= s.roughness_rtol * (rough_old + 1e-12)
        ):
            break
    if not np.isfinite(lam):
        lam = float(np.trace(jac.T @ jac) / np.trace(q)) * 10.0 ** s.lambda_decades[0]
    cov = np.linalg.inv(jac.T @ jac + lam * q)
    std = np.sqrt(np.maximum(np.diag(cov), 0.0)) * max(1.0, chi)
    return SmoothFit(x, pred, chi, float(lam), iterations, jac, std, reference)


def _lambda_scale(jtj: np.ndarray, q: np.ndarray) -> float:
    """trace(JᵀJ)/trace(Q), the centre of the λ grid; raises :class:`SmoothModelError` when
    the data do not see the model."""
    scale = float(np.trace(jtj) / np.trace(q))
    if not (np.isfinite(scale) and scale > 0):
        raise SmoothModelError("the data are insensitive to the stack model")
    return scale


def _fine_lambdas(jtj: np.ndarray, q: np.ndarray, s: OccamSettings) -> np.ndarray:
    """The linearised search's λ grid (k,): ``lambda_decades`` around trace(JᵀJ)/trace(Q) at
    ``linearised_per_decade``, ascending."""
    lo, hi = s.lambda_decades
    return _lambda_scale(jtj, q) * 10.0 ** np.arange(lo, hi + 1e-9, 1.0 / s.linearised_per_decade)


def _forward_step(
    prob: StackProblem,
    system: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    x: np.ndarray,
    chi: float,
    lam: float,
    bounds: tuple[float, float],
    s: OccamSettings,
) -> tuple[np.ndarray, float, float] | None:
    """One step of Occam's line search by forwards: every trial model of the λ grid (around
    ``lam``, or the first grid when it is NaN) forward-modelled and chosen from (module
    docstring); ``(x, χ, λ)`` of the new model from ``x`` (N,) at χ ``chi``, or None when the
    iteration ends. ``system`` (JᵀJ, rhs, Q, λ-reference) of :func:`_solve`."""
    jtj, rhs, q, ref = system
    step = 1.0 / s.lambdas_per_decade
    if np.isfinite(lam):
        lams = lam * 10.0 ** np.arange(-s.later_decades, s.later_decades + 1e-9, step)
    else:
        lo, hi = s.lambda_decades
        lams = _lambda_scale(jtj, q) * 10.0 ** np.arange(lo, hi + 1e-9, step)
    trial = _shorten(x, _solve(jtj, rhs, q, lams, ref), s.max_step_log10, bounds)
    chis = prob.chi(prob.forward(trial))
    if chi <= s.target_chi and not np.any(chis <= s.target_chi):
        # no smoother model fits within this linearisation when even the cut steps miss
        return _shortened_fit(prob, x, trial, lams, s.target_chi)
    new_x, new_chi, new_lam = _occam_choice(prob, system, x, bounds, lams, trial, chis, s)
    if new_chi > s.target_chi and new_chi >= chi * (1.0 - s.chi_rtol):
        halves = x + np.array([0.5, 0.25, 0.125])[:, None] * (new_x - x)
        half_chis = prob.chi(prob.forward(halves))
        best = int(np.argmin(half_chis))
        if not half_chis[best] < chi * (1.0 - s.chi_rtol):
            return None  # phase 1 lowers χ no further: the smallest reachable
        new_x, new_chi = halves[best], float(half_chis[best])
    return new_x, new_chi, new_lam


def _shortened_fit(
    prob: StackProblem, x: np.ndarray, trial: np.ndarray, lams: np.ndarray, target: float
) -> tuple[np.ndarray, float, float] | None:
    """Phase 2 when no full step of the λ grid fits: the steps to ``trial`` (k, N) from ``x``
    (N,) cut to 1/2, 1/4 and 1/8; ``(x, χ, λ)`` of the largest λ (k,) with a fitting cut step
    (its longest), or None when none fits."""
    fractions = np.array([0.5, 0.25, 0.125])
    cut = x + fractions[:, None, None] * (trial - x)[None]  # (3, k, N)
    chis = prob.chi(prob.forward(cut.reshape(-1, x.size))).reshape(fractions.size, -1)
    fits = np.argwhere(chis <= target)
    if not fits.size:
        return None
    j = int(fits[:, 1].max())
    f = int(fits[fits[:, 1] == j, 0].min())
    return cut[f, j], float(chis[f, j]), float(lams[j])


def _occam_choice(
    prob: StackProblem,
    system: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    x: np.ndarray,
    bounds: tuple[float, float],
    lams: np.ndarray,
    trial: np.ndarray,
    chis: np.ndarray,
    s: OccamSettings,
) -> tuple[np.ndarray, float, float]:
    """Occam's choice among the trial models (k, N) of the λ grid with their χ (k,):
    ``(x, χ, λ)`` — the least χ while none reaches the target, else the largest λ that does,
    moved towards the target by interpolating log λ between it and the next grid value.
    ``system`` (JᵀJ, rhs, Q, λ-reference) of :func:`_solve` at the current model ``x`` (N,);
    ``bounds`` on log10 ρ."""
    chis = np.where(np.isfinite(chis), chis, np.inf)
    fits = np.flatnonzero(chis <= s.target_chi)
    if not fits.size:
        i = int(np.argmin(chis))
        return trial[i], float(chis[i]), float(lams[i])
    i = int(fits.max())
    if i + 1 < lams.size and np.isfinite(chis[i + 1]):
        t = (s.target_chi - chis[i]) / (chis[i + 1] - chis[i])
        lam = float(np.exp(np.log(lams[i]) + t * (np.log(lams[i + 1]) - np.log(lams[i]))))
        jtj, rhs, q, ref = system
        better = _shorten(x, _solve(jtj, rhs, q, np.array([lam]), ref), s.max_step_log10, bounds)
        chi = float(prob.chi(prob.forward(better))[0])
        if chi <= s.target_chi:
            return better[0], chi, lam
    return trial[i], float(chis[i]), float(lams[i])


def _regulariser(n: int, s: OccamSettings) -> tuple[np.ndarray, np.ndarray]:
    """``(R (n−1, n), Q = RᵀR + αI (n, n))``: first differences and Occam's regulariser."""
    r_mat = _first_differences(n)
    return r_mat, r_mat.T @ r_mat + s.reference_weight * np.eye(n)


def _linearised_chi(
    x: np.ndarray, r: np.ndarray, jac: np.ndarray, trials: np.ndarray
) -> np.ndarray:
    """χ (k,) of the linearised residuals r + J·(trial − x) of ``trials`` (k, N) about ``x``
    (N,) with residuals ``r`` (n_data,) and Jacobian ``jac`` (n_data, N): no forward."""
    return np.sqrt(np.mean((r[None] + (trials - x) @ jac.T) ** 2, axis=1))


def _largest_fitting(chi_lin: np.ndarray, goal: float) -> int:
    """Index of the largest λ whose χ (k,) (λ ascending) reaches ``goal``, else of the least χ."""
    fits = np.flatnonzero(chi_lin <= goal)
    return int(fits.max()) if fits.size else int(np.argmin(chi_lin))


def _linearised_trials(
    system: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    x: np.ndarray,
    r: np.ndarray,
    jac: np.ndarray,
    bounds: tuple[float, float],
    s: OccamSettings,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(λ (k,), trial models (k, N), linearised χ (k,))`` for the fine λ grid at the model
    ``x`` (N,) with residuals ``r`` (n_data,) and Jacobian ``jac`` (n_data, N): the linearised
    residuals r + J·(trial − x) of each (step-shortened) trial model, no forward."""
    jtj, rhs, q, ref = system
    lams = _fine_lambdas(jtj, q, s)
    trial = _shorten(x, _solve(jtj, rhs, q, lams, ref), s.max_step_log10, bounds)
    return lams, trial, _linearised_chi(x, r, jac, trial)


def _linearised_step(
    prob: StackProblem,
    system: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    x: np.ndarray,
    r: np.ndarray,
    jac: np.ndarray,
    chi: float,
    bounds: tuple[float, float],
    s: OccamSettings,
) -> tuple[np.ndarray, float, float] | None:
    """One step of Occam's line search on the linearised misfit, from ``x`` (N,) at χ ``chi``
    (residuals ``r`` (n_data,), Jacobian ``jac`` (n_data, N)): ``(x, χ, λ)`` of the new model,
    or None when the iteration ends.

    λ is the largest of the fine grid whose linearised χ reaches the target (else the one of
    least linearised χ), and only its trial model is forward-modelled; it is taken when it fits
    or, in phase 1, lowers χ by ``chi_rtol``; otherwise :func:`_phase2_retry` or
    :func:`_phase1_retry`. A model at ``converged_low``·target ≤ χ ≤ ``converged_chi``·target
    whose next step is :func:`_converged` ends the iteration before any forward (below
    ``converged_low`` the step towards the target is taken however small: it smooths)."""
    lams, trial, chi_lin = _linearised_trials(system, x, r, jac, bounds, s)
    target, fitting = s.target_chi, chi <= s.target_chi
    i = _largest_fitting(chi_lin, target)
    if s.converged_low * target <= chi <= s.converged_chi * target and _converged(x, trial[i], s):
        return None
    new_chi = float(prob.chi(prob.forward(trial[i]))[0])
    if new_chi <= target or (not fitting and new_chi < chi * (1.0 - s.chi_rtol)):
        return trial[i], new_chi, float(lams[i])
    if fitting:
        j = _largest_fitting(chi_lin, target - (new_chi - chi_lin[i]))
        return _phase2_retry(prob, x, target, lams, trial, i, j)
    return _phase1_retry(prob, x, chi, lams, trial, i, s)


def _phase2_retry(
    prob: StackProblem,
    x: np.ndarray,
    target: float,
    lams: np.ndarray,
    trial: np.ndarray,
    i: int,
    j: int,
) -> tuple[np.ndarray, float, float] | None:
    """Phase 2 when the linearised choice ``trial[i]`` (of ``trial`` (k, N) for ``lams`` (k,))
    misses the target: the step to it cut to 1/2, 1/4, 1/8 and ``trial[j]`` (the choice for
    the target lowered by the linearisation's error), in one forward call; ``(x, χ, λ)`` of
    the longest cut step that fits (towards the smoothest model), else of ``trial[j]`` if it
    fits, else None (no smoother model fits within this linearisation)."""
    cut = x + np.array([0.5, 0.25, 0.125])[:, None] * (trial[i] - x)
    candidates = np.vstack([cut, trial[j]])
    chis = prob.chi(prob.forward(candidates))
    fits = np.flatnonzero(chis <= target)
    if not fits.size:
        return None
    k = int(fits.min())
    return candidates[k], float(chis[k]), float(lams[i] if k < cut.shape[0] else lams[j])


def _converged(x: np.ndarray, trial: np.ndarray, s: OccamSettings) -> bool:
    """Whether the step from ``x`` (N,) to ``trial`` (N,) is too small to go on: no layer moves
    by more than ``converged_step_log10``, or ‖Rx‖ changes by less than ``roughness_rtol``."""
    if np.max(np.abs(trial - x)) <= s.converged_step_log10:
        return True
    rough, new_rough = (float(np.linalg.norm(np.diff(v))) for v in (x, trial))
    return abs(new_rough - rough) <= s.roughness_rtol * (rough + 1e-12)


def _phase1_retry(
    prob: StackProblem,
    x: np.ndarray,
    chi: float,
    lams: np.ndarray,
    trial: np.ndarray,
    i: int,
    s: OccamSettings,
) -> tuple[np.ndarray, float, float] | None:
    """Phase 1 when the linearised choice ``trial[i]`` (of ``trial`` (k, N) for ``lams`` (k,))
    does not lower χ: the trial models ``retry_decades`` larger λ and the step to ``trial[i]``
    cut to 1/2, 1/4, 1/8, in one forward call; ``(x, χ, λ)`` of the largest λ among them that
    fits, else of the least χ if it lowers ``chi`` by ``chi_rtol``, else None (the smallest
    reachable χ)."""
    offsets = np.round(np.asarray(s.retry_decades) * s.linearised_per_decade).astype(int)
    larger = np.unique(np.minimum(i + offsets, lams.size - 1))
    cut = x + np.array([0.5, 0.25, 0.125])[:, None] * (trial[i] - x)
    candidates = np.vstack([trial[larger], cut])
    chis = prob.chi(prob.forward(candidates))
    cand_lams = np.concatenate([lams[larger], np.full(cut.shape[0], lams[i])])
    fits = np.flatnonzero(chis <= s.target_chi)
    k = int(fits[np.argmax(cand_lams[fits])]) if fits.size else int(np.argmin(chis))
    if not (chis[k] <= s.target_chi or chis[k] < chi * (1.0 - s.chi_rtol)):
        return None
    return candidates[k], float(chis[k]), float(cand_lams[k])
