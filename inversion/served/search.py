"""The robust search: many starts refined against the exact forward model, to the minimum.

For one sounding and one layer count, the starts are the served network's answer and its
members, the neighbouring layer count's refined model with one layer split, a caller's start
model, and draws from the served networks' own prior (random canonical models scaled into the
sounding's frame). All are screened by χ in one forward call; the best ``n_refined`` (the network
answer and the given starts always among them) are refined as one batch by
:func:`inversion.lm_batch.refine_batch` without a target χ (each to its minimum, not stopped at
χ ≤ 1), within wide bounds (:func:`bounds_for`), and the best row is kept. With ``cull_after``
(TEM) every start takes that many iterations first and only the best ``n_kept`` go on.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..layers import TO_MINIMUM
from ..lm_batch import refine_batch
from ..misfit import chi as chi_of
from .frame import MU0, SKIN_M, MethodSpec

__all__ = [
    "DROP_STARTS",
    "MERGE_WITHIN_LOG10",
    "Best",
    "SearchSettings",
    "bounds_for",
    "drop_interfaces",
    "merge_layers",
    "refine_starts",
    "split_layers",
]

#: neighbouring layers whose resistivities differ by less than this (decades, ~2.3 %) are one
MERGE_WITHIN_LOG10 = 0.01
#: starts with one interface removed (:func:`drop_interfaces`) refined per smaller layer count
DROP_STARTS = 4


@dataclass
class SearchSettings:
    """``n_draws`` prior draws screened, ``n_refined`` starts refined, ``max_iterations`` of
    each, ``seed`` of the draws; ``model_jacobian``: use the forward model's
    ``forward_and_jacobian`` (else forward differences in the refinement); ``ftol``: a row
    stops when an accepted step lowers ½Σr² by less than this fraction; ``cull_after``:
    after that many iterations only the best ``n_kept`` rows by χ go on (0: all go on);
    ``answer_copies``: the network's answer is the best-fitting of its answers to the sounding
    and to that many copies with noise of ``copy_noise`` times the network's training noise on
    the observed grid points (VES and MT; 0: the sounding alone; docs/methods.md)."""

    n_draws: int = 1024
    n_refined: int = 48
    max_iterations: int = 60
    seed: int = 0
    model_jacobian: bool = True
    ftol: float = TO_MINIMUM.ftol
    cull_after: int = 0
    n_kept: int = 5
    answer_copies: int = 32
    copy_noise: float = 2.0

    def for_method(self, spec: MethodSpec) -> SearchSettings:
        """The settings for ``spec``: TEM forward models cost ~100× a VES one, so TEM screens
        at most 256 draws, refines at most 12 starts for 8 iterations and only the best
        ``n_kept`` (5) of them on, to at most 40 iterations in all or until a step gains less
        than 10⁻⁴ of ½Σr², with the forward model's exact Jacobian (reverse mode, 2.5–2.8× a
        forward, where forward differences cost p + 1 forwards): ~5× faster than 12 starts ×
        30 forward-difference iterations, at the same or lower χ on the field files
        (docs/benchmarks.md)."""
        if not spec.is_tem:
            return self
        return replace(
            self,
            n_draws=min(self.n_draws, 256),
            n_refined=min(self.n_refined, 12),
            max_iterations=min(self.max_iterations, 40),
            ftol=max(self.ftol, 1e-4),
            cull_after=self.cull_after or 8,
        )


@dataclass
class Best:
    """The best refined model of one layer count: ``model`` (p,), ``predicted`` (n_data,),
    ``chi``, ``log10_cov`` (p, p), ``n_starts`` refined, ``start`` which start won
    (``network``, ``member``, ``split``, ``given``, ``prior``, ``frame``, ``merged`` or
    ``dropped``), ``iterations``: the Levenberg–Marquardt iterations of the winning row (the
    start's evaluation counts as one); ``network_iterations``: those of the row started at the
    network's answer, to its own minimum (None without a network answer, or where it was
    culled before the minimum; a fit found again from a larger layer count's seeds keeps the
    first search's)."""

    model: np.ndarray
    predicted: np.ndarray
    chi: float
    log10_cov: np.ndarray
    n_starts: int
    start: str
    iterations: int
    network_iterations: int | None = None


def bounds_for(
    spec: MethodSpec, n_layers: int, axis: np.ndarray, rho_a_ohmm: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Refinement bounds (p,) lower/upper: ρ in the served range; thicknesses from 1/20 of the
    shallowest to 10× the deepest depth the data see (VES: AB/2; MT: skin depths of the
    smallest and largest ρa at the first and last period; TEM: diffusion depths √(2tρa/μ₀) of
    the smallest late-time ρa at the first time and of the largest of the later half of the
    gates at the last), in m."""
    rho_lo, rho_hi = spec.rho_range_ohmm
    if spec.is_tem:
        late = rho_a_ohmm[rho_a_ohmm.size // 2 :]
        shallow = np.sqrt(2 * max(float(rho_a_ohmm.min()), rho_lo) * float(axis[0]) / MU0)
        deep = np.sqrt(2 * float(late.max()) * float(axis[-1]) / MU0)
    elif spec.has_phase:
        shallow = SKIN_M * np.sqrt(max(float(rho_a_ohmm.min()), rho_lo) * float(axis[0]))
        deep = SKIN_M * np.sqrt(float(rho_a_ohmm.max()) * float(axis[-1]))
    else:
        shallow, deep = float(axis[0]), float(axis[-1])
    h_lo, h_hi = max(shallow / 20.0, 1e-2), min(deep * 10.0, 1e7)
    lower = np.concatenate([np.full(n_layers, rho_lo), np.full(n_layers - 1, h_lo)])
    upper = np.concatenate([np.full(n_layers, rho_hi), np.full(n_layers - 1, h_hi)])
    return lower, upper


def split_layers(model: np.ndarray, n_layers: int) -> np.ndarray:
    """Models of n_layers + 1 layers (n_layers, 2N+1) from one of ``n_layers``: each layer in
    turn split in two (the half-space at twice the deepest interface, or at a depth of 1 for a
    half-space) — starts for the next layer count."""
    rho, thk = model[:n_layers], model[n_layers:]
    depth = float(thk.sum()) if thk.size else 1.0
    out = []
    for i in range(n_layers):
        new_rho = np.insert(rho, i, rho[i])
        if i < n_layers - 1:
            new_thk = np.concatenate([thk[:i], [thk[i] / 2, thk[i] / 2], thk[i + 1 :]])
        else:
            new_thk = np.concatenate([thk, [max(depth, 1e-6)]])
        new_rho[i + 1] = new_rho[i + 1] * (3.0 if i % 2 == 0 else 1 / 3.0)
        out.append(np.concatenate([new_rho, new_thk]))
    return np.asarray(out)


def merge_layers(model: np.ndarray, n_layers: int) -> np.ndarray:
    """The model (2N'−1,) with each run of neighbouring layers whose ρ differ by less than
    ``MERGE_WITHIN_LOG10`` decades merged into one (thicknesses summed, ρ their thickness-
    weighted geometric mean; a run that reaches the half-space takes the half-space's ρ): an
    N-layer fit with two equal layers is an N'-layer model, N' < N. Unchanged if none merge."""
    rho, thk = np.asarray(model[:n_layers], float), np.asarray(model[n_layers:], float)
    log_rho = np.log10(rho)
    runs: list[list[int]] = [[0]]
    for i in range(1, n_layers):
        if abs(log_rho[i] - log_rho[runs[-1][-1]]) < MERGE_WITHIN_LOG10:
            runs[-1].append(i)
        else:
            runs.append([i])
    if len(runs) == n_layers:
        return np.asarray(model, dtype=float)
    new_rho, new_thk = [], []
    for run in runs:
        if run[-1] == n_layers - 1:  # the run ends in the half-space
            new_rho.append(rho[-1])
            continue
        h = thk[run]
        new_rho.append(10.0 ** float(np.sum(h * log_rho[run]) / np.sum(h)))
        new_thk.append(float(np.sum(h)))
    return np.concatenate([new_rho, new_thk])


def drop_interfaces(model: np.ndarray, n_layers: int) -> np.ndarray:
    """Models of n_layers − 1 layers (2(n_layers − 1), 2N−3) from one of ``n_layers`` ≥ 2: each
    interface in turn removed, the joined layer taking the ρ of the layer above it, then of the
    one below (thicknesses summed; an interface above the half-space removed leaves the
    half-space the upper or lower ρ) — starts for the next smaller layer count."""
    rho, thk = np.asarray(model[:n_layers], float), np.asarray(model[n_layers:], float)
    out = []
    for i in range(n_layers - 1):
        if i == n_layers - 2:  # the interface above the half-space: the half-space moves up
            joined = thk[:i]
        else:
            joined = np.concatenate([thk[:i], [thk[i] + thk[i + 1]], thk[i + 2 :]])
        for keep in (i, i + 1):
            out.append(np.concatenate([np.delete(rho, i + 1 if keep == i else i), joined]))
    return np.asarray(out)


def refine_starts(
    fwd: Any,
    observed: np.ndarray,
    sigma: np.ndarray,
    is_phase: np.ndarray,
    bounds: tuple[np.ndarray, np.ndarray],
    kept: list[tuple[str, np.ndarray]],
    pool: np.ndarray,
    settings: SearchSettings,
    pool_label: str = "prior",
) -> Best:
    """Refine the starts ``kept`` (labelled (k, p) models, always refined) and the best of
    ``pool`` (m, p, labelled ``pool_label``) by χ, on the observed forward model ``fwd``;
    returns the best fit."""
    lower, upper = bounds
    inside_lo, inside_hi = lower * 1.0001, upper / 1.0001
    labels: list[str] = []
    starts = []
    for label, models in kept:
        models = np.atleast_2d(models)
        labels.extend([label] * models.shape[0])
        starts.append(models)
    n_free = max(settings.n_refined - len(labels), 0)
    if n_free and pool.shape[0]:
        pool = np.clip(pool, inside_lo, inside_hi)
        pred = np.asarray(fwd.forward(pool, precision="double"), dtype=float)
        chis = chi_of(observed[None], pred, is_phase, sigma[None])
        best = np.argsort(np.where(np.isfinite(chis), chis, np.inf))[:n_free]
        starts.append(pool[best])
        labels.extend([pool_label] * best.size)
    start = np.clip(np.vstack(starts), inside_lo, inside_hi)
    k = start.shape[0]
    lm = replace(TO_MINIMUM, ftol=settings.ftol)
    jacobian = getattr(fwd, "forward_and_jacobian", None) if settings.model_jacobian else None

    def refine(models: np.ndarray, iterations: int, covariance: bool) -> Any:
        rows = models.shape[0]
        return refine_batch(
            lambda m: np.asarray(fwd.forward(m, precision="double"), dtype=float),
            models,
            np.repeat(observed[None], rows, axis=0),
            np.repeat(sigma[None], rows, axis=0),
            is_phase,
            lower,
            upper,
            settings=replace(lm, max_iterations=iterations),
            jacobian=jacobian,
            covariance=covariance,
        )

    cull = 0 < settings.cull_after < settings.max_iterations and settings.n_kept < k
    before = np.zeros(k, dtype=int)
    if cull:  # every start a few iterations, then only the best n_kept to the minimum
        first = refine(start, settings.cull_after, covariance=False)
        go_on = np.argsort(np.where(np.isfinite(first.chi), first.chi, np.inf))[: settings.n_kept]
        labels = [labels[j] for j in go_on]
        before = np.asarray(first.n_iterations)[go_on]
        out = refine(first.models[go_on], settings.max_iterations - settings.cull_after, True)
    else:
        out = refine(start, settings.max_iterations, True)
    chis = np.where(np.isfinite(out.chi), out.chi, np.inf)
    i = int(np.argmin(chis))
    total = before + np.asarray(out.n_iterations)
    network = labels.index("network") if "network" in labels else None
    return Best(
        out.models[i],
        out.predicted[i],
        float(out.chi[i]),
        out.log10_cov[i],
        k,
        labels[i],
        int(total[i]),
        None if network is None else int(total[network]),
    )
