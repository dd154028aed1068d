"""Champion/challenger: compare two served networks of one method and layer count on the same
fixed held-out soundings, and decide whether the challenger replaces the champion.

The held-out set (:func:`held_out_soundings`) is drawn from a fixed seed, so every evaluation of
a given method and layer count sees the same soundings: ``n`` noisy synthetic soundings whose
true model has the network's layer count (ρ log-uniform in 1–10⁴ Ω·m, interfaces inside the
depth range the data see), on random geometries inside the served range (first abscissa and
span random, 4–12 points per decade), 3 % Gaussian noise on ρa and 1° on phase, stated as errors.

The metric (:func:`evaluate`) is the **median network-only χ**: the χ of the network's own
answer (the ensemble's geometric-mean model, no refinement) on the observed geometry. The robust
search refines every start to the minimum, so what a better network changes is how good its start
is; the network-only χ measures exactly that, at a few forward calls per sounding. The rule
(:func:`challenger_wins`): the challenger wins when its median is finite and lower than the
champion's by more than ``margin`` (relative; default 0: strictly lower).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import forward_models

from ..input_checks import InversionInputError
from .frame import METHODS, SKIN_M
from .inverter import ServedSet
from .network import ServedNetwork
from .search import SearchSettings

__all__ = ["EVAL_N", "EVAL_SEED", "challenger_wins", "evaluate", "held_out_soundings"]

EVAL_N = 100
EVAL_SEED = 20261206
RHO_A_REL, PHASE_DEG = 0.03, 1.0
#: the search is cut to almost nothing: only the network's own χ is read
_NETWORK_ONLY = SearchSettings(n_draws=4, n_refined=1, max_iterations=1)


def _sounding(method: str, n_layers: int, rng: np.random.Generator) -> dict[str, Any]:
    """One noisy synthetic observation dict of a random ``n_layers`` model."""
    spec = METHODS[method]
    lo, hi = np.log10(spec.axis_range)
    min_span = 1.5 if spec.has_phase else 1.0
    span = rng.uniform(min_span, min(hi - lo, 6.0 if spec.has_phase else 3.5))
    first = rng.uniform(lo, hi - span)
    k = int(span * rng.uniform(4, 12)) + 1
    log_axis = np.sort(first + span * np.concatenate([[0.0, 1.0], rng.uniform(size=k - 2)]))
    axis = 10.0**log_axis
    rho = 10.0 ** rng.uniform(0.0, 4.0, n_layers)
    if spec.has_phase:
        skin = SKIN_M * np.sqrt(np.exp(np.log(rho).mean()) * axis[[0, -1]])
        d_lo, d_hi = np.log10(skin[0]) - 0.5, np.log10(skin[1]) - 0.5
    else:
        d_lo, d_hi = log_axis[0] - 0.3, log_axis[-1] - 0.5
    depths = 10.0 ** np.sort(rng.uniform(d_lo, d_hi, n_layers - 1))
    model = np.concatenate([rho, np.diff(np.concatenate([[0.0], depths]))])
    fm = forward_models.create(method, n_layers=n_layers, **{spec.axis: axis})
    data = np.asarray(fm.forward(model, precision="double"), dtype=float)[0]
    obs: dict[str, Any] = {
        spec.axis: axis.tolist(),
        "rho_a_ohmm": (data[:k] * (1.0 + RHO_A_REL * rng.standard_normal(k))).tolist(),
        "rho_a_error_percent": 100.0 * RHO_A_REL,
    }
    if spec.has_phase:
        obs["phase_deg"] = (data[k:] + PHASE_DEG * rng.standard_normal(k)).tolist()
        obs["phase_error_deg"] = PHASE_DEG
    return obs


#: a fixed random stream per method: adding served methods never changes existing held-out sets
_METHOD_STREAM = {"mt-1d": 0, "ves-schlumberger": 1, "ves-wenner": 2}


def held_out_soundings(
    method: str, n_layers: int, n: int = EVAL_N, seed: int = EVAL_SEED
) -> list[dict[str, Any]]:
    """The fixed held-out set of ``method`` and ``n_layers``: ``n`` observation dicts (REST
    layout), the same for the same arguments. VES and MT only (ValueError otherwise)."""
    if method not in METHODS or METHODS[method].is_tem:
        raise ValueError(f"method: no held-out set for {method!r} (VES and MT methods only)")
    rng = np.random.default_rng([seed, n_layers, _METHOD_STREAM[method]])
    return [_sounding(method, n_layers, rng) for _ in range(n)]


def evaluate(net: ServedNetwork, soundings: list[dict[str, Any]]) -> dict[str, Any]:
    """``{"median_network_chi", "n_evaluated", "n_refused"}`` of ``net`` on ``soundings``: the
    network-only χ of its layer count per sounding (soundings the served parser refuses, e.g.
    a noisy phase far outside [0°, 90°], are counted in ``n_refused``; they do not depend on the
    network, so champion and challenger skip the same ones)."""
    served = ServedSet([net], max_layers=net.n_layers, search=_NETWORK_ONLY)
    chis, refused = [], 0
    for obs in soundings:
        try:
            result = served.invert(obs, max_layers=net.n_layers)[0]
        except InversionInputError:
            refused += 1
            continue
        chis += [c["network_chi"] for c in result["candidates"] if c["n_layers"] == net.n_layers]
    values = [c if c is not None and math.isfinite(c) else math.inf for c in chis]
    median = float(np.median(values)) if values else math.inf
    return {"median_network_chi": median, "n_evaluated": len(chis), "n_refused": refused}


def challenger_wins(
    champion: dict[str, Any] | None, challenger: dict[str, Any], margin: float = 0.0
) -> bool:
    """Whether the challenger's metrics (:func:`evaluate`) beat the champion's: a finite median
    network χ below ``(1 − margin)`` × the champion's; always when there is no champion (or
    its metric is missing or not finite), never when the challenger's is not finite."""
    new = challenger.get("median_network_chi")
    if not isinstance(new, int | float) or not math.isfinite(new):
        return False
    old = None if champion is None else champion.get("median_network_chi")
    if not isinstance(old, int | float) or not math.isfinite(old):
        return True
    return new < (1.0 - margin) * old
