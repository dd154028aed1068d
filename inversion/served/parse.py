"""A served sounding: which method its fields name, the served-range checks, and its parse.

The method comes from the data's fields (``periods_s`` → MT, ``ab2_m`` → Schlumberger, ``a_m``
→ Wenner, ``times_s`` → TEM, central or coincident by ``receiver``). Abscissae and apparent
resistivities (TEM: times and loops) outside the served range are refused with a 422 that
names the range; everything else (errors, noise floor, sorting, overlapping MN/2 segments) is
:func:`inversion.observations.parse_observation` on the observed geometry itself
(:func:`inversion.served.tem.parse_tem` for TEM).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

import forward_models

from ..input_checks import InversionInputError, as_vector
from ..observations import Observation, parse_observation
from ..segments import SegmentShifts
from ..spacings import (  # RANGE_RTOL: abscissae within 1 % of the served range are served
    RANGE_RTOL,
    check_served_range,
    mean_over_repeats,
    segment_mn2,
    sort_order,
)
from ..ves_checks import steep_warning, steeper_than_45
from .frame import METHODS, MethodSpec
from .tem import ReversedGates, late_time_rho_a, log_tau_first, parse_tem, tem_method

__all__ = ["RANGE_RTOL", "ServedSounding", "method_of", "parse_served"]

_AXIS_METHOD = {"periods_s": "mt-1d", "ab2_m": "ves-schlumberger", "a_m": "ves-wenner"}
_UNIT = {"periods_s": "s", "ab2_m": "m", "a_m": "m"}


@dataclass
class ServedSounding:
    """One parsed sounding: its ``method`` spec, the :class:`Observation` on its own geometry,
    and the distinct ascending ``log_axis`` (K',) with ``log_rho_a`` (K',) (repeated AB/2 of
    overlapping segments averaged) and ``phase_deg`` (K',) or None for the network; TEM:
    ``log_rho_a`` the data's late-time apparent resistivity, ``loop_area_m2`` the loop's area;
    ``shifts`` the overlapping MN/2 segments of a Schlumberger sounding whose factors are fitted
    (:mod:`inversion.segments`), None when there are none or they are not wanted;
    ``reversed_gates`` a TEM sounding's gates after a sign reversal (fitted only by the
    polarisable model), or None."""

    spec: MethodSpec
    obs: Observation
    log_axis: np.ndarray
    log_rho_a: np.ndarray
    phase_deg: np.ndarray | None
    loop_area_m2: float | None = None
    shifts: SegmentShifts | None = None
    reversed_gates: ReversedGates | None = None

    def extra_features(self, log_rho_ref: np.ndarray) -> np.ndarray | None:
        """The method's extra network inputs (1, n_extra) for references ``log_rho_ref`` (1,):
        TEM log10 τ₁; None for VES and MT."""
        if not self.spec.is_tem:
            return None
        return log_tau_first(self.log_axis[0], log_rho_ref, self.loop_area_m2)[:, None]

    @property
    def axis(self) -> np.ndarray:
        """Observed abscissae (K,) ascending (m or s)."""
        return np.asarray(self.obs.geometry[self.spec.axis], dtype=float)

    @property
    def rho_a(self) -> np.ndarray:
        """Observed apparent resistivities (K,) Ω·m (TEM: late-time)."""
        if self.spec.is_tem:
            return 10.0**self.log_rho_a
        return self.obs.data[: self.axis.size]


def method_of(obs: Mapping[str, Any], index: int | None = None) -> str:
    """The served method whose abscissa the observation gives (400 if none or several)."""
    if not isinstance(obs, Mapping):
        raise InversionInputError(
            f"an observation must be a JSON object, got {type(obs).__name__}",
            field="observation",
            index=index,
        )
    found = [axis for axis in (*_AXIS_METHOD, "times_s") if axis in obs]
    if len(found) != 1:
        what = "none" if not found else " and ".join(found)
        raise InversionInputError(
            f"the data must give exactly one of periods_s (MT), ab2_m (Schlumberger), a_m "
            f"(Wenner) or times_s (TEM); found {what}",
            field="observation",
            index=index,
        )
    if found[0] == "times_s":
        return tem_method(obs, index)
    return _AXIS_METHOD[found[0]]


def _check_served(spec: MethodSpec, obs: Mapping[str, Any], index: int | None) -> None:
    """422 for abscissae or apparent resistivities outside the served range."""
    for name, values, bounds, unit in (
        (spec.axis, as_vector(obs, spec.axis, index), spec.axis_range, _UNIT[spec.axis]),
        ("rho_a_ohmm", as_vector(obs, "rho_a_ohmm", index), spec.rho_range_ohmm, "ohm-m"),
    ):
        check_served_range(spec.name, name, values, bounds, unit, index)


def parse_served(
    obs: Mapping[str, Any], noise_floor: Mapping[str, float], index: int | None = None
) -> ServedSounding:
    """Validate one observation dict for the served networks (InversionInputError if bad)."""
    spec = METHODS[method_of(obs, index)]
    if spec.is_tem:
        parsed, area, reversed_gates = parse_tem(spec, obs, noise_floor["rho_a_rel"], index)
        log_t = np.log10(parsed.axis_values)
        log_rho = np.log10(late_time_rho_a(parsed.axis_values, parsed.data, area))
        return ServedSounding(
            spec, parsed, log_t, log_rho, None, area, reversed_gates=reversed_gates
        )
    _check_served(spec, obs, index)
    axis = as_vector(obs, spec.axis, index)
    order = sort_order(axis, segment_mn2(obs, spec.axis, axis.size), spec.axis, index)
    axis = axis if order is None else axis[order]
    geometry: dict[str, Any] = {spec.axis: axis}
    if spec.axis == "ab2_m":
        geometry["mn2_m"] = None
    own = forward_models.create(spec.name, n_layers=1, **geometry)
    parsed = parse_observation(obs, own, noise_floor, index=index)
    parsed.warnings = [w for w in parsed.warnings if "network's" not in w]
    k = parsed.axis_values.size
    log_axis, log_rho = mean_over_repeats(np.log10(parsed.axis_values), np.log10(parsed.data[:k]))
    phase = parsed.data[k:] if spec.has_phase else None
    shifts = None
    if spec.axis == "ab2_m":
        mn2 = parsed.geometry.get("mn2_m")
        shifts = SegmentShifts.detect(parsed.axis_values, mn2, parsed.data, parsed.sigma)
    if not spec.has_phase:
        steep = steeper_than_45(
            parsed.axis_values, parsed.data[:k], parsed.sigma[:k], parsed.geometry.get("mn2_m")
        )
        if steep:
            parsed.warnings.append(steep_warning(steep, spec.axis))
    return ServedSounding(spec, parsed, log_axis, log_rho, phase, shifts=shifts)
