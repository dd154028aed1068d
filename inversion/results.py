"""One sounding's inversion outcome, and the result dict (DESIGN.md's REST shape) built from it."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .bands import honest_band
from .observations import Observation
from .posterior import resolved_combinations

__all__ = ["ResultContext", "SoundingOutcome", "model_dict", "model_vector", "result_dict"]

#: ``(model (p,), linearised log10 std (p,))`` → calibrated ``{"p10", "p50", "p90"}`` or None
BandFn = Callable[[np.ndarray, np.ndarray], "dict[str, np.ndarray] | None"]


@dataclass
class SoundingOutcome:
    """What the inverter found for one sounding.

    ``model``/``network_model`` (n_params,) physical, the reported and the network's model;
    ``predicted`` (n_data,) the reported model's response on the observed geometry; ``chi`` and
    ``network_chi`` their χ, ``rms_percent``/``network_rms_percent`` their RMS (%);
    ``log10_cov`` (n_params, n_params) the linearised posterior covariance of log10 m;
    ``intervals`` the network's calibrated ``p10``/``p50``/``p90`` (n_params,); ``in_envelope``
    whether the features passed the envelope and Mahalanobis tests, ``domain_reasons`` why not
    (and the bound test's reasons), ``mahalanobis`` the distance; ``refined`` whether the model
    was refined; ``fixed`` ``{name: value}`` held parameters; ``is_phase`` (n_data,) bool;
    ``network_start_iterations`` the refinement's Levenberg–Marquardt iterations from the
    network's answer (None when not refined).
    """

    obs: Observation
    model: np.ndarray
    network_model: np.ndarray
    predicted: np.ndarray
    chi: float
    network_chi: float
    rms_percent: float
    network_rms_percent: float
    log10_cov: np.ndarray
    intervals: dict[str, np.ndarray]
    in_envelope: bool
    domain_reasons: list[str]
    mahalanobis: float
    refined: bool
    fixed: dict[str, float]
    is_phase: np.ndarray
    network_start_iterations: int | None = None


@dataclass
class ResultContext:
    """What every result of one inverter needs: the forward model's ``axis_name``, ``n_layers``,
    the χ limits for refined (``misfit_chi_limit``) and unrefined (``network_chi_limit``)
    models, the feature domain's Mahalanobis ``domain_threshold``, and ``band``, the calibrated
    band after refinement (:meth:`inversion.calibration.Predictive.refined_band`); ``lower`` and
    ``upper`` (n_params,) the trained bounds the reported band is kept inside
    (:func:`inversion.bands.honest_band`; None: no clipping)."""

    axis_name: str
    n_layers: int
    misfit_chi_limit: float
    network_chi_limit: float
    domain_threshold: float
    band: BandFn
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None


def finite(value: Any) -> float | None:
    """``float(value)``, or ``None`` when it is not finite (results must stay valid JSON)."""
    number = float(value)
    return number if math.isfinite(number) else None


def model_dict(model: np.ndarray, n_layers: int) -> dict[str, list[float]]:
    """``{"rho_ohmm", "thickness_m", "depth_m"}`` lists from one model vector (n_params,)."""
    values = np.asarray(model, dtype=float).tolist()
    thickness = values[n_layers:]
    return {
        "rho_ohmm": values[:n_layers],
        "thickness_m": thickness,
        "depth_m": list(itertools.accumulate(thickness)),
    }


def model_vector(part: Mapping[str, Any], quantile: str | None = None) -> list[float]:
    """``[rho…, h…]`` from a result part keyed ``rho_ohmm``/``thickness_m`` (or its quantile)."""
    rho, thk = part["rho_ohmm"], part["thickness_m"]
    if quantile is not None:
        rho, thk = rho[quantile], thk[quantile]
    return list(rho) + list(thk)


def _parameter_names(n_layers: int) -> list[str]:
    """``["rho1", …, "rhoN", "h1", …, "h(N-1)"]``."""
    return [f"rho{i + 1}" for i in range(n_layers)] + [f"h{i + 1}" for i in range(n_layers - 1)]


def _uncertainty(
    outcome: SoundingOutcome, context: ResultContext
) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """The result's ``uncertainty`` (refined band where there is one, else the network's, kept
    inside the trained bounds and widened or withheld on a poor fit), ``network_uncertainty``
    and the warnings the band owes."""
    n_layers = context.n_layers
    cov = outcome.log10_cov
    std = np.sqrt(np.maximum(np.diagonal(cov), 0.0))
    band = None
    if outcome.refined and np.isfinite(std).all():
        band = context.band(np.asarray(outcome.model, dtype=float), std)
    uncertainty: dict[str, Any] = {"source": "network" if band is None else "refined"}
    network_uncertainty: dict[str, Any] = {}
    chosen = outcome.intervals if band is None else band
    notes: list[str] = []
    if context.lower is not None and context.upper is not None:
        names = _parameter_names(n_layers)
        chosen, facts, notes = honest_band(chosen, outcome.chi, context.lower, context.upper, names)
        uncertainty.update(facts)
    for key, sl in (("rho_ohmm", slice(0, n_layers)), ("thickness_m", slice(n_layers, None))):
        network_uncertainty[key] = {q: v[sl].tolist() for q, v in outcome.intervals.items()}
        uncertainty[key] = {q: v[sl].tolist() for q, v in chosen.items()}
    uncertainty["linearised_std_log10"] = {
        "rho_ohmm": std[:n_layers].tolist(),
        "thickness_m": std[n_layers:].tolist(),
    }
    uncertainty["combinations"] = resolved_combinations(outcome.model, cov, n_layers)
    return uncertainty, network_uncertainty, notes


def result_dict(outcome: SoundingOutcome, context: ResultContext) -> dict[str, Any]:
    """The result dict of one sounding (without ``timing_ms``/``elapsed_ms``)."""
    obs, predicted = outcome.obs, outcome.predicted
    k = obs.axis_values.size
    reasons = list(outcome.domain_reasons)
    limit = context.misfit_chi_limit if outcome.refined else context.network_chi_limit
    if not outcome.chi <= limit:
        reasons.append(
            f"misfit far above the noise level: chi {outcome.chi:.2f} > {limit:.2f}"
            + ("" if outcome.refined else " (the limit for the network's unrefined models)")
        )
    in_domain = outcome.in_envelope and not reasons
    predicted_dict: dict[str, Any] = {
        context.axis_name: obs.axis_values.tolist(),
        "rho_a_ohmm": predicted[:k].tolist(),
    }
    if outcome.is_phase.any():
        predicted_dict["phase_deg"] = predicted[k:].tolist()
    uncertainty, network_uncertainty, band_notes = _uncertainty(outcome, context)
    return {
        "model": model_dict(outcome.model, context.n_layers),
        "network_model": model_dict(outcome.network_model, context.n_layers),
        "uncertainty": uncertainty,
        "network_uncertainty": network_uncertainty,
        "predicted": predicted_dict,
        "misfit": {"rms_percent": finite(outcome.rms_percent), "chi": finite(outcome.chi)},
        "network_misfit": {
            "rms_percent": finite(outcome.network_rms_percent),
            "chi": finite(outcome.network_chi),
        },
        "in_domain": bool(in_domain),
        "domain": {
            "mahalanobis": finite(outcome.mahalanobis),
            "threshold": float(context.domain_threshold),
            "reasons": reasons,
        },
        "warnings": list(obs.warnings) + reasons + band_notes,
        "refined": bool(outcome.refined),
        "network_start_iterations": outcome.network_start_iterations,
        "fixed": dict(outcome.fixed),
    }
