"""The steps of one ``Inverter.invert`` call gathered per sounding into result dicts."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .calibration import Z90
from .domain import DomainCheck
from .geometries import Geometry, NetworkCheck
from .observations import Observation
from .restarts import Refined
from .results import ResultContext, SoundingOutcome, result_dict

__all__ = ["InversionBatch", "NetworkAnswer", "assemble_results", "network_answer", "network_prior"]


@dataclass
class NetworkAnswer:
    """The networks' answer for n soundings: ``members`` (n_members, n, p) standardised
    predictions, calibrated ``intervals`` p10/p50/p90 (n, p) and ``models`` (n, p) (the p50)
    with fixed parameters at their value, ``fixed`` one value-or-None list per sounding, and the
    feature-domain ``domain`` check."""

    members: np.ndarray
    intervals: dict[str, np.ndarray]
    models: np.ndarray
    fixed: list[list[float | None]]
    domain: DomainCheck


@dataclass
class InversionBatch:
    """Everything one ``invert`` call found: the ``parsed`` observations, ``fixes`` per sounding,
    the observed ``geometries``, the networks' ``answer``, its forward ``check``, and the
    refinement (``refined``; None when not refining)."""

    parsed: list[Observation]
    fixes: list[dict[str, float]]
    geometries: list[Geometry]
    answer: NetworkAnswer
    check: NetworkCheck
    refined: Refined | None


def network_answer(
    members: np.ndarray,
    intervals: dict[str, np.ndarray],
    domain: DomainCheck,
    fixes: list[Mapping[str, float]],
    names: list[str],
) -> NetworkAnswer:
    """The networks' answer, with the fixed parameters (``fixes``, one ``{name: value}`` per
    sounding) replacing the network's values and intervals (``intervals`` is changed in place)."""
    models = intervals["p50"].copy()
    fixed_vectors: list[list[float | None]] = []
    for i, one in enumerate(fixes):
        vector: list[float | None] = [one.get(name) for name in names]
        fixed_vectors.append(vector)
        for j, value in enumerate(vector):
            if value is not None:
                models[i, j] = value
                for key in ("p10", "p50", "p90"):
                    intervals[key][i, j] = value
    return NetworkAnswer(members, intervals, models, fixed_vectors, domain)


def network_prior(answer: NetworkAnswer) -> tuple[np.ndarray, np.ndarray]:
    """The refinement's Gaussian prior on log10 m: mean (n, p) the network's models, std (n, p)
    from the calibrated p10–p90 band (at least 10⁻³ decades)."""
    log_p10 = np.log10(answer.intervals["p10"])
    log_p90 = np.log10(answer.intervals["p90"])
    prior_std = np.maximum((log_p90 - log_p10) / (2.0 * Z90), 1e-3)
    return np.log10(answer.models), prior_std


def _outcome(
    batch: InversionBatch, i: int, is_phase: np.ndarray, data_names: list[str]
) -> tuple[SoundingOutcome, float]:
    """Sounding ``i``'s outcome, and its refinement time (ms)."""
    answer, check, refined = batch.answer, batch.check, batch.refined
    net_chi = float(check.chi[i])
    if refined is not None:
        model, predicted, chi, cov = refined.rows[i]
        rms, refine_ms, reasons = float(refined.rms[i]), float(refined.ms[i]), refined.reasons
        iterations: int | None = int(refined.iterations[i])
    else:
        iterations = None
        model, predicted, chi = answer.models[i], check.predicted[i], net_chi
        cov, rms, refine_ms, reasons = check.log10_cov[i], float(check.rms[i]), 0.0, {}
    outcome = SoundingOutcome(
        obs=batch.parsed[i],
        model=model,
        network_model=answer.models[i],
        predicted=predicted,
        chi=chi,
        network_chi=net_chi,
        rms_percent=rms,
        network_rms_percent=float(check.rms[i]),
        log10_cov=cov,
        intervals={k: v[i] for k, v in answer.intervals.items()},
        in_envelope=bool(answer.domain.in_domain[i]),
        domain_reasons=answer.domain.reasons(i, data_names) + reasons.get(i, []),
        mahalanobis=float(answer.domain.mahalanobis[i]),
        refined=refined is not None,
        fixed=batch.fixes[i],
        is_phase=is_phase,
        network_start_iterations=iterations,
    )
    return outcome, refine_ms


def assemble_results(
    batch: InversionBatch, context: ResultContext, data_names: list[str], ms: list[float]
) -> list[dict[str, Any]]:
    """One result dict per sounding, with ``timing_ms`` and ``elapsed_ms``; ``data_names`` the
    network's data labels (for the domain reasons), ``ms`` the per-sounding times (ms) of
    parsing, the network and the forward check."""
    is_phase = {row: group.is_phase for group in batch.geometries for row in group.rows}
    results = []
    for i in range(len(batch.parsed)):
        t0 = time.perf_counter()
        outcome, refine_ms = _outcome(batch, i, is_phase[i], data_names)
        result = result_dict(outcome, context)
        result["timing_ms"] = {"network": ms[1], "refine": refine_ms}
        result["elapsed_ms"] = sum(ms) + refine_ms + 1e3 * (time.perf_counter() - t0)
        results.append(result)
    return results
