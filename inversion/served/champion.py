"""Champion/challenger: compare two served networks of one method and layer count on the same
fixed held-out soundings, and decide whether the challenger replaces the champion.

The held-out set (:func:`held_out_soundings`) is drawn from a fixed seed, so every evaluation of
a given method and layer count sees the same soundings: ``n`` noisy synthetic soundings whose
true model has the network's layer count (ρ log-uniform in 1–10⁴ Ω·m, interfaces inside the
depth range the data see), on random geometries inside the served range (first abscissa and
span random, 4–12 points per decade), 3 % Gaussian noise on ρa and 1° on phase, stated as errors.

The metric (:func:`evaluate`) is the **median network-only χ**: the χ of the network's own
answer (the best-fitting of the ensemble's geometric-mean model and its members, for the
sounding and its noisy copies, :func:`inversion.served.inverter.noisy_copies`; no refinement)
on the observed geometry. The robust search refines every start to the minimum, so what a better
network changes is how good its start is; the network-only χ measures exactly that, at a few
forward calls per sounding. The rule (:func:`challenger_wins`): the challenger wins when its
median is finite and lower than the champion's by more than ``margin`` (relative; default 0:
strictly lower).
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

__all__ = [
    "EVAL_N",
    "EVAL_SEED",
    "FIELD_POINTS_PER_DECADE",
    "FIELD_SPANS_DECADES",
    "challenger_wins",
    "evaluate",
    "held_out_set",
    "held_out_soundings",
    "noisy_observation",
    "random_truth",
]

EVAL_N = 100
EVAL_SEED = 20261206
RHO_A_REL, PHASE_DEG = 0.03, 1.0


#: ``geometry="field"`` of :func:`random_truth`: spans (decades) and densities (points per
#: decade) like those of the 31 real soundings in the field fixtures and tests/data/field_more
#: (VES 1.85–2.04 decades, MT 3.8–7.0; 8.4–19.1 points per decade, 26–90 points), the VES spans
#: widened to the deeper soundings the served range allows, the densities kept below the densest
FIELD_SPANS_DECADES = {"ves": (1.8, 3.5), "mt": (3.5, 6.0)}
FIELD_POINTS_PER_DECADE = (8.0, 16.0)
_WIDE_SPANS_DECADES = {"ves": (1.0, 3.5), "mt": (1.5, 6.0)}
_WIDE_POINTS_PER_DECADE = (4.0, 12.0)


def random_truth(
    method: str,
    n_layers: int | tuple[int, int],
    rng: np.random.Generator,
    geometry: str = "wide",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A random VES or MT sounding inside the served range: ``(axis (K,), model (2N−1,),
    noise-free data)``. First abscissa random; ``geometry`` "wide": span from 1 (VES) or 1.5
    (MT) decades to 3.5 or 6, 4–12 points per decade; "field": spans and densities like the real
    soundings' (``FIELD_SPANS_DECADES``, ``FIELD_POINTS_PER_DECADE``). ρ log-uniform in
    1–10⁴ Ω·m, interfaces inside the depths the data see; ``n_layers`` fixed, or ``(low, high)``
    drawn with ``rng.integers`` after the geometry."""
    spec = METHODS[method]
    kind = "mt" if spec.has_phase else "ves"
    if geometry == "field":
        spans, densities = FIELD_SPANS_DECADES[kind], FIELD_POINTS_PER_DECADE
    elif geometry == "wide":
        spans, densities = _WIDE_SPANS_DECADES[kind], _WIDE_POINTS_PER_DECADE
    else:
        raise ValueError(f"geometry: {geometry!r} is not 'wide' or 'field'")
    lo, hi = np.log10(spec.axis_range)
    span = rng.uniform(spans[0], min(hi - lo, spans[1]))
    first = rng.uniform(lo, hi - span)
    k = int(span * rng.uniform(*densities)) + 1
    log_axis = np.sort(first + span * np.concatenate([[0.0, 1.0], rng.uniform(size=k - 2)]))
    axis = 10.0**log_axis
    if not isinstance(n_layers, int):
        n_layers = int(rng.integers(*n_layers))
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
    return axis, model, data


def noisy_observation(
    method: str, axis: np.ndarray, data: np.ndarray, rng: np.random.Generator
) -> dict[str, Any]:
    """The observation dict (REST layout) of noise-free ``data`` on ``axis`` with
    ``RHO_A_REL`` relative Gaussian noise on ρa and ``PHASE_DEG`` degrees on phase (no error
    fields: a caller states them where it wants them)."""
    spec, k = METHODS[method], axis.size
    obs: dict[str, Any] = {
        spec.axis: axis.tolist(),
        "rho_a_ohmm": (data[:k] * (1.0 + RHO_A_REL * rng.standard_normal(k))).tolist(),
    }
    if spec.has_phase:
        obs["phase_deg"] = (data[k:] + PHASE_DEG * rng.standard_normal(k)).tolist()
    return obs


def _sounding(
    method: str, n_layers: int, rng: np.random.Generator
) -> tuple[dict[str, Any], np.ndarray]:
    """One noisy synthetic observation dict of a random ``n_layers`` model, errors stated, and
    that model (2N−1,) Ω·m / m."""
    axis, model, data = random_truth(method, n_layers, rng)
    obs = noisy_observation(method, axis, data, rng)
    obs["rho_a_error_percent"] = 100.0 * RHO_A_REL
    if METHODS[method].has_phase:
        obs["phase_error_deg"] = PHASE_DEG
    return obs, model


#: a fixed random stream per method: adding served methods never changes existing held-out sets
_METHOD_STREAM = {"mt-1d": 0, "ves-schlumberger": 1, "ves-wenner": 2}


def held_out_soundings(
    method: str, n_layers: int, n: int = EVAL_N, seed: int = EVAL_SEED
) -> list[dict[str, Any]]:
    """The fixed held-out set of ``method`` and ``n_layers``: ``n`` observation dicts (REST
    layout), the same for the same arguments. VES and MT only (ValueError otherwise)."""
    return [obs for obs, _ in held_out_set(method, n_layers, n, seed)]


def held_out_set(
    method: str, n_layers: int, n: int = EVAL_N, seed: int = EVAL_SEED
) -> list[tuple[dict[str, Any], np.ndarray]]:
    """:func:`held_out_soundings` with each sounding's true model (2N−1,) Ω·m / m."""
    if method not in METHODS or METHODS[method].is_tem:
        raise ValueError(f"method: no held-out set for {method!r} (VES and MT methods only)")
    rng = np.random.default_rng([seed, n_layers, _METHOD_STREAM[method]])
    return [_sounding(method, n_layers, rng) for _ in range(n)]


def evaluate(net: ServedNetwork, soundings: list[dict[str, Any]]) -> dict[str, Any]:
    """``{"median_network_chi", "n_evaluated", "n_refused"}`` of ``net`` on ``soundings``: the
    network-only χ of its layer count per sounding (soundings the served parser refuses, e.g.
    a noisy phase far outside [0°, 90°], are counted in ``n_refused``; they do not depend on the
    network, so champion and challenger skip the same ones)."""
    served = ServedSet([net], max_layers=net.n_layers)
    chis, refused = [], 0
    for obs in soundings:
        try:
            (sounding,) = served.parse(obs)
        except InversionInputError:
            refused += 1
            continue
        chis.append(served.network_chi(sounding, net.n_layers))
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
