"""Matching an observed geometry to the network's: ranges, sort order, MN/2 and interpolation.

The network reads data at its own abscissae (AB/2, a or periods): observed soundings on other
abscissae inside its range are interpolated onto them (PCHIP in log space), while refinement and
misfit keep the observed geometry. For Schlumberger soundings the potential-electrode half-spacing
MN/2 is carried along: given (a number, or one per AB/2, where repeated AB/2 with different MN/2
are overlapping segments), or taken over from the network's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from .input_checks import InversionInputError, as_vector, require_positive

__all__ = [
    "GEOMETRY_RTOL",
    "RANGE_RTOL",
    "check_range",
    "interpolate",
    "mean_over_repeats",
    "mn2_for",
    "segment_mn2",
    "sort_order",
]

GEOMETRY_RTOL = 1e-6  # relative tolerance for "same geometry" (the network's own abscissae)
RANGE_RTOL = 0.01  # relative tolerance of the trained range (digitised or rounded spacings)


def check_served_range(
    method: str,
    name: str,
    values: np.ndarray,
    bounds: tuple[float, float],
    unit: str,
    index: int | None,
) -> None:
    """422 naming the first positive value of ``values`` (of field ``name``, in ``unit``)
    outside ``bounds`` widened by ``RANGE_RTOL``: outside the served range of ``method``.
    Non-positive values are left to their own 400."""
    lo, hi = bounds
    outside = (values < lo * (1 - RANGE_RTOL)) | (values > hi * (1 + RANGE_RTOL))
    bad = np.flatnonzero(outside & (values > 0))
    if bad.size:
        i = int(bad[0])
        raise InversionInputError(
            f"{name}[{i}] = {values[i]:g} {unit} lies outside the served range "
            f"[{lo:g}, {hi:g}] {unit} of {method}",
            field=f"{name}[{i}]",
            status=422,
            index=index,
        )


def check_range(
    axis_obs: np.ndarray, axis_net: np.ndarray, axis_name: str, index: int | None
) -> list[str]:
    """422 unless the observed abscissae lie inside, and cover, the network's trained range
    (within ``RANGE_RTOL``)."""
    lo, hi = float(axis_net[0]), float(axis_net[-1])
    tol_lo, tol_hi = lo * (1 - RANGE_RTOL), hi * (1 + RANGE_RTOL)
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
    slack = math.log10(1 + RANGE_RTOL)
    if gap_lo > step + slack or gap_hi > step + slack:
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


def interpolate(x_obs: np.ndarray, y_obs: np.ndarray, x_new: np.ndarray) -> np.ndarray:
    """Shape-preserving (PCHIP) interpolation; x in log10 of the abscissa."""
    from scipy.interpolate import PchipInterpolator  # here: 1–1.5 s to import (CLI start-up)

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


def mn2_for(
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
        mn2 = as_vector(obs, "mn2_m", index)
        if mn2.size != ab2_obs.size:
            raise InversionInputError(
                f"mn2_m has {mn2.size} values but ab2_m has {ab2_obs.size}",
                field="mn2_m",
                index=index,
            )
        mn2 = require_positive(mn2, "mn2_m", index)
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


def segment_mn2(obs: Mapping[str, Any], axis_name: str, n: int) -> np.ndarray | None:
    """Per-datum MN/2 (m, (n,)) when a VES observation gives one per AB/2, else None."""
    raw = obs.get("mn2_m") if axis_name == "ab2_m" else None
    if raw is None or np.ndim(raw) == 0:
        return None
    try:
        mn2 = np.asarray(raw, dtype=float)
    except (TypeError, ValueError):
        return None  # reported with its field by mn2_for
    return mn2 if mn2.shape == (n,) else None


def mean_over_repeats(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique ``x`` and the mean of ``y`` over each group of equal ``x``."""
    x_unique, group = np.unique(x, return_inverse=True)
    if x_unique.size == x.size:
        return x, y
    return x_unique, np.bincount(group, weights=y) / np.bincount(group)


def sort_order(
    axis: np.ndarray, mn2_per_datum: np.ndarray | None, axis_name: str, index: int | None
) -> np.ndarray | None:
    """The permutation (K,) that sorts the data by ``axis`` (then by ``mn2_per_datum`` (K,) for
    overlapping MN/2 segments), or None when they are in order already; InversionInputError
    for repeats."""
    if mn2_per_datum is None and (np.diff(axis) > 0).all():  # the usual case
        return None
    if mn2_per_datum is None:
        order = np.argsort(axis, kind="stable")
    else:  # overlapping MN/2 segments: sort by AB/2, then MN/2
        order = np.lexsort((mn2_per_datum, axis))
    step = np.diff(axis[order])
    if np.any(step < 0) or (np.any(step == 0) and mn2_per_datum is None):
        raise InversionInputError(
            f"{axis_name} contains repeated values (repeats are allowed only for AB/2 measured "
            "with different mn2_m, one mn2_m per datum)",
            field=axis_name,
            index=index,
        )
    if mn2_per_datum is not None and np.any((step == 0) & (np.diff(mn2_per_datum[order]) == 0)):
        raise InversionInputError(
            "ab2_m and mn2_m contain a repeated (AB/2, MN/2) pair", field=axis_name, index=index
        )
    return None if np.all(order == np.arange(axis.size)) else order
