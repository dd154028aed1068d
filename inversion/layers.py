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


def rank_by_bic(
    results: Sequence[Mapping[str, Any]], n_free_params: Sequence[int]
) -> list[dict[str, Any]]:
    """Rank one sounding's results from several candidate inverters by BIC, best first.

    ``results[j]`` is candidate ``j``'s result dict, ``n_free_params[j]`` its number of free
    parameters. Returns ``[{"index": j, "bic", "delta_bic", "chi", "n_data", "n_free_params"}]``
    sorted by BIC (ties keep the candidates' order), ``delta_bic`` relative to the best;
    χ = None counts as infinite.
    """
    if len(results) != len(n_free_params):
        raise ValueError(f"n_free_params: {len(n_free_params)} values for {len(results)} results")
    ranked = []
    for j, (result, k) in enumerate(zip(results, n_free_params, strict=True)):
        bic, n_data = bic_score(result, k)
        chi = result["misfit"]["chi"]
        ranked.append(
            {
                "index": j,
                "bic": bic,
                "chi": math.inf if chi is None else float(chi),
                "n_data": n_data,
                "n_free_params": k,
            }
        )
    ranked.sort(key=lambda c: c["bic"])
    for c in ranked:
        c["delta_bic"] = c["bic"] - ranked[0]["bic"]
    return ranked


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
        fitted, skipped, first_error = [], [], None
        for inv in family:
            outcome = per_inverter[inv.n_layers][i]
            if isinstance(outcome, InversionInputError):
                skipped.append({"n_layers": inv.n_layers, "reason": str(outcome)})
                first_error = first_error or outcome
                continue
            fitted.append((inv, outcome))
        if not fitted:
            raise first_error
        ranked = rank_by_bic(
            [outcome for _, outcome in fitted],
            [inv.forward_model.n_params - len(outcome["fixed"]) for inv, outcome in fitted],
        )
        candidates = []
        for entry in ranked:
            inv, outcome = fitted[entry["index"]]
            candidates.append(
                {
                    "n_layers": inv.n_layers,
                    "bic": entry["bic"],
                    "chi": entry["chi"],
                    "rms_percent": outcome["misfit"]["rms_percent"],
                    "n_data": entry["n_data"],
                    "n_free_params": entry["n_free_params"],
                    "in_domain": bool(outcome["in_domain"]),
                    "delta_bic": entry["delta_bic"],
                }
            )
        choices.append(
            {
                "n_layers": candidates[0]["n_layers"],
                "result": fitted[ranked[0]["index"]][1],
                "candidates": candidates,
                "skipped": skipped,
            }
        )
    return choices
