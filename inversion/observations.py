"""Parse and validate observation dicts; interpolate them onto a network's geometry.

An observation dict uses the REST layout (docs/architecture.md):

* VES Schlumberger: ``{"ab2_m": [...], "mn2_m": 0.5 | [...] (optional), "rho_a_ohmm": [...],
  "rho_a_error_percent": 3.0 | [...] (optional)}``
* Wenner: ``{"a_m": [...], "rho_a_ohmm": [...], ...}``
* MT 1D: ``{"periods_s": [...], "rho_a_ohmm": [...], "phase_deg": [...],
  "rho_a_error_percent": ..., "phase_error_deg": ... (optional)}``

Bad input raises :class:`InversionInputError` with ``.field`` (the offending key, with an index
where one datum is at fault) and ``.status`` (400 malformed, 422 outside what the network knows).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.interpolate import PchipInterpolator

DEFAULT_NOISE_FLOOR: dict[str, float] = {"rho_a_rel": 0.03, "phase_deg": 1.0}
_GEOMETRY_RTOL = 1e-6  # relative tolerance for "same geometry" and range checks


class InversionInputError(ValueError):
    """Invalid observation or inversion option.

    ``field`` names the offending input (e.g. ``"rho_a_ohmm[3]"``), ``status`` is the HTTP status
    the service should answer with (400 malformed, 422 outside the trained range), ``index`` is
    the position of the sounding in the batch (``None`` when not known); ``detail`` the message
    without the ``"sounding {index}: "`` prefix.
    """

    def __init__(
        self, message: str, *, field: str, status: int = 400, index: int | None = None
    ) -> None:
        prefix = f"sounding {index}: " if index is not None else ""
        super().__init__(prefix + message)
        self.detail = message
        self.field = field
        self.status = status
        self.index = index


@dataclass
class Observation:
    """One validated sounding.

    ``axis_values`` (K,) ascending observed abscissa (m or s); ``data`` (n_obs_data,) in the forward
    model's layout for the *observed* geometry (K ρa in Ω·m, then K phases in degrees for MT);
    ``sigma`` (n_obs_data,) standard errors (relative fraction for ρa, degrees for phase);
    ``geometry`` keywords for ``ForwardModel.with_geometry``; ``network_data`` (n_net_data,) the
    data on the network's geometry (interpolated in log space where needed); ``same_geometry``
    whether no interpolation was needed.
    """

    axis_values: np.ndarray
    data: np.ndarray
    sigma: np.ndarray
    geometry: dict[str, Any]
    network_data: np.ndarray
    same_geometry: bool
    warnings: list[str] = field(default_factory=list)

    def geometry_key(self) -> tuple:
        """Hashable key of the observed geometry (for grouping forward calls)."""
        parts: list[Any] = []
        for name in sorted(self.geometry):
            value = self.geometry[name]
            if value is None:
                parts.append((name, None))
            else:
                parts.append((name, tuple(np.atleast_1d(np.asarray(value, float)).tolist())))
        return tuple(parts)


def _as_vector(obs: Mapping[str, Any], name: str, index: int | None) -> np.ndarray:
    """Return ``obs[name]`` as a finite 1-D float array, or raise naming the field."""
    if name not in obs or obs[name] is None:
        raise InversionInputError(f"{name} is required", field=name, index=index)
    raw = obs[name]
    if isinstance(raw, (str, bytes)) or not isinstance(raw, (Sequence, np.ndarray)):
        raise InversionInputError(
            f"{name} must be a list of numbers, got {type(raw).__name__}", field=name, index=index
        )
    try:
        values = np.asarray(raw, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InversionInputError(
            f"{name} must be a list of numbers ({exc})", field=name, index=index
        ) from None
    if values.ndim != 1:
        raise InversionInputError(
            f"{name} must be a flat list, got shape {values.shape}", field=name, index=index
        )
    finite = np.isfinite(values)
    if not finite.all():
        i = int(np.argmin(finite))
        raise InversionInputError(
            f"{name}[{i}] is not a finite number ({values[i]})", field=f"{name}[{i}]", index=index
        )
    return values


def _require_positive(values: np.ndarray, name: str, index: int | None) -> np.ndarray:
    """``values`` (K,) unchanged, or InversionInputError naming the first value ≤ 0."""
    bad = values <= 0
    if bad.any():
        i = int(np.argmax(bad))
        raise InversionInputError(
            f"{name}[{i}] must be positive, got {values[i]}", field=f"{name}[{i}]", index=index
        )
    return values


def _errors(obs: Mapping[str, Any], name: str, n: int, index: int | None) -> np.ndarray | None:
    """Optional per-datum errors: a positive scalar or a list of ``n`` positive numbers."""
    if name not in obs or obs[name] is None:
        return None
    raw = obs[name]
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        values = np.full(n, float(raw))
        if not math.isfinite(float(raw)) or float(raw) <= 0:
            raise InversionInputError(
                f"{name} must be a positive finite number, got {raw}", field=name, index=index
            )
        return values
    values = _as_vector(obs, name, index)
    if values.size != n:
        raise InversionInputError(
            f"{name} has {values.size} values but rho_a_ohmm has {n}", field=name, index=index
        )
    return _require_positive(values, name, index)


def validate_noise_floor(noise_floor: Mapping[str, float] | None) -> dict[str, float]:
    """Return the noise floor ``{"rho_a_rel": fraction, "phase_deg": degrees}`` with defaults."""
    floor = dict(DEFAULT_NOISE_FLOOR)
    if noise_floor is None:
        return floor
    if not isinstance(noise_floor, Mapping):
        raise InversionInputError(
            "noise_floor must be a mapping like {'rho_a_rel': 0.03, 'phase_deg': 1.0}",
            field="noise_floor",
        )
    for key, value in noise_floor.items():
        if key not in floor:
            raise InversionInputError(
                f"noise_floor has unknown key {key!r} (expected rho_a_rel, phase_deg)",
                field=f"noise_floor.{key}",
            )
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = float("nan")
        if not math.isfinite(number) or number <= 0:
            raise InversionInputError(
                f"noise_floor.{key} must be a positive number, got {value!r}",
                field=f"noise_floor.{key}",
            )
        floor[key] = number
    return floor


def _is_phase(data_kinds: Sequence[str]) -> np.ndarray:
    return np.asarray([kind == "phase" for kind in data_kinds], dtype=bool)


def _check_range(
    axis_obs: np.ndarray, axis_net: np.ndarray, axis_name: str, index: int | None
) -> list[str]:
    """422 unless the observed abscissae lie inside, and cover, the network's trained range."""
    lo, hi = float(axis_net[0]), float(axis_net[-1])
    tol_lo, tol_hi = lo * (1 - _GEOMETRY_RTOL), hi * (1 + _GEOMETRY_RTOL)
    outside = np.flatnonzero((axis_obs < tol_lo) | (axis_obs > tol_hi))
    if outside.size:
        i = int(outside[0])
        raise InversionInputError(
            f"{axis_name}[{i}] = {axis_obs[i]:g} lies outside the network's trained range "
            f"[{lo:g}, {hi:g}]",
            field=f"{axis_name}[{i}]",
            status=422,
            index=index,
        )
    # The network needs data at its own abscissae: allow extrapolation over at most one of its
    # log-steps at either end of the observed range.
    log_net = np.log10(axis_net)
    step = float(np.max(np.diff(log_net))) if log_net.size > 1 else 0.0
    gap_lo = math.log10(axis_obs[0]) - log_net[0]
    gap_hi = log_net[-1] - math.log10(axis_obs[-1])
    if gap_lo > step * (1 + 1e-9) or gap_hi > step * (1 + 1e-9):
        raise InversionInputError(
            f"{axis_name} covers [{axis_obs[0]:g}, {axis_obs[-1]:g}] but the network needs data "
            f"over [{lo:g}, {hi:g}]",
            field=axis_name,
            status=422,
            index=index,
        )
    if gap_lo > 1e-9 or gap_hi > 1e-9:
        return [
            f"{axis_name}: the observed range [{axis_obs[0]:g}, {axis_obs[-1]:g}] is extrapolated "
            f"to the network's [{lo:g}, {hi:g}] (less than one step)"
        ]
    return []


def _interpolate(x_obs: np.ndarray, y_obs: np.ndarray, x_new: np.ndarray) -> np.ndarray:
    """Shape-preserving (PCHIP) interpolation; x in log10 of the abscissa."""
    return PchipInterpolator(x_obs, y_obs, extrapolate=True)(x_new)


def _differs(a: Any, b: Any) -> bool:
    """True when two MN specifications (None, scalar or per-spacing array) differ."""
    if a is None or b is None:
        return (a is None) != (b is None)
    return not np.allclose(np.asarray(a, float), np.asarray(b, float), rtol=1e-6, atol=0.0)


def _network_mn2(
    network_geometry: Mapping[str, Any], ab2_obs: np.ndarray, same: bool
) -> tuple[Any, list[str]]:
    """The network's MN half-spacing(s) carried over to the observed spacings."""
    net_mn2 = network_geometry.get("mn2_m")
    if net_mn2 is None or np.ndim(net_mn2) == 0 or same:
        return net_mn2, []
    net_ab2 = np.asarray(network_geometry["ab2_m"], float)
    log_mn2 = np.interp(np.log10(ab2_obs), np.log10(net_ab2), np.log10(np.asarray(net_mn2, float)))
    return 10.0**log_mn2, ["mn2_m not given: interpolated from the network's MN half-spacings"]


def _mn2_for(
    obs: Mapping[str, Any],
    network_geometry: Mapping[str, Any],
    ab2_obs: np.ndarray,
    same: bool,
    index: int | None,
    order: np.ndarray | None,
) -> tuple[Any, list[str]]:
    """Potential-electrode half-spacing for the observed geometry (Schlumberger only).

    ``order`` (K,) is the permutation that sorted the observed spacings (None: already sorted).
    """
    reference, notes = _network_mn2(network_geometry, ab2_obs, same)
    if "mn2_m" not in obs or obs["mn2_m"] is None:
        return reference, notes
    raw = obs["mn2_m"]
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        value = float(raw)
        if not math.isfinite(value) or value <= 0:
            raise InversionInputError(
                f"mn2_m must be a positive number, got {raw}", field="mn2_m", index=index
            )
        mn2: Any = value
    else:
        mn2 = _as_vector(obs, "mn2_m", index)
        if mn2.size != ab2_obs.size:
            raise InversionInputError(
                f"mn2_m has {mn2.size} values but ab2_m has {ab2_obs.size}",
                field="mn2_m",
                index=index,
            )
        mn2 = _require_positive(mn2, "mn2_m", index)
        mn2 = mn2 if order is None else mn2[order]
    if np.any(np.asarray(mn2, float) >= ab2_obs):
        raise InversionInputError(
            "mn2_m must be smaller than ab2_m at every spacing", field="mn2_m", index=index
        )
    warnings = []
    if _differs(mn2, reference):
        warnings.append(
            "mn2_m differs from the network's: the network reads the data as if measured with its "
            "own MN; refinement and misfit use the observed MN"
        )
    return mn2, warnings


def _segment_mn2(obs: Mapping[str, Any], axis_name: str, n: int) -> np.ndarray | None:
    """Per-datum MN/2 (m, (n,)) when a VES observation gives one per AB/2, else None."""
    raw = obs.get("mn2_m") if axis_name == "ab2_m" else None
    if raw is None or np.ndim(raw) == 0:
        return None
    try:
        mn2 = np.asarray(raw, dtype=float)
    except (TypeError, ValueError):
        return None  # reported with its field by _mn2_for
    return mn2 if mn2.shape == (n,) else None


def _mean_over_repeats(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique ``x`` and the mean of ``y`` over each group of equal ``x``."""
    x_unique, group = np.unique(x, return_inverse=True)
    if x_unique.size == x.size:
        return x, y
    return x_unique, np.bincount(group, weights=y) / np.bincount(group)


def _sort_order(
    axis: np.ndarray, segment_mn2: np.ndarray | None, axis_name: str, index: int | None
) -> np.ndarray | None:
    """The permutation (K,) that sorts the data by ``axis`` (then by MN/2 for overlapping
    segments), or None when they are in order already; InversionInputError for repeats."""
    if segment_mn2 is None and (np.diff(axis) > 0).all():  # the usual case
        return None
    if segment_mn2 is None:
        order = np.argsort(axis, kind="stable")
    else:  # overlapping MN/2 segments: sort by AB/2, then MN/2
        order = np.lexsort((segment_mn2, axis))
    step = np.diff(axis[order])
    if np.any(step < 0) or (np.any(step == 0) and segment_mn2 is None):
        raise InversionInputError(
            f"{axis_name} contains repeated values (repeats are allowed only for AB/2 measured "
            "with different mn2_m, one mn2_m per datum)",
            field=axis_name,
            index=index,
        )
    if segment_mn2 is not None and np.any((step == 0) & (np.diff(segment_mn2[order]) == 0)):
        raise InversionInputError(
            "ab2_m and mn2_m contain a repeated (AB/2, MN/2) pair", field=axis_name, index=index
        )
    return None if np.all(order == np.arange(axis.size)) else order


def parse_observation(
    obs: Mapping[str, Any],
    forward_model: Any,
    noise_floor: Mapping[str, float] | None = None,
    *,
    index: int | None = None,
) -> Observation:
    """Validate one observation dict against ``forward_model`` (the network's geometry).

    Returns an :class:`Observation` whose ``network_data`` has the forward model's layout
    (``forward_model.n_data`` values) and whose ``data``/``sigma`` keep the observed geometry.
    Raises :class:`InversionInputError` (400 malformed, 422 outside the trained geometry).
    """
    if not isinstance(obs, Mapping):
        raise InversionInputError(
            f"an observation must be a JSON object, got {type(obs).__name__}",
            field="observation",
            index=index,
        )
    floor = validate_noise_floor(noise_floor)
    axis_name: str = forward_model.axis_name
    axis_net = np.asarray(forward_model.axis_values, dtype=float)
    kinds = tuple(forward_model.data_kinds)
    has_phase = "phase" in kinds

    axis = _as_vector(obs, axis_name, index)
    if axis.size < 3:
        raise InversionInputError(
            f"{axis_name} has {axis.size} values; at least 3 data are needed",
            field=axis_name,
            index=index,
        )
    rho_a = _as_vector(obs, "rho_a_ohmm", index)
    if rho_a.size != axis.size:
        raise InversionInputError(
            f"rho_a_ohmm has {rho_a.size} values but {axis_name} has {axis.size}",
            field="rho_a_ohmm",
            index=index,
        )
    _require_positive(axis, axis_name, index)
    _require_positive(rho_a, "rho_a_ohmm", index)
    phase = None
    if has_phase:
        phase = _as_vector(obs, "phase_deg", index)
        if phase.size != axis.size:
            raise InversionInputError(
                f"phase_deg has {phase.size} values but {axis_name} has {axis.size}",
                field="phase_deg",
                index=index,
            )
        bad = (phase < 0) | (phase > 90)
        if bad.any():
            i = int(np.argmax(bad))
            raise InversionInputError(
                f"phase_deg[{i}] = {phase[i]} lies outside [0, 90] degrees",
                field=f"phase_deg[{i}]",
                index=index,
            )
    rho_err = _errors(obs, "rho_a_error_percent", axis.size, index)
    phase_err = _errors(obs, "phase_error_deg", axis.size, index) if has_phase else None

    warnings: list[str] = []
    segment_mn2 = _segment_mn2(obs, axis_name, axis.size)
    order = _sort_order(axis, segment_mn2, axis_name, index)
    if order is not None:
        warnings.append(f"data were sorted by increasing {axis_name}")
        axis, rho_a = axis[order], rho_a[order]
        phase = phase[order] if phase is not None else None
        rho_err = rho_err[order] if rho_err is not None else None
        phase_err = phase_err[order] if phase_err is not None else None

    same = axis.size == axis_net.size and bool(
        (np.abs(axis - axis_net) <= _GEOMETRY_RTOL * axis_net).all()
    )
    if not same:
        warnings.extend(_check_range(axis, axis_net, axis_name, index))

    rho_sigma = np.full(axis.size, floor["rho_a_rel"])
    if rho_err is not None:
        rho_sigma = np.maximum(rho_sigma, rho_err / 100.0)
    data_parts, sigma_parts = [rho_a], [rho_sigma]
    if has_phase:
        phase_sigma = np.full(axis.size, floor["phase_deg"])
        if phase_err is not None:
            phase_sigma = np.maximum(phase_sigma, phase_err)
        data_parts.append(phase)
        sigma_parts.append(phase_sigma)
    data = np.concatenate(data_parts)
    sigma = np.concatenate(sigma_parts)

    geometry: dict[str, Any] = {axis_name: axis if not same else axis_net}
    if axis_name == "ab2_m":
        net_geometry = dict(getattr(forward_model, "geometry", {}) or {})
        mn2, mn2_warnings = _mn2_for(obs, net_geometry, axis, same, index, order)
        geometry["mn2_m"] = mn2
        warnings.extend(mn2_warnings)

    if same:
        network_data = data
    else:
        x_obs, x_net = np.log10(axis), np.log10(axis_net)
        x_unique, log_rho = _mean_over_repeats(x_obs, np.log10(rho_a))
        if x_unique.size < x_obs.size:
            warnings.append(
                "overlapping MN/2 segments: the network reads the log-mean of the readings at a "
                "repeated AB/2; refinement and misfit fit every reading with its own MN/2"
            )
        parts = [10.0 ** _interpolate(x_unique, log_rho, x_net)]
        if has_phase:
            parts.append(_interpolate(x_obs, phase, x_net))
        network_data = np.concatenate(parts)
        warnings.append(
            f"observed {axis_name} differ from the network's; data were interpolated in log space "
            "onto the network's geometry (refinement and misfit use the observed geometry)"
        )
    return Observation(
        axis_values=axis,
        data=data,
        sigma=sigma,
        geometry=geometry,
        network_data=network_data,
        same_geometry=same,
        warnings=warnings,
    )


def phase_mask(data_kinds: Sequence[str]) -> np.ndarray:
    """Boolean mask (n_data,), True where the datum is a phase in degrees."""
    return _is_phase(data_kinds)
