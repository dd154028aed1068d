"""Transient EM in the served frame: the late-time apparent resistivity, the TEM parse, and the
synthetic soundings its networks learn from.

Under lengths × s and resistivities × c a layered earth's −dBz/dt per ampere at times t·s²/c is
c/s³ times the original, so the late-time apparent resistivity

    ρa(t) = (μ₀^{5/2} A / (20 π^{3/2} t^{5/2} g(t)))^{2/3}     (A the loop's area, g = −dBz/dt/I)

scales by c: a TEM sounding is, like VES and MT, log ρa/ρ_ref against log t/t₁ on the canonical
grid, plus one number for the loop, τ₁ = t₁ ρ_ref/(μ₀ A) (how far the diffusion has gone
beyond the loop at the first time; the network reads log10 τ₁ as an extra input). Depths are
in units of the diffusion depth √(2 t₁ ρ_ref/μ₀). The network is trained on step-off square
loops of one receiver kind; ramp, gates, filters and circular loops enter only the refinement,
which always uses the exact forward model on the observed geometry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np

import forward_models

from ..input_checks import InversionInputError, as_vector, require_positive
from ..observations import Observation
from ..spacings import RANGE_RTOL, check_served_range
from .frame import MU0, TEM_DATA, MethodSpec, features_batch, frame_batch, grid_log10, to_canonical

__all__ = [
    "LOOP_SIDE_RANGE_M",
    "TAU_RANGE_LOG10",
    "late_time_rho_a",
    "log_tau_first",
    "parse_tem",
    "prior_depth_range",
    "synthetic_tem",
    "tem_method",
]

LOOP_SIDE_RANGE_M = (5.0, 500.0)  # served loops: square side, or a circle of equal area
#: training: log10 τ = t ρ/(μ₀ A) at the first time (lowest ρ) and at the last (geometric-mean
#: ρ) stay where the forward model is accurate (0.5 % of a half-space's late-time ρa to τ 10³)
TAU_RANGE_LOG10 = (-3.3, 3.3)
_RECEIVERS = {"central": "tem-central-loop", "coincident": "tem-coincident-loop"}
_GEOMETRY = ("ramp_off_s", "gate_open_s", "gate_close_s", "lowpass_hz")
_PER_GATE = ("gate_open_s", "gate_close_s")
_NORMALISED = ("tx_turns", "rx_turns", "rx_area_m2")
_T_BASE_S = 1e-5  # first time of the training soundings (square loop of side 1 m)


def late_time_rho_a(times_s: np.ndarray, dbzdt: np.ndarray, area_m2: float) -> np.ndarray:
    """Late-time apparent resistivity (..., K) Ω·m of −dBz/dt per ampere ``dbzdt`` (..., K)
    V/(A·m²) at ``times_s`` (K,) for a loop of ``area_m2``; the half-space value at late time."""
    t = np.asarray(times_s, dtype=float)
    return (MU0**2.5 * area_m2 / (20.0 * np.pi**1.5 * t**2.5 * dbzdt)) ** (2.0 / 3.0)


def log_tau_first(log_t1_s: Any, log_rho_ref: Any, area_m2: Any) -> np.ndarray:
    """log10 τ₁ = log10(t₁ ρ_ref/(μ₀ A)) (n,): the sounding's first time in loop diffusion
    times."""
    return np.asarray(log_t1_s + log_rho_ref - np.log10(MU0 * np.asarray(area_m2)), dtype=float)


def tem_method(obs: Mapping[str, Any], index: int | None) -> str:
    """``tem-central-loop`` or ``tem-coincident-loop`` from the observation's ``receiver``."""
    receiver = obs.get("receiver")
    if receiver not in _RECEIVERS:
        raise InversionInputError(
            f"receiver must be 'central' (receiver at the loop centre) or 'coincident' (the "
            f"loop receives) for a TEM sounding (times_s), got {receiver!r}",
            field="receiver",
            index=index,
        )
    return _RECEIVERS[receiver]


def _loop(obs: Mapping[str, Any], index: int | None) -> tuple[dict[str, float], float]:
    """The loop keyword ``{loop_side_m | loop_radius_m: size}`` and its area (m²); 422 outside
    the served loops."""
    given = [k for k in ("loop_side_m", "loop_radius_m") if obs.get(k) is not None]
    if len(given) != 1:
        raise InversionInputError(
            "give exactly one of loop_side_m (square loop) and loop_radius_m (circular loop)",
            field="loop_side_m",
            index=index,
        )
    key = given[0]
    try:
        size = float(obs[key])
    except (TypeError, ValueError):
        raise InversionInputError(f"{key} must be a number", field=key, index=index) from None
    if not np.isfinite(size) or size <= 0:
        raise InversionInputError(f"{key} must be positive, got {size}", field=key, index=index)
    area = size**2 if key == "loop_side_m" else np.pi * size**2
    side = np.sqrt(area)
    lo, hi = LOOP_SIDE_RANGE_M
    if not lo * (1 - RANGE_RTOL) <= side <= hi * (1 + RANGE_RTOL):
        what = (
            f"{size:g} m"
            if key == "loop_side_m"
            else f"{size:g} m (area of a square of {side:.3g} m)"
        )
        raise InversionInputError(
            f"{key} = {what} lies outside the served range of square loops of side "
            f"[{lo:g}, {hi:g}] m (circles of equal area)",
            field=key,
            status=422,
            index=index,
        )
    return {key: size}, float(area)


def _gate_vectors(obs: Mapping[str, Any], k: int, index: int | None) -> dict[str, Any]:
    """The optional waveform and gate keywords of the observation (per-gate ones checked for
    length)."""
    out: dict[str, Any] = {}
    for key in _GEOMETRY:
        value = obs.get(key)
        if value is None:
            continue
        if key in _PER_GATE or key == "lowpass_hz":
            vec = as_vector(obs, key, index)
            if key in _PER_GATE and vec.size != k:
                raise InversionInputError(
                    f"{key} has {vec.size} values but times_s has {k}", field=key, index=index
                )
            out[key] = vec
        else:
            out[key] = value
    return out


def _readings(
    obs: Mapping[str, Any], index: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Times (K,) s, −dBz/dt (K,) and the optional errors (K,) % as given."""
    times = as_vector(obs, "times_s", index)
    data = as_vector(obs, TEM_DATA, index)
    if times.size < 3:
        raise InversionInputError(
            f"times_s has {times.size} values; at least 3 gates are needed",
            field="times_s",
            index=index,
        )
    if data.size != times.size:
        raise InversionInputError(
            f"{TEM_DATA} has {data.size} values but times_s has {times.size}",
            field=TEM_DATA,
            index=index,
        )
    require_positive(times, "times_s", index)
    require_positive(data, TEM_DATA, index)
    err = None
    if obs.get("dbzdt_error_percent") is not None:
        raw = obs["dbzdt_error_percent"]
        err = (
            np.full(times.size, float(raw))
            if isinstance(raw, (int, float)) and not isinstance(raw, bool)
            else as_vector(obs, "dbzdt_error_percent", index)
        )
        if err.size != times.size:
            raise InversionInputError(
                f"dbzdt_error_percent has {err.size} values but times_s has {times.size}",
                field="dbzdt_error_percent",
                index=index,
            )
        require_positive(err, "dbzdt_error_percent", index)
    return times, data, err


#: z-score beyond which an early gate counts as below a later one (a rising start)
RISING_Z = 3.0


def rising_early_gates(data: np.ndarray, rel_err: np.ndarray) -> int:
    """How many of the earliest gates (K,) lie below a later gate by more than ``RISING_Z``
    standard deviations of their log difference (relative errors ``rel_err``, (K,)): the
    leading run of such gates. A step-off response never rises, so a significant rise is the
    turn-off ramp or a receiver transient; within the errors it is noise on a flat early-time
    response (a central loop's tends to a constant at early times), and those gates are kept."""
    ln = np.log(data)
    n = 0
    for j in range(data.size - 1):
        margin = ln[j + 1 :] - ln[j] - RISING_Z * np.hypot(rel_err[j], rel_err[j + 1 :])
        if not np.any(margin > 0):
            break
        n = j + 1
    return n


#: z-score beyond which ln −dB/dt bends the wrong way over three gates (see below); high,
#: since every triple of the first third of the gates is tested (~K³/162 tests)
CONCAVE_Z = 5.0
#: the smallest relative error used in that test (instrument gain and timing precision)
CONCAVE_MIN_REL = 0.002


def concave_early_gates(times_s: np.ndarray, data: np.ndarray, rel_err: np.ndarray) -> int:
    """How many of the earliest gates (K,) a coincident-loop layered earth cannot give.

    A coincident (single) loop's step-off response is its self-coupling, Σ c_k² λ_k e^{−λ_k t}
    with c_k² ≥ 0, completely monotone in t — and so are its ramp and low-pass versions (the
    same positive average at every gate; gate windows short against their times change this
    only in second order). Completely monotone functions are log-convex: for any gates
    a < b < c the slope of ln −dB/dt over (a, b) is at most its slope over (b, c). Every triple
    among the first third of the gates is tested (saturation and the ramp touch the earliest
    gates; a decay bent later, as induced polarisation bends it, is no reason to drop gates).
    A triple that bends the wrong way by more than ``CONCAVE_Z`` standard deviations of the
    slope difference (from the relative errors, at least ``CONCAVE_MIN_REL``) is not a layered
    earth's response: receiver saturation or the turn-off ramp at early times. Returns the
    fewest leading gates whose removal leaves no such triple (0 when none bends): wide triples
    see a clipped plateau that neighbouring gates, each with its own errors, do not."""
    top = max(times_s.size // 3, 3)
    a, b, c = np.array(list(combinations(range(top), 3))).T
    ln, sig = np.log(data), np.maximum(rel_err, CONCAVE_MIN_REL)
    d_ab, d_bc = times_s[b] - times_s[a], times_s[c] - times_s[b]
    fall = (ln[b] - ln[a]) / d_ab - (ln[c] - ln[b]) / d_bc
    sd = np.hypot(np.hypot(sig[a] / d_ab, sig[b] * (1 / d_ab + 1 / d_bc)), sig[c] / d_bc)
    bent = a[fall > CONCAVE_Z * sd]
    return int(bent.max()) + 1 if bent.size else 0


@dataclass(frozen=True)
class ReversedGates:
    """TEM gates after a sign reversal (:func:`reversed_gates`): ``times_s`` (R,) s, ``data``
    (R,) −dBz/dt per A (< 0), ``sigma`` (R,) relative to |data| (floored)."""

    times_s: np.ndarray
    data: np.ndarray
    sigma: np.ndarray


def reversed_gates(
    obs: Mapping[str, Any], kept_times_s: np.ndarray, rel_floor: float, index: int | None
) -> ReversedGates | None:
    """``obs["reversed_gates"]`` checked (None when absent): equal lengths, times positive and
    distinct from the fitted gates' ``kept_times_s``, values below zero, errors (%) positive;
    not with per-gate ``gate_open_s``/``gate_close_s``. InversionInputError (400) otherwise."""
    raw = obs.get("reversed_gates")
    if raw is None:
        return None
    field = "reversed_gates"
    if not isinstance(raw, Mapping):
        raise InversionInputError(f"{field}: expected an object", field=field, index=index)
    if obs.get("gate_open_s") is not None:
        raise InversionInputError(
            f"{field}: not supported with gate_open_s/gate_close_s (gate-integrated data)",
            field=field,
            index=index,
        )
    named = {f"{field}.{key}": value for key, value in raw.items()}  # errors name the path
    times = as_vector(named, f"{field}.times_s", index)
    data = as_vector(named, f"{field}.{TEM_DATA}", index)
    err = as_vector(named, f"{field}.dbzdt_error_percent", index)
    if not data.size == err.size == times.size:
        raise InversionInputError(
            f"{field}: times_s, {TEM_DATA} and dbzdt_error_percent need equal lengths "
            f"({times.size}, {data.size}, {err.size})",
            field=field,
            index=index,
        )
    require_positive(times, f"{field}.times_s", index)
    require_positive(err, f"{field}.dbzdt_error_percent", index)
    if np.any(data >= 0):
        raise InversionInputError(
            f"{field}.{TEM_DATA}: the gates after a sign reversal are below zero",
            field=f"{field}.{TEM_DATA}",
            index=index,
        )
    if np.intersect1d(times, kept_times_s).size or np.unique(times).size < times.size:
        raise InversionInputError(
            f"{field}.times_s repeats a gate time", field=f"{field}.times_s", index=index
        )
    order = np.argsort(times)
    sigma = np.maximum(err[order] / 100.0, rel_floor)
    return ReversedGates(times[order], data[order], sigma)


def parse_tem(
    spec: MethodSpec, obs: Mapping[str, Any], rel_floor: float, index: int | None
) -> tuple[Observation, float, ReversedGates | None]:
    """One TEM observation dict checked and read for ``spec``: the :class:`Observation` (data
    −dBz/dt per ampere on the observed gates, σ relative = max(error, ``rel_floor``), geometry
    keywords of the forward model), the loop area (m²) and the gates after a sign reversal
    (:func:`reversed_gates`, or None). Gates are sorted by time; early gates
    below a later one beyond their errors (a rising start: ramp or receiver transient, which no
    step-off layered earth gives; :func:`rising_early_gates`) are dropped with a warning, and so
    are early coincident-loop gates that bend the wrong way (:func:`concave_early_gates`).
    InversionInputError: 400 malformed, 422 outside the served times or loops."""
    for key in _NORMALISED:
        if obs.get(key) is not None:
            raise InversionInputError(
                f"{key}: served TEM data are per ampere, per turn and per m² of receiver "
                f"({TEM_DATA}); divide by the turns and the receiver area before sending",
                field=key,
                index=index,
            )
    times, data, err = _readings(obs, index)
    loop, area = _loop(obs, index)
    extra = _gate_vectors(obs, times.size, index)
    warnings = [str(w) for w in obs.get("warnings") or []]
    order = np.argsort(times, kind="stable")
    if np.any(np.diff(times[order]) <= 0):
        raise InversionInputError("times_s has repeated values", field="times_s", index=index)
    if np.any(order != np.arange(times.size)):
        warnings.append("gates were sorted by increasing times_s")
    rel = np.full(times.size, rel_floor) if err is None else err / 100.0  # as stated
    keep = order[rising_early_gates(data[order], np.maximum(rel, rel_floor)[order]) :]
    if keep.size < order.size:
        dropped = order.size - keep.size
        warnings.append(
            f"{dropped} early gate(s) (t < {times[keep[0]]:g} s) lie below a later gate beyond "
            "their errors: the response rises (turn-off ramp or receiver transient, not a "
            "layered earth's decay): dropped"
        )
    if keep.size < 3:
        raise InversionInputError(
            "fewer than 3 gates remain after the rising early gates", field="times_s", index=index
        )
    if spec.name == "tem-coincident-loop":
        n_bad = concave_early_gates(times[keep], data[keep], rel[keep])
        if n_bad and n_bad + 3 <= keep.size:
            warnings.append(
                f"the first {n_bad} gate(s) (t ≤ {times[keep[n_bad - 1]]:g} s) decay in a way "
                "no layered earth gives (ln −dB/dt bends the wrong way beyond their errors: "
                "receiver saturation or the turn-off ramp): dropped"
            )
            keep = keep[n_bad:]
    check_served_range(spec.name, "times_s", times[keep], spec.axis_range, "s", index)
    geometry: dict[str, Any] = {"times_s": times[keep], **loop}
    for key, value in extra.items():
        geometry[key] = value[keep] if key in _PER_GATE else value
    try:
        forward_models.create(spec.name, n_layers=1, **geometry)
    except ValueError as exc:
        field = str(exc).split(":", 1)[0].split("[", 1)[0]
        raise InversionInputError(str(exc), field=field or "times_s", index=index) from None
    sigma = np.full(keep.size, rel_floor)
    if err is not None:
        sigma = np.maximum(sigma, err[keep] / 100.0)
    obs_out = Observation(
        axis_values=times[keep],
        data=data[keep],
        sigma=sigma,
        geometry=geometry,
        network_data=data[keep],
        same_geometry=True,
        warnings=warnings,
    )
    return obs_out, area, reversed_gates(obs, times[keep], rel_floor, index)


def prior_depth_range(span_decades: float) -> tuple[float, float]:
    """log10 of the shallowest and deepest interface (in diffusion depths at the first time)
    the prior draws of a sounding spanning ``span_decades`` use."""
    return -1.0, 0.5 * span_decades


def synthetic_tem(
    spec: MethodSpec, n_layers: int, n: int, rel_noise: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` noisy synthetic TEM soundings (square step-off loop of side 1 m, times from
    ``_T_BASE_S`` on the canonical grid): features (n, n_features), canonical models (n, 2N−1).

    Layer resistivities span up to 4 decades; the first time's τ (with the lowest resistivity)
    and the last time's (with the geometric-mean one) stay inside ``TAU_RANGE_LOG10``, where
    the forward model is accurate; interface depths are log-uniform over what the window
    sees."""
    grid = grid_log10(spec)
    tau_lo, tau_hi = TAU_RANGE_LOG10
    log_rel = rng.uniform(0.0, 4.0, (n, n_layers))
    log_rel -= log_rel.min(axis=1, keepdims=True)
    mean_rel = log_rel.mean(axis=1)  # log10 of the geometric mean over the lowest ρ
    span = 1.0 + rng.uniform(size=n) * (np.minimum(spec.decades, tau_hi - tau_lo - mean_rel) - 1.0)
    log_tau_min = tau_lo + rng.uniform(size=n) * (tau_hi - span - mean_rel - tau_lo)
    log_rho = log_rel + (log_tau_min + np.log10(MU0 / _T_BASE_S))[:, None]  # area 1 m²
    log_delta = 0.5 * (np.log10(2.0 * _T_BASE_S / MU0) + log_rho.mean(axis=1))
    lo, hi = log_delta - 1.0, log_delta + 0.5 * span
    u = np.sort(rng.uniform(size=(n, n_layers - 1)), axis=1)
    depths = 10.0 ** (lo[:, None] + u * (hi - lo)[:, None])
    thickness = np.diff(np.concatenate([np.zeros((n, 1)), depths], axis=1), axis=1)
    models = np.hstack([10.0**log_rho, np.maximum(thickness, 1e-3 * depths[:, :1])])
    times = _T_BASE_S * 10.0**grid
    fm = forward_models.create(spec.name, n_layers=n_layers, times_s=times, loop_side_m=1.0)
    clean = np.asarray(fm.forward(models), dtype=float)
    noisy = clean * (1.0 + rel_noise * rng.standard_normal(clean.shape))
    noisy = np.maximum(noisy, 1e-3 * np.abs(clean))
    with np.errstate(divide="ignore", invalid="ignore"):
        log_rho_a = np.log10(late_time_rho_a(times, noisy, 1.0))
    inside = grid[None, :] <= span[:, None] + 1e-9
    log_t1 = np.full(n, np.log10(_T_BASE_S))
    log_rho_ref, log_len_ref = frame_batch(spec, log_t1, log_rho_a, inside)
    extra = log_tau_first(log_t1, log_rho_ref, 1.0)[:, None]
    x = features_batch(spec, log_rho_a, None, inside, log_rho_ref, extra)
    ok = np.all(np.isfinite(x), axis=1) & np.all((clean > 0) | ~inside, axis=1)
    return x[ok], to_canonical(models[ok], n_layers, log_rho_ref[ok], log_len_ref[ok])
