"""Choose the number of layers: invert with a family of inverters and compare by BIC.

For each candidate inverter (one per layer count, same method and compatible geometry) every
sounding is inverted (with refinement) and scored with the Bayesian information criterion of a
Gaussian likelihood with the stated data errors::

    BIC = n·χ² + k·ln(n)

where ``n`` is the number of data, ``χ`` the misfit at the minimum (so ``n·χ²`` is the weighted
sum of squared residuals, i.e. −2 ln L up to a constant) and ``k`` the number of free parameters
(``2N − 1`` for N layers, less any fixed ones). The inverters' refinement stops at χ ≤ 1, so each
candidate is first refined on to its minimum (:func:`minimum_chi`); a BIC on χ values that were
never minimised would favour whichever model happened to stop lower. :func:`choose_simplest`
then prefers the simpler model when it fits as well, or when the better-scoring one has
unresolved parameters — but never one whose χ² the data errors reject while the better one's
they do not. All candidates are returned, lowest BIC first, so the runners-up and how
close they came are visible.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy.special import chdtrc

from .lm_batch import LMSettings, refine_batch
from .observations import InversionInputError, parse_observation, phase_mask
from .results import model_vector


def bic(chi: float, n_data: int, n_free_params: int) -> float:
    """Bayesian information criterion of a fit: n·χ² + k·ln n (n data, k free parameters)."""
    return n_data * chi * chi + n_free_params * math.log(n_data)


def bic_score(result: Mapping[str, Any], n_free_params: int) -> tuple[float, int]:
    """``(BIC, n_data)`` of one inversion result: n·χ² + k·ln n with n the result's data count
    (ρa, plus phases for MT) and k = ``n_free_params``; χ = None (no fit) counts as infinite."""
    predicted = result["predicted"]
    n_data = len(predicted["rho_a_ohmm"]) * (2 if "phase_deg" in predicted else 1)
    chi = result["misfit"]["chi"]
    chi = math.inf if chi is None else float(chi)
    return bic(chi, n_data, n_free_params), n_data


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


#: ΔBIC within which a simpler model counts as fitting as well (Kass & Raftery 1995: "not worth
#: more than a bare mention" below 2; "positive" evidence 2–6).
SIMPLER_WITHIN_BIC = 2.0
UNRESOLVED_WITHIN_BIC = 6.0
UNRESOLVED_STD = 0.5  # σ(log10 m) above half a decade: the data do not resolve the parameter
#: a fit is within its errors when its χ² = n·χ² is not rejected at this level (χ² distribution
#: of n − k degrees of freedom); a simpler model that is not, where the best-scoring one is,
#: does not fit as well
ADEQUATE_P = 0.05
#: the refinement to the minimum: no target χ, a tight relative cost tolerance
TO_MINIMUM = LMSettings(
    max_iterations=60, target_chi=0.0, ftol=1e-6, cost_tol=1e-6, accept_chi=0.0, max_step_log10=1.0
)


def within_errors(candidate: Mapping[str, Any]) -> bool:
    """Whether a fit's χ² (n·χ², n = ``n_data``, χ = ``chi_minimum`` if given, else ``chi``) is
    not rejected at ``ADEQUATE_P`` by the χ² distribution of n − k degrees of freedom
    (k = ``n_free_params``; at least one)."""
    chi = candidate.get("chi_minimum", candidate["chi"])
    n, k = candidate["n_data"], candidate["n_free_params"]
    return bool(chdtrc(max(n - k, 1), n * chi * chi) >= ADEQUATE_P)


def choose_simplest(candidates: Sequence[Mapping[str, Any]]) -> int:
    """Index of the chosen candidate among layer counts each refined to its minimum.

    ``candidates[j]``: ``{"n_layers", "bic", "chi", "n_data", "n_free_params", "unresolved":
    [parameter names]}``. The lowest BIC wins, except that a simpler candidate (fewer layers)
    within ``SIMPLER_WITHIN_BIC`` of it is preferred, and within ``UNRESOLVED_WITHIN_BIC`` when
    the better-scoring one has unresolved parameters while the simpler one has none: a layer
    the data do not resolve is not preferred over a simpler model that fits as well. A simpler
    model fits as well only if it fits within the errors (:func:`within_errors`) wherever the
    better-scoring one does.
    """
    if not candidates:
        raise ValueError("candidates: give at least one")
    best = min(range(len(candidates)), key=lambda j: candidates[j]["bic"])
    chosen = best
    best_within = within_errors(candidates[best])
    for j in sorted(range(len(candidates)), key=lambda j: candidates[j]["n_layers"]):
        c, b = candidates[j], candidates[best]
        if c["n_layers"] >= b["n_layers"]:
            break
        if best_within and not within_errors(c):
            continue
        delta = c["bic"] - b["bic"]
        if delta <= SIMPLER_WITHIN_BIC or (
            delta <= UNRESOLVED_WITHIN_BIC and b["unresolved"] and not c["unresolved"]
        ):
            chosen = j
            break
    return chosen


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
    "candidates": [{"n_layers", "bic", "delta_bic", "chi", "chi_minimum", "rms_percent",
    "n_data", "n_free_params", "in_domain", "unresolved"}, … lowest BIC first],
    "skipped": [{"n_layers", "reason"}]}``; BIC uses ``chi_minimum`` (:func:`minimum_chi`).
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
        choices.append(_choose(fitted, observations[i], noise_floor, skipped))
    return choices


def score_candidates(
    fitted: Sequence[tuple[Any, Mapping[str, Any]]],
    observation: Mapping[str, Any],
    noise_floor: Mapping[str, float] | None = None,
) -> list[dict[str, Any]]:
    """Score one sounding's ``fitted`` (inverter, result) pairs: each refined on to its minimum
    χ (:func:`minimum_chi`) for its BIC. Returns, in the same order, ``{"n_layers", "bic",
    "delta_bic", "chi", "chi_minimum", "rms_percent", "n_data", "n_free_params", "in_domain",
    "unresolved"}`` — ready for :func:`choose_simplest`."""
    scored = []
    for inv, outcome in fitted:
        k = inv.forward_model.n_params - len(outcome["fixed"])
        chi_min = minimum_chi(inv, observation, outcome, noise_floor)
        _, n_data = bic_score(outcome, k)
        std = outcome["uncertainty"].get("linearised_std_log10", {})
        names = [f"rho{j + 1}" for j in range(inv.n_layers)]
        names += [f"h{j + 1}" for j in range(inv.n_layers - 1)]
        values = list(std.get("rho_ohmm", [])) + list(std.get("thickness_m", []))
        unresolved = [n for n, v in zip(names, values, strict=False) if not v <= UNRESOLVED_STD]
        chi = outcome["misfit"]["chi"]
        scored.append(
            {
                "n_layers": inv.n_layers,
                "bic": n_data * chi_min**2 + k * math.log(n_data),
                "chi": math.inf if chi is None else float(chi),
                "chi_minimum": chi_min,
                "rms_percent": outcome["misfit"]["rms_percent"],
                "n_data": n_data,
                "n_free_params": k,
                "in_domain": bool(outcome["in_domain"]),
                "unresolved": unresolved,
            }
        )
    best_bic = min(c["bic"] for c in scored)
    for c in scored:
        c["delta_bic"] = c["bic"] - best_bic
    return scored


def _choose(
    fitted: list[tuple[Any, dict[str, Any]]],
    observation: Mapping[str, Any],
    noise_floor: Mapping[str, float] | None,
    skipped: list[dict[str, Any]],
) -> dict[str, Any]:
    """One sounding's choice among its ``fitted`` (inverter, result) pairs."""
    scored = score_candidates(fitted, observation, noise_floor)
    chosen = choose_simplest(scored)
    order = sorted(range(len(scored)), key=lambda j: scored[j]["bic"])
    return {
        "n_layers": scored[chosen]["n_layers"],
        "result": fitted[chosen][1],
        "candidates": [scored[j] for j in order],
        "skipped": skipped,
    }


def minimum_chi(
    inverter: Any,
    observation: Mapping[str, Any],
    result: Mapping[str, Any],
    noise_floor: Mapping[str, float] | None = None,
) -> float:
    """χ at the minimum reached by refining ``result``'s model on (no target χ: not stopped at
    χ ≤ 1) within the inverter's training bounds, on the observed geometry, fixed parameters
    held; never above the result's own χ."""
    parsed = parse_observation(observation, inverter.forward_model, noise_floor)
    fm = inverter.forward_model
    fwd = fm if parsed.same_geometry else fm.with_geometry(**parsed.geometry)
    bounds = inverter.domain_bounds()
    names = list(inverter.parameter_names)
    lower = np.array([bounds[n][0] for n in names])
    upper = np.array([bounds[n][1] for n in names])
    start = np.clip(np.asarray(model_vector(result["model"]), float), lower, upper)
    fixed = np.array([n in result["fixed"] for n in names])[None]
    out = refine_batch(
        lambda m: np.asarray(fwd.forward(m, precision="double"), dtype=float),
        start[None],
        parsed.data[None],
        parsed.sigma[None],
        phase_mask(fwd.data_kinds),
        lower,
        upper,
        fixed,
        settings=TO_MINIMUM,
        jacobian=getattr(fwd, "forward_and_jacobian", None),
        covariance=False,
    )
    own = result["misfit"]["chi"]
    own = math.inf if own is None else float(own)
    found = float(out.chi[0]) if np.isfinite(out.chi[0]) else math.inf
    return min(own, found)
