"""The robust search: many starts refined against the exact forward model, to the minimum.

For one sounding and one layer count, the starts are the served network's answer and its
members, the neighbouring layer count's refined model with one layer split, a caller's start
model, and draws from the served networks' own prior (random canonical models scaled into the
sounding's frame). All are screened by χ in one forward call; the best ``n_refined`` (the network
answer and the given starts always among them) are refined as one batch by
:func:`inversion.lm_batch.refine_batch` without a target χ (each to its minimum, not stopped at
χ ≤ 1), within wide bounds (:func:`bounds_for`), and the best row is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..layers import TO_MINIMUM
from ..lm_batch import refine_batch
from ..misfit import chi as chi_of
from .frame import SKIN_M, MethodSpec

__all__ = ["Best", "SearchSettings", "bounds_for", "refine_starts", "split_layers"]


@dataclass
class SearchSettings:
    """``n_draws`` prior draws screened, ``n_refined`` starts refined, ``max_iterations`` of
    each, ``seed`` of the draws."""

    n_draws: int = 1024
    n_refined: int = 48
    max_iterations: int = 60
    seed: int = 0


@dataclass
class Best:
    """The best refined model of one layer count: ``model`` (p,), ``predicted`` (n_data,),
    ``chi``, ``log10_cov`` (p, p), ``n_starts`` refined, ``start`` which start won
    (``network``, ``member``, ``split``, ``given`` or ``prior``)."""

    model: np.ndarray
    predicted: np.ndarray
    chi: float
    log10_cov: np.ndarray
    n_starts: int
    start: str


def bounds_for(
    spec: MethodSpec, n_layers: int, axis: np.ndarray, rho_a_ohmm: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Refinement bounds (p,) lower/upper: ρ in the served range; thicknesses from 1/20 of the
    shallowest to 10× the deepest depth the data see (VES: AB/2; MT: skin depths of the
    smallest and largest ρa at the first and last period), in m."""
    rho_lo, rho_hi = spec.rho_range_ohmm
    if spec.has_phase:
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


def refine_starts(
    fwd: Any,
    observed: np.ndarray,
    sigma: np.ndarray,
    is_phase: np.ndarray,
    bounds: tuple[np.ndarray, np.ndarray],
    kept: list[tuple[str, np.ndarray]],
    pool: np.ndarray,
    settings: SearchSettings,
) -> Best:
    """Refine the starts ``kept`` (labelled (k, p) models, always refined) and the best of
    ``pool`` (m, p) by χ, on the observed forward model ``fwd``; returns the best fit."""
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
        labels.extend(["prior"] * best.size)
    start = np.clip(np.vstack(starts), inside_lo, inside_hi)
    k = start.shape[0]
    out = refine_batch(
        lambda m: np.asarray(fwd.forward(m, precision="double"), dtype=float),
        start,
        np.repeat(observed[None], k, axis=0),
        np.repeat(sigma[None], k, axis=0),
        is_phase,
        lower,
        upper,
        settings=replace(TO_MINIMUM, max_iterations=settings.max_iterations),
        jacobian=getattr(fwd, "forward_and_jacobian", None),
    )
    chis = np.where(np.isfinite(out.chi), out.chi, np.inf)
    i = int(np.argmin(chis))
    return Best(out.models[i], out.predicted[i], float(out.chi[i]), out.log10_cov[i], k, labels[i])
