"""Held-out metrics of an inverter: the networks' answers, and refined results on some soundings."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .results import model_vector

__all__ = ["network_metrics", "refined_metrics", "training_history"]


def _or_inf(value: float | None) -> float:
    """A result's χ or RMS as a float (``inf`` where the result holds ``None``)."""
    return math.inf if value is None else float(value)


def _per_param(names: list[str], values: np.ndarray) -> dict[str, float]:
    """``{name: float(value)}`` for one value per parameter."""
    return {name: float(v) for name, v in zip(names, values, strict=True)}


def _heldout_sample(
    names: list[str], models: np.ndarray, predicted: np.ndarray, n_points: int
) -> dict[str, dict[str, list[float]]]:
    """The first ``n_points`` rows of true and predicted models (n, n_params) per parameter."""
    k = min(int(n_points), models.shape[0])
    return {
        name: {"true": models[:k, j].tolist(), "predicted": predicted[:k, j].tolist()}
        for j, name in enumerate(names)
    }


def network_metrics(
    names: list[str],
    models: np.ndarray,
    y: np.ndarray,
    members: np.ndarray,
    intervals: Mapping[str, np.ndarray],
    in_domain: np.ndarray,
    n_points: int,
) -> dict[str, Any]:
    """Metrics of the network's answers on held-out pairs.

    ``models`` (n, n_params) true models (Ω·m / m), ``y`` (n, n_params) their standardised
    targets, ``members`` (n_members, n, n_params) the ensemble's predictions of them,
    ``intervals`` the calibrated ``p10``/``p50``/``p90`` models (n, n_params), ``in_domain`` (n,)
    the feature-domain flags; ``heldout`` keeps up to ``n_points`` (true, p50) pairs.
    """
    err = np.abs(np.log10(intervals["p50"]) - np.log10(models))
    covered = (models >= intervals["p10"]) & (models <= intervals["p90"])
    return {
        "n": int(models.shape[0]),
        "val_loss": float(np.mean((members.mean(axis=0) - y) ** 2)),
        "parameters": names,
        "median_abs_log10_error": _per_param(names, np.median(err, axis=0)),
        "coverage_p10_p90": _per_param(names, covered.mean(axis=0)),
        "out_of_domain_rate": float(1.0 - in_domain.mean()),
        "heldout": _heldout_sample(names, models, intervals["p50"], n_points),
    }


def refined_metrics(
    names: list[str], models: np.ndarray, results: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """Metrics of refined ``results`` (one per sounding) against the true ``models``
    (len(results), n_params): success rate (χ ≤ 1.2), median χ, median |log10 error|, p10–p90
    coverage, median time per sounding (ms) and out-of-domain rate."""
    chis = np.array([_or_inf(r["misfit"]["chi"]) for r in results])
    refined = np.array([model_vector(r["model"]) for r in results])
    err = np.abs(np.log10(refined) - np.log10(models))
    p10 = np.array([model_vector(r["uncertainty"], "p10") for r in results])
    p90 = np.array([model_vector(r["uncertainty"], "p90") for r in results])
    covered = (models >= p10) & (models <= p90)
    return {
        "n": len(results),
        "success_rate": float(np.mean(chis <= 1.2)),
        "median_chi": float(np.median(chis)),
        "median_abs_log10_error": _per_param(names, np.median(err, axis=0)),
        "coverage_p10_p90": _per_param(names, covered.mean(axis=0)),
        "median_ms": float(np.median([r["elapsed_ms"] for r in results])),
        "out_of_domain_rate": float(np.mean([not r["in_domain"] for r in results])),
    }


def training_history(
    history: Sequence[Sequence[Mapping[str, Any]]],
) -> list[list[dict[str, float]]]:
    """Per ensemble member, the per-epoch ``{epoch, train_loss, val_loss}`` of its fit, from the
    ensemble's ``history_``."""
    keys = ("epoch", "train_loss", "val_loss")
    return [[{k: epoch[k] for k in keys if k in epoch} for epoch in member] for member in history]
