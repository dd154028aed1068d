"""Depth of investigation (DOI) after Christiansen & Auken (2012, Geophysics 77(4):WB171).

The model is discretised on a fine stack of layers (:mod:`inversion.smooth_stack`) and the
Jacobian of the data with respect to the log resistivity of each stack layer is computed at that
model. With G_ij = ∂ln d_i/∂ln ρ_j (phases: ∂φ_i/∂ln ρ_j) and ΔD_i the data error (relative for
ρa, degrees for phase):

* error-weighted sensitivity of layer j: s_j = Σ_i |G_ij| / ΔD_i — every datum adds, so the number
  of data and their noise both enter;
* thickness-normalised: s*_j = s_j / t_j (the half-space, with no thickness, left out);
* cumulative from the bottom: S_j = Σ_{k ≥ j} s*_k;
* DOI: the bottom depth of the deepest layer with S_j above the threshold, 0.8 for the standard
  and 1.2 for the conservative DOI (the values AarhusInv and open implementations use). S_j falls
  with depth, so the conservative DOI is never deeper than the standard one. A sounding none of
  whose layers reaches the threshold gets a DOI of 0 m.

Length unit. The paper measures t_j in metres, and its thresholds were set for TEM stacks some
``REFERENCE_DEPTH_M`` = 300 m deep. In metres the DOI is not scale-free: a VES sounding and the
same sounding with every length ×100 (identical ρa curves) would get DOIs at different fractions
of their depth range. We therefore measure t_j in units of ``length_unit_m`` = (the stack's
deepest interface / 300 m) metres — the paper's formula unchanged for a 300 m stack, and the
same DOI relative to depth for any scaled copy of a sounding (:func:`length_unit_m`).

Stack density. S_j adds one term per layer, so a finer stack gives a deeper DOI (14 instead of 7
interfaces per decade: a median 18 % deeper on ``bench/smooth.py``'s synthetics); the thresholds
are applied on the stacks of :mod:`inversion.smooth_stack` (7 per decade) only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .smooth_problem import weighted_jacobian
from .smooth_stack import sample_layered

__all__ = [
    "REFERENCE_DEPTH_M",
    "THRESHOLDS",
    "cumulative_sensitivity",
    "doi_m",
    "doi_of_model",
    "dois",
    "length_unit_m",
]

THRESHOLDS = {"standard": 0.8, "conservative": 1.2}
REFERENCE_DEPTH_M = 300.0


def length_unit_m(thickness_m: np.ndarray) -> float:
    """The unit (m) thicknesses are measured in: the stack's deepest interface / 300 m."""
    return float(np.sum(thickness_m)) / REFERENCE_DEPTH_M


def cumulative_sensitivity(
    weighted_jac: np.ndarray, thickness_m: np.ndarray, unit_m: float = 1.0
) -> np.ndarray:
    """S_j (N−1,) of the stack's layers above the half-space from the error-weighted
    sensitivities ``weighted_jac`` (n_data, N) ∂r_i/∂ln ρ_j and ``thickness_m`` (N−1,) m,
    thicknesses measured in units of ``unit_m`` m."""
    s = np.abs(np.asarray(weighted_jac, dtype=float)).sum(axis=0)
    s_star = s[:-1] * unit_m / np.asarray(thickness_m, dtype=float)
    return np.cumsum(s_star[::-1])[::-1]


def doi_m(
    weighted_jac: np.ndarray, thickness_m: np.ndarray, threshold: float, unit_m: float = 1.0
) -> float:
    """DOI (m): the bottom of the deepest layer whose cumulative sensitivity exceeds
    ``threshold`` (0 when none does); arguments as :func:`cumulative_sensitivity`."""
    cumulative = cumulative_sensitivity(weighted_jac, thickness_m, unit_m)
    above = np.flatnonzero(cumulative > threshold)
    if not above.size:
        return 0.0
    return float(np.cumsum(thickness_m)[above.max()])


def dois(weighted_jac: np.ndarray, thickness_m: np.ndarray) -> dict[str, float]:
    """``{"standard", "conservative"}`` DOIs (m) (:data:`THRESHOLDS`) of a stack, thicknesses
    in units of :func:`length_unit_m`."""
    unit = length_unit_m(thickness_m)
    return {
        name: doi_m(weighted_jac, thickness_m, value, unit) for name, value in THRESHOLDS.items()
    }


def doi_of_model(
    fwd_stack: Any,
    model: np.ndarray,
    n_layers: int,
    thickness_m: np.ndarray,
    sigma: np.ndarray,
    is_phase: np.ndarray,
) -> dict[str, float]:
    """DOIs (m) of a layered ``model`` [ρ (n_layers) Ω·m, h (n_layers − 1) m] sampled onto the
    stack ``thickness_m`` (N−1,): ``fwd_stack`` a forward model of N layers on the observed
    geometry, ``sigma``/``is_phase`` (n_data,) the data errors and the phase mask."""
    depth = np.cumsum(thickness_m)
    log10_rho = sample_layered(model, n_layers, depth)
    jac = weighted_jacobian(fwd_stack, log10_rho, thickness_m, sigma, is_phase)
    return dois(jac, thickness_m)
