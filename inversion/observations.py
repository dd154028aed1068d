"""Parse and validate observation dicts; interpolate them onto a network's geometry.

An observation dict uses the REST layout (docs/architecture.md):

* VES Schlumberger: ``{"ab2_m": [...], "mn2_m": 0.5 | [...] (optional), "rho_a_ohmm": [...],
  "rho_a_error_percent": 3.0 | [...] (optional)}``
* Wenner: ``{"a_m": [...], "rho_a_ohmm": [...], ...}``
* MT 1D: ``{"periods_s": [...], "rho_a_ohmm": [...], "phase_deg": [...],
  "rho_a_error_percent": ..., "phase_error_deg": ... (optional)}``

Bad input raises :class:`InversionInputError` with ``.field`` (the offending key, with an index
where one datum is at fault) and ``.status`` (400 malformed, 422 outside what the network knows).
The field checks live in :mod:`inversion.input_checks`, the geometry matching (ranges, order,
MN/2, interpolation) in :mod:`inversion.spacings`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .input_checks import (
    DEFAULT_NOISE_FLOOR,
    InversionInputError,
    as_vector,
    check_phase_quadrant,
    errors,
    require_positive,
    validate_noise_floor,
)
from .spacings import (
    GEOMETRY_RTOL,
    check_range,
    interpolate,
    mean_over_repeats,
    mn2_for,
    segment_mn2,
    sort_order,
)

__all__ = [
    "DEFAULT_NOISE_FLOOR",
    "InversionInputError",
    "Observation",
    "observation_from_data",
    "parse_observation",
    "phase_mask",
    "validate_noise_floor",
]


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


@dataclass
class _Readings:
    """The validated values of one observation, in the observed order: ``axis`` (K,), ``rho_a``
    (K,) Ω·m, ``phase`` (K,) degrees or None, and the optional per-datum errors ``rho_err`` (%)
    and ``phase_err`` (degrees)."""

    axis: np.ndarray
    rho_a: np.ndarray
    phase: np.ndarray | None
    rho_err: np.ndarray | None
    phase_err: np.ndarray | None

    def reorder(self, order: np.ndarray) -> None:
        """Put every array in the order ``order`` (K,)."""
        self.axis, self.rho_a = self.axis[order], self.rho_a[order]
        self.phase = self.phase[order] if self.phase is not None else None
        self.rho_err = self.rho_err[order] if self.rho_err is not None else None
        self.phase_err = self.phase_err[order] if self.phase_err is not None else None


def _read(obs: Mapping[str, Any], axis_name: str, has_phase: bool, index: int | None) -> _Readings:
    """Check the observation's abscissae, ρa, phases and errors (InversionInputError if bad)."""
    axis = as_vector(obs, axis_name, index)
    if axis.size < 3:
        raise InversionInputError(
            f"{axis_name} has {axis.size} values; at least 3 data are needed",
            field=axis_name,
            index=index,
        )
    rho_a = as_vector(obs, "rho_a_ohmm", index)
    if rho_a.size != axis.size:
        raise InversionInputError(
            f"rho_a_ohmm has {rho_a.size} values but {axis_name} has {axis.size}",
            field="rho_a_ohmm",
            index=index,
        )
    require_positive(axis, axis_name, index)
    require_positive(rho_a, "rho_a_ohmm", index)
    phase = None
    if has_phase:
        phase = as_vector(obs, "phase_deg", index)
        if phase.size != axis.size:
            raise InversionInputError(
                f"phase_deg has {phase.size} values but {axis_name} has {axis.size}",
                field="phase_deg",
                index=index,
            )
    rho_err = errors(obs, "rho_a_error_percent", axis.size, index)
    phase_err = errors(obs, "phase_error_deg", axis.size, index) if has_phase else None
    return _Readings(axis, rho_a, phase, rho_err, phase_err)


def _data_and_sigma(
    readings: _Readings, floor: Mapping[str, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Data (n_obs_data,) in the forward model's layout and their standard errors: the
    observation's where given, never below the noise ``floor``."""
    rho_sigma = np.full(readings.axis.size, floor["rho_a_rel"])
    if readings.rho_err is not None:
        rho_sigma = np.maximum(rho_sigma, readings.rho_err / 100.0)
    data_parts, sigma_parts = [readings.rho_a], [rho_sigma]
    if readings.phase is not None:
        phase_sigma = np.full(readings.axis.size, floor["phase_deg"])
        if readings.phase_err is not None:
            phase_sigma = np.maximum(phase_sigma, readings.phase_err)
        data_parts.append(readings.phase)
        sigma_parts.append(phase_sigma)
    return np.concatenate(data_parts), np.concatenate(sigma_parts)


def _onto_network(
    readings: _Readings, axis_net: np.ndarray, axis_name: str, warnings: list[str]
) -> np.ndarray:
    """The data interpolated in log space onto the network's abscissae ``axis_net`` (layout of
    the network's forward model); appends the warnings it owes."""
    x_obs, x_net = np.log10(readings.axis), np.log10(axis_net)
    x_unique, log_rho = mean_over_repeats(x_obs, np.log10(readings.rho_a))
    if x_unique.size < x_obs.size:
        warnings.append(
            "overlapping MN/2 segments: the network reads the log-mean of the readings at a "
            "repeated AB/2; refinement and misfit fit every reading with its own MN/2"
        )
    parts = [10.0 ** interpolate(x_unique, log_rho, x_net)]
    if readings.phase is not None:
        parts.append(interpolate(x_obs, readings.phase, x_net))
    warnings.append(
        f"observed {axis_name} differ from the network's; data were interpolated in log space "
        "onto the network's geometry (refinement and misfit use the observed geometry)"
    )
    return np.concatenate(parts)


def _reader_warnings(obs: Mapping[str, Any], index: int | None) -> list[str]:
    """The observation's own ``warnings`` (notes of the file reader, e.g. a column it did not
    understand), carried into the result; InversionInputError unless a list of strings."""
    notes = obs.get("warnings")
    if notes is None:
        return []
    if isinstance(notes, (str, bytes)) or not isinstance(notes, Sequence):
        raise InversionInputError(
            "warnings must be a list of strings", field="warnings", index=index
        )
    for i, note in enumerate(notes):
        if not isinstance(note, str):
            raise InversionInputError(
                f"warnings[{i}] must be a string, got {type(note).__name__}",
                field=f"warnings[{i}]",
                index=index,
            )
    return list(notes)


def parse_observation(
    obs: Mapping[str, Any],
    forward_model: Any,
    noise_floor: Mapping[str, float] | None = None,
    *,
    index: int | None = None,
    synthetic: bool = False,
) -> Observation:
    """Validate one observation dict against ``forward_model`` (the network's geometry).

    Returns an :class:`Observation` whose ``network_data`` has the forward model's layout
    (``forward_model.n_data`` values) and whose ``data``/``sigma`` keep the observed geometry.
    Raises :class:`InversionInputError` (400 malformed, 422 outside the trained geometry).
    Field phases outside [0°, 90°] are refused unless within their errors (then a warning);
    ``synthetic`` data (noisy forward responses of training, calibration and evaluation) skip
    that check: their noise may carry a phase past the quadrant's edge.
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
    readings = _read(obs, axis_name, "phase" in tuple(forward_model.data_kinds), index)

    warnings = _reader_warnings(obs, index)
    mn2_per_datum = segment_mn2(obs, axis_name, readings.axis.size)
    order = sort_order(readings.axis, mn2_per_datum, axis_name, index)
    if order is not None:
        warnings.append(f"data were sorted by increasing {axis_name}")
        readings.reorder(order)
    axis = readings.axis
    same = axis.size == axis_net.size and bool(
        (np.abs(axis - axis_net) <= GEOMETRY_RTOL * axis_net).all()
    )
    if not same:
        warnings.extend(check_range(axis, axis_net, axis_name, index))
    data, sigma = _data_and_sigma(readings, floor)
    if readings.phase is not None and not synthetic:
        k = readings.axis.size
        warnings.extend(check_phase_quadrant(readings.phase, sigma[k:], index))

    geometry: dict[str, Any] = {axis_name: axis if not same else axis_net}
    if axis_name == "ab2_m":
        net_geometry = dict(getattr(forward_model, "geometry", {}) or {})
        mn2, mn2_warnings = mn2_for(obs, net_geometry, axis, same, index, order)
        geometry["mn2_m"] = mn2
        warnings.extend(mn2_warnings)
    network_data = data if same else _onto_network(readings, axis_net, axis_name, warnings)
    return Observation(
        axis_values=axis,
        data=data,
        sigma=sigma,
        geometry=geometry,
        network_data=network_data,
        same_geometry=same,
        warnings=warnings,
    )


def observation_from_data(forward_model: Any, data: np.ndarray) -> dict[str, Any]:
    """Observation dict (REST layout) for one data vector ``(n_data,)`` on the model's geometry."""
    data = np.asarray(data, dtype=float)
    k = len(forward_model.axis_values)
    obs: dict[str, Any] = {
        forward_model.axis_name: np.asarray(forward_model.axis_values, float).tolist(),
        "rho_a_ohmm": data[:k].tolist(),
    }
    if "phase" in tuple(forward_model.data_kinds):
        obs["phase_deg"] = data[k:].tolist()
    return obs


def phase_mask(data_kinds: Sequence[str]) -> np.ndarray:
    """Boolean mask (n_data,), True where the datum is a phase in degrees."""
    return np.asarray([kind == "phase" for kind in data_kinds], dtype=bool)
