"""The served inversion's result dict: the chosen layer count, its runner-up, every candidate.

Bands are the refined model's linearised p10/p90 (log10 m ± 1.2816 σ), with σ scaled by χ when
χ > 1 (the data's errors were too small for this fit); a band reaching a refinement bound says
plainly that the data do not bound that parameter. A parameter whose linearised standard
deviation exceeds ``UNRESOLVED_STD_LOG10`` decades is listed as unresolved.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

import forward_models

from ..layers import bic
from ..misfit import rms_percent
from ..results import finite, model_dict
from .smooth_result import smooth_part

__all__ = ["CHI_LIMIT", "UNRESOLVED_STD_LOG10", "Candidate", "result_dict", "segment_report"]

CHI_LIMIT = 1.5  # a chosen fit above this χ is flagged: the data are not explained
UNRESOLVED_STD_LOG10 = 0.5  # σ(log10 m) above half a decade: the data do not resolve it
_Z90 = 1.2815515655446004


@dataclass
class Candidate:
    """One layer count's outcome: its best refined fit (``search.Best``), the refinement
    ``bounds`` (lower, upper) (p,), the network's model (p,) and χ (None without a network),
    and the serving network's registry ``info``."""

    n_layers: int
    best: Any
    bounds: tuple[np.ndarray, np.ndarray]
    network_model: np.ndarray | None
    network_chi: float | None
    info: dict[str, Any]

    @property
    def names(self) -> list[str]:
        """Parameter names ``rho1…, h1…``."""
        n = self.n_layers
        return [f"rho{i + 1}" for i in range(n)] + [f"h{i + 1}" for i in range(n - 1)]

    def std_log10(self) -> np.ndarray:
        """Linearised standard deviation (p,) of log10 m, scaled by χ when χ > 1."""
        std = np.sqrt(np.maximum(np.diag(self.best.log10_cov), 0.0))
        return std * max(1.0, self.best.chi)

    def unresolved(self) -> list[str]:
        """Names of the parameters the data do not resolve."""
        std = self.std_log10()
        return [
            name for name, s in zip(self.names, std, strict=True) if not s <= UNRESOLVED_STD_LOG10
        ]

    def scored(self, n_data: int) -> dict[str, Any]:
        """``{"n_layers", "chi", "bic", "n_data", "n_free_params", "unresolved"}`` for the
        layer choice."""
        k = 2 * self.n_layers - 1
        chi = self.best.chi if math.isfinite(self.best.chi) else math.inf
        return {
            "n_layers": self.n_layers,
            "chi": chi,
            "bic": bic(chi, n_data, k),
            "n_data": n_data,
            "n_free_params": k,
            "unresolved": self.unresolved(),
        }

    def band(self) -> tuple[dict[str, Any], list[str]]:
        """The p10/p90 band and the names of parameters the data do not bound."""
        x, std = np.log10(self.best.model), self.std_log10()
        lo_b, hi_b = np.log10(self.bounds[0]), np.log10(self.bounds[1])
        p10, p90 = x - _Z90 * std, x + _Z90 * std
        unbounded = [
            name
            for name, a, b, lo, hi in zip(self.names, p10, p90, lo_b, hi_b, strict=True)
            if a <= lo or b >= hi
        ]
        p10, p90 = 10.0 ** np.clip(p10, lo_b, hi_b), 10.0 ** np.clip(p90, lo_b, hi_b)
        n = self.n_layers
        band = {
            "rho_ohmm": {"p10": p10[:n].tolist(), "p90": p90[:n].tolist()},
            "thickness_m": {"p10": p10[n:].tolist(), "p90": p90[n:].tolist()},
            "source": "refined",
            "linearised_std_log10": {"rho_ohmm": std[:n].tolist(), "thickness_m": std[n:].tolist()},
            "not_bounded_by_data": unbounded,
            "unresolved": self.unresolved(),
        }
        return band, unbounded


def _summary(c: Candidate, s: dict[str, Any], best_bic: float) -> dict[str, Any]:
    """One candidate as listed in the result."""
    return {
        "n_layers": c.n_layers,
        "chi": finite(c.best.chi),
        "bic": finite(s["bic"]),
        "delta_bic": finite(s["bic"] - best_bic),
        "n_free_params": s["n_free_params"],
        "unresolved": s["unresolved"],
        "network_chi": None if c.network_chi is None else finite(c.network_chi),
        "start": c.best.start,
        "model": model_dict(c.best.model, c.n_layers),
    }


def lowest_bic(chis: Mapping[int, float | None], n_data: int) -> tuple[int, float] | None:
    """``(n_layers, BIC)`` of the layer count whose χ (``chis``: n_layers → χ, None where it has
    none) scores the lowest BIC n·χ² + (2N − 1)·ln n over ``n_data`` data (the first on a tie);
    None where no layer count has a χ."""
    scored = [(bic(c, n_data, 2 * k - 1), k) for k, c in chis.items() if c is not None]
    if not scored:
        return None
    score, k = min(scored, key=lambda item: item[0])
    return k, score


def network_answer(candidates: list[Candidate], n_data: int) -> dict[str, Any] | None:
    """The answer of the networks alone: of every layer count's network answer (no
    refinement), the one with the lowest BIC (:func:`lowest_bic`, ``n_data`` data) —
    ``{"n_layers", "chi", "bic", "model"}``, or None where no layer count has a network."""
    by_count = {c.n_layers: c for c in candidates if c.network_model is not None}
    best = lowest_bic({k: c.network_chi for k, c in by_count.items()}, n_data)
    if best is None:
        return None
    c, score = by_count[best[0]], best[1]
    return {
        "n_layers": c.n_layers,
        "chi": finite(c.network_chi),
        "bic": finite(score),
        "model": model_dict(c.network_model, c.n_layers),
    }


def _rms_percent(sounding: Any, predicted: np.ndarray) -> float:
    """RMS relative misfit (%) of the observed data (:func:`inversion.misfit.rms_percent`)."""
    k = sounding.axis.size
    is_phase = np.arange(sounding.obs.data.size) >= k
    return float(rms_percent(sounding.obs.data, predicted, is_phase))


def segment_report(sounding: Any, c: Candidate, plain: Any | None, applied: bool) -> dict[str, Any]:
    """The segment factors of the best fit with them (``c``, on ``sounding`` with its
    ``shifts``): :meth:`inversion.segments.SegmentShifts.report` plus ``applied`` (the answer
    uses them), ``n_layers_with_shifts``, ``chi_with_shifts``, ``chi_without_shifts`` (the
    chosen fit of ``plain``, the layer fits without factors; None when not searched) and, per
    segment, ``beyond_errors``: the factor exceeds the segment's median relative error."""
    shifts, obs = sounding.shifts, sounding.obs
    fwd = forward_models.create(sounding.spec.name, n_layers=c.n_layers, **obs.geometry)
    raw = np.asarray(fwd.forward(c.best.model, precision="double"), dtype=float)[0]
    report = shifts.report(raw)
    for seg, g in zip(report["segments"], shifts.groups, strict=True):
        seg["beyond_errors"] = bool(abs(math.log(seg["factor"])) > float(np.median(obs.sigma[g])))
    without = None if plain is None else plain.chosen_candidate.best.chi
    report.update(
        applied=bool(applied),
        n_layers_with_shifts=c.n_layers,
        chi_with_shifts=finite(c.best.chi),
        chi_without_shifts=None if without is None else finite(without),
    )
    return report


def _shift_warnings(report: dict[str, Any] | None) -> list[str]:
    """A warning when applied segment factors exceed the data's errors."""
    if not report or not report["applied"]:
        return []
    beyond = [
        f"{s['mn2_m']:g} m ×{s['factor']:.2f}" for s in report["segments"] if s["beyond_errors"]
    ]
    if not beyond:
        return []
    without = report["chi_without_shifts"]
    compare = "" if without is None else f", {without:.2f} without"
    return [
        "overlapping MN/2 segments disagree by more than their errors: factors fitted for "
        f"MN/2 = {', '.join(beyond)} (reference MN/2 = {report['reference_mn2_m']:g} m); chi "
        f"{report['chi_with_shifts']:.2f} with them{compare} (segment_shifts=never fits the "
        "segments as measured)"
    ]


def result_dict(
    sounding: Any,
    candidates: list[Candidate],
    scored: list[dict[str, Any]],
    chosen: int,
    elapsed_ms: float,
    shift_report: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The result of one sounding (DESIGN.md's REST shape, plus ``method``, ``n_layers``,
    ``candidates`` best BIC first, ``runner_up``, the ``smooth`` model and the layered model's
    ``doi_m``, ``segment_shifts`` (:func:`segment_report`, or None); ``elapsed_ms`` includes the
    smooth model's time)."""
    t0 = time.perf_counter()
    c = candidates[chosen]
    smooth, layered_doi, smooth_warnings = smooth_part(sounding, c.best.model, c.n_layers)
    spec, k = sounding.spec, sounding.axis.size
    band, unbounded = c.band()
    predicted: dict[str, Any] = {
        spec.axis: sounding.axis.tolist(),
        spec.data_key: c.best.predicted[:k].tolist(),
    }
    if spec.has_phase:
        predicted["phase_deg"] = c.best.predicted[k:].tolist()
    reasons = []
    if not c.best.chi <= CHI_LIMIT:
        reasons.append(
            f"misfit above the noise level: chi {c.best.chi:.2f} > {CHI_LIMIT:.2f}; the bands "
            "are widened by chi and the model explains the data only in part"
        )
    warnings = list(sounding.obs.warnings) + _shift_warnings(shift_report) + reasons
    warnings += smooth_warnings
    if unbounded:
        warnings.append(
            f"the data do not bound {', '.join(unbounded)} (band reaches the search bounds)"
        )
    best_bic = min(s["bic"] for s in scored)
    order = sorted(range(len(candidates)), key=lambda j: scored[j]["bic"])
    listed = [_summary(candidates[j], scored[j], best_bic) for j in order]
    runner = next((entry for entry in listed if entry["n_layers"] != c.n_layers), None)
    network = {**c.info, "method": spec.name}
    return {
        "method": spec.name,
        "n_layers": c.n_layers,
        "model": model_dict(c.best.model, c.n_layers),
        "network_model": None
        if c.network_model is None
        else model_dict(c.network_model, c.n_layers),
        "uncertainty": band,
        "predicted": predicted,
        "misfit": {
            "rms_percent": finite(_rms_percent(sounding, c.best.predicted)),
            "chi": finite(c.best.chi),
        },
        "network_misfit": {"chi": None if c.network_chi is None else finite(c.network_chi)},
        "network_answer": network_answer(candidates, sounding.obs.data.size),
        "in_domain": bool(c.best.chi <= CHI_LIMIT),
        "domain": {"served": True, "reasons": reasons},
        "warnings": warnings,
        "refined": True,
        "fixed": {},
        "network": network,
        "candidates": listed,
        "runner_up": runner,
        "search": {
            "n_starts": c.best.n_starts,
            "winning_start": c.best.start,
            "iterations": c.best.iterations,
            "network_start_iterations": c.best.network_iterations,
        },
        "doi_m": layered_doi,
        "segment_shifts": shift_report,
        "smooth": smooth,
        "elapsed_ms": elapsed_ms + 1e3 * (time.perf_counter() - t0),
    }
