"""The smooth model and the depths of investigation of a served result.

For the chosen layered model of a sounding: the fixed stack spanning the depths the data see
(:mod:`inversion.smooth_stack`), its nearest interfaces moved onto the layered model's
(:func:`inversion.smooth_stack.snap_interfaces`, so that the layered model is one of the stack's
models and the smooth model can always fit at least as well); the Occam smooth model on it
(:func:`inversion.smooth.invert_smooth`), started as Occam does from a half-space at the data's
mean resistivity, with the layered model averaged over each stack layer and sampled at each stack
layer's mid-depth as fallback starts (the layered model was itself refined from the served
network's prediction among other starts); the DOIs of both models (:mod:`inversion.doi`); and a
consistency check between them (:func:`disagreements`).

TEM (``TEM_OCCAM``): the λ line search on the linearised misfit, and first the smooth model of
the data linearised about the layered model (:func:`inversion.smooth.linearised_start`, from the
Jacobian its DOI needs anyway), then the half-space and the averaged layered model.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import forward_models

from ..doi import dois
from ..misfit import rms_percent
from ..results import finite
from ..segments import shifted
from ..smooth import OccamSettings, SmoothModelError, invert_smooth, linearised_start
from ..smooth_problem import StackProblem
from ..smooth_stack import (
    average_layered,
    depth_range_m,
    n_layers_for,
    sample_layered,
    snap_interfaces,
    stack_thickness_m,
)
from .frame import METHODS
from .parse import ServedSounding

__all__ = [
    "BAND_INFLATION",
    "TEM_BAND_INFLATION",
    "MIN_CONTRAST_LOG10",
    "SHARE",
    "TEM_OCCAM",
    "WINDOW",
    "add_smooth",
    "disagreements",
    "smooth_part",
]

_Z90 = 1.2815515655446004
WINDOW = 2.0  # an interface at z is compared over depths z/WINDOW … z·WINDOW
MIN_CONTRAST_LOG10 = 0.3  # layered changes smaller than this (decades) are not checked
SHARE = 0.3  # the smooth model must show this share of the layered change, in the same sense
#: the regularised posterior's σ × this gives bands whose p10–p90 hold the true layered model
#: above the DOI 80 % of the time on synthetic soundings (calibrated with ``bench/smooth.py
#: --seed 1``, checked with the default seed 0): the smoothness prior alone makes them too narrow
BAND_INFLATION = 2.4
#: the same for TEM, whose smooth models stop at the linearised search's choice (``TEM_OCCAM``):
#: with 2.4 its bands held the truth 83–85 % of the time (cal k 0.73–0.87); 2.4 × 0.87 from
#: ``bench/smooth.py --n 40 --seed 1 --methods tem-coincident-loop``, checked with seed 0
TEM_BAND_INFLATION = 2.1
#: TEM's Occam search (a TEM forward of a 20–35-layer stack costs 25–100× a VES or MT one):
#: λ from the linearised misfit, each choice verified by one forward; phase 1 ends below a 5 %
#: gain; where χ = 1 is out of reach the relaxed run continues from the least-χ model. Measured
#: with ``bench/smooth.py --n 20 --methods tem-coincident-loop`` (forwards + 5 × Jacobians per
#: sounding, p50 / p95): Occam's search by forwards from the half-space 86 / 138, this with the
#: linearised start 19 / 42 (with the half-space first instead: 34 / 58), χ in [0.9, 1.2] on
#: all, accuracy above the DOI 0.73 → 0.77; ``chi_rtol`` 0.01 instead of 0.05: 19 / 52;
#: relaxing from every start: 296 instead of 194 on the field file P2_35 (least χ 1.24)
TEM_OCCAM = OccamSettings(line_search="linearised", chi_rtol=0.05, relax_from_starts=False)


def disagreements(
    smooth_log10_rho: np.ndarray,
    depth_m: np.ndarray,
    model: np.ndarray,
    n_layers: int,
    doi_m: float,
) -> list[float]:
    """Depths (m) of the layered ``model``'s interfaces above ``doi_m`` that the smooth model
    (``smooth_log10_rho`` (N,) on a stack with interfaces ``depth_m`` (N−1,)) does not bracket.

    Across each interface z the change of log10 ρ from z/2 to 2z is taken in both models; where
    the layered model changes by at least ``MIN_CONTRAST_LOG10`` decades, the smooth model must
    change in the same sense by at least ``SHARE`` of it (its gradient then lies around z).
    """
    thk = np.asarray(model, dtype=float)[n_layers:]
    stack = np.concatenate(
        [10.0 ** np.asarray(smooth_log10_rho, dtype=float), np.diff(depth_m, prepend=0.0)]
    )
    out = []
    for z in np.cumsum(thk):
        if not z < doi_m:
            continue
        where = np.array([z / WINDOW, z * WINDOW])
        layered = np.diff(sample_layered(model, n_layers, depth_m, where))[0]
        smooth = np.diff(sample_layered(stack, depth_m.size + 1, depth_m, where))[0]
        if abs(layered) >= MIN_CONTRAST_LOG10 and not smooth * np.sign(layered) >= SHARE * abs(
            layered
        ):
            out.append(float(z))
    return out


def _axis_rho(sounding: Any, model: np.ndarray, n_layers: int) -> tuple[float, float]:
    """The resistivity range (Ω·m) behind the stack's depths: the observed ρa where the data
    are apparent resistivities, else (TEM) the layered model's ρ."""
    if sounding.spec.axis == "times_s":
        rho = np.asarray(model[:n_layers], dtype=float)
    else:
        rho = np.asarray(sounding.rho_a, dtype=float)
    return float(rho.min()), float(rho.max())


def smooth_part(
    sounding: Any, model: np.ndarray, n_layers: int, settings: OccamSettings | None = None
) -> tuple[dict[str, Any] | None, dict[str, float | None], list[str]]:
    """``(smooth, layered doi_m, warnings)`` for a served sounding (``ServedSounding``) whose
    chosen layered ``model`` (2·n_layers − 1,) is given; ``(None, {"standard": None,
    "conservative": None}, [why])`` when the forward model gives no finite data on the stack."""
    spec, obs = sounding.spec, sounding.obs
    k = sounding.axis.size
    is_phase = np.arange(obs.data.size) >= k
    rho_lo, rho_hi = _axis_rho(sounding, model, n_layers)
    top, bottom = depth_range_m(spec.axis, sounding.axis, rho_lo, rho_hi)
    n_stack = n_layers_for(top, bottom)
    depth = snap_interfaces(
        np.cumsum(stack_thickness_m(top, bottom, n_stack)), np.cumsum(model[n_layers:])
    )
    thk = np.diff(depth, prepend=0.0)
    fwd = shifted(
        forward_models.create(spec.name, n_layers=n_stack, **obs.geometry), sounding.shifts
    )
    settings = settings or (TEM_OCCAM if spec.is_tem else None)
    layered = sample_layered(model, n_layers, depth)
    try:
        # the layered model's Jacobian on the stack: its DOI, and (TEM) the first start
        problem = StackProblem(fwd, obs.data, obs.sigma, is_phase, thk)
        _, residuals, jac = problem.linearise(layered)
        layered_doi = dois(jac / np.log(10.0), thk)
        half_space = np.full(n_stack, 0.5 * np.log10(rho_lo * rho_hi))
        averaged = average_layered(model, n_layers, depth)
        if spec.is_tem:
            smooth_start = linearised_start(layered, residuals, jac, spec.rho_range_ohmm, settings)
            start = np.vstack([smooth_start, half_space, averaged])
        else:
            start = np.vstack([half_space, averaged, layered])
        fit = invert_smooth(
            fwd, obs.data, obs.sigma, is_phase, thk, start, spec.rho_range_ohmm, settings
        )
    except (SmoothModelError, np.linalg.LinAlgError) as exc:
        reason = f"no smooth model and no depth of investigation for this sounding: {exc}"
        return None, {"standard": None, "conservative": None}, [reason]
    smooth_doi = dois(fit.jacobian / np.log(10.0), thk)
    lo, hi = np.log10(spec.rho_range_ohmm)
    half = _Z90 * (TEM_BAND_INFLATION if spec.is_tem else BAND_INFLATION) * fit.log10_std
    p10 = 10.0 ** np.clip(fit.log10_rho - half, lo, hi)
    p90 = 10.0 ** np.clip(fit.log10_rho + half, lo, hi)
    bad = disagreements(fit.log10_rho, depth, model, n_layers, smooth_doi["standard"])
    warnings = []
    if bad:
        warnings.append(
            "the smooth model does not show the layered model's interface(s) at "
            + ", ".join(f"{z:.3g} m" for z in bad)
            + " (above the depth of investigation): that layering is not the only reading "
            "of the data"
        )
    smooth = {
        "depth_m": [finite(v) for v in depth],
        "thickness_m": [finite(v) for v in thk],
        "rho_ohmm": [finite(v) for v in 10.0**fit.log10_rho],
        "p10": [finite(v) for v in p10],
        "p90": [finite(v) for v in p90],
        "misfit": {
            "chi": finite(fit.chi),
            "rms_percent": finite(rms_percent(obs.data, fit.predicted, is_phase)),
        },
        "doi_m": {name: finite(v) for name, v in smooth_doi.items()},
        "lambda": finite(fit.lam),
        "n_iterations": int(fit.n_iterations),
        "consistent": not bad,
    }
    return smooth, {name: finite(v) for name, v in layered_doi.items()}, warnings


def add_smooth(result: dict[str, Any], method: str, obs: Any, n_layers: int) -> None:
    """Add ``smooth``, the layered model's ``doi_m`` and their warnings to a result of the
    registry path (:meth:`inversion.Inverter.invert`) for the observation ``obs``
    (:class:`inversion.observations.Observation`) of a served ``method``; nothing for others."""
    spec = METHODS.get(method)
    if spec is None:
        return
    model = np.concatenate([result["model"]["rho_ohmm"], result["model"]["thickness_m"]])
    log_axis = np.log10(np.asarray(obs.geometry[spec.axis], dtype=float))
    k = log_axis.size
    log_rho_a = np.log10(np.asarray(obs.data[:k], dtype=float))
    sounding = ServedSounding(spec, obs, log_axis, log_rho_a, None)
    smooth, layered_doi, warnings = smooth_part(sounding, model, n_layers)
    result["smooth"], result["doi_m"] = smooth, layered_doi
    result["warnings"] = list(result.get("warnings", [])) + warnings
