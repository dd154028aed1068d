"""Choose the number of layers: invert with a family of inverters and compare by BIC.

For each candidate inverter (one per layer count, same method and compatible geometry) every
sounding is inverted (with refinement) and scored with the Bayesian information criterion of a
Gaussian likelihood with the stated data errors::

    BIC = n·χ² + k·ln(n)

where ``n`` is the number of data, ``χ`` the refined model's misfit (so ``n·χ²`` is the weighted
sum of squared residuals, i.e. −2 ln L up to a constant) and ``k`` the number of free parameters
(``2N − 1`` for N layers, less any fixed ones). The lowest BIC wins; all candidates are returned,
best first, so the runners-up and how close they came are visible.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from .observations import InversionInputError


def bic_score(result: Mapping[str, Any], n_free_params: int) -> tuple[float, int]:
    """``(BIC, n_data)`` of one inversion result: n·χ² + k·ln n with n the result's data count
    (ρa, plus phases for MT) and k = ``n_free_params``; χ = None (no fit) counts as infinite."""
    predicted = result["predicted"]
    n_data = len(predicted["rho_a_ohmm"]) * (2 if "phase_deg" in predicted else 1)
    chi = result["misfit"]["chi"]
    chi = math.inf if chi is None else float(chi)
    return n_data * chi * chi + n_free_params * math.log(n_data), n_data


def _as_family(inverters: Mapping[int, Any] | Sequence[Any]) -> list[Any]:
    family = list(inverters.values()) if isinstance(inverters, Mapping) else list(inverters)
    if not family:
        raise ValueError("inverters: give at least one inverter")
    layers = [inv.n_layers for inv in family]
    if len(set(layers)) != len(layers):
        raise ValueError(f"inverters: each layer count must appear once, got {sorted(layers)}")
    names = {inv.forward_model.name for inv in family}
    if len(names) != 1:
        raise ValueError(f"inverters: all must use the same forward model, got {sorted(names)}")
    return sorted(family, key=lambda inv: inv.n_layers)


def choose_layer_count(
    inverters: Mapping[int, Any] | Sequence[Any],
    observations: Sequence[Mapping[str, Any]],
    noise_floor: Mapping[str, float] | None = None,
) -> list[dict[str, Any]]:
    """Pick the layer count for each sounding by BIC over a family of inverters.

    ``inverters``: fitted :class:`bpnet.Inverter` objects for different layer counts (a list or a
    mapping keyed by layer count); ``observations``: REST-layout observation dicts.
    Returns, per sounding, ``{"n_layers": chosen, "result": that inverter's result dict,
    "candidates": [{"n_layers", "bic", "delta_bic", "chi", "rms_percent", "n_data",
    "n_free_params", "in_domain"}, … best first], "skipped": [{"n_layers", "reason"}]}``.
    A candidate whose geometry cannot take the sounding (422) is skipped with its reason; if no
    candidate can, the first error is raised.
    """
    family = _as_family(inverters)
    if isinstance(observations, Mapping):
        observations = [observations]
    n_obs = len(observations)
    per_inverter: dict[int, list[dict[str, Any] | InversionInputError]] = {}
    for inv in family:
        outcomes: list[dict[str, Any] | InversionInputError] = []
        try:
            outcomes = list(inv.invert(observations, refine=True, noise_floor=noise_floor))
        except InversionInputError as exc:
            if exc.status != 422:
                raise
            # Some soundings do not fit this inverter's geometry: invert them one by one.
            for obs in observations:
                try:
                    outcomes.append(inv.invert([obs], refine=True, noise_floor=noise_floor)[0])
                except InversionInputError as one:
                    if one.status != 422:
                        raise
                    outcomes.append(one)
        per_inverter[inv.n_layers] = outcomes

    choices = []
    for i in range(n_obs):
        candidates, skipped, first_error = [], [], None
        for inv in family:
            outcome = per_inverter[inv.n_layers][i]
            if isinstance(outcome, InversionInputError):
                skipped.append({"n_layers": inv.n_layers, "reason": str(outcome)})
                first_error = first_error or outcome
                continue
            k = inv.forward_model.n_params - len(outcome["fixed"])
            bic, n_data = bic_score(outcome, k)
            chi = outcome["misfit"]["chi"]
            candidates.append(
                {
                    "n_layers": inv.n_layers,
                    "bic": bic,
                    "chi": math.inf if chi is None else float(chi),
                    "rms_percent": outcome["misfit"]["rms_percent"],
                    "n_data": n_data,
                    "n_free_params": k,
                    "in_domain": bool(outcome["in_domain"]),
                    "_result": outcome,
                }
            )
        if not candidates:
            raise first_error
        candidates.sort(key=lambda c: c["bic"])
        best = candidates[0]
        for c in candidates:
            c["delta_bic"] = c["bic"] - best["bic"]
        result = best["_result"]
        choices.append(
            {
                "n_layers": best["n_layers"],
                "result": result,
                "candidates": [{k: v for k, v in c.items() if k != "_result"} for c in candidates],
                "skipped": skipped,
            }
        )
    return choices
