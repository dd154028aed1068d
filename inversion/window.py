"""Keep only the data inside a window of the abscissa: AB/2 or a (m), periods or gate times (s).

Field data often have a stretch the user does not trust — saturated or ramp-affected early TEM
gates, noisy late gates or periods, spacings beyond a lateral change — that they would otherwise
delete from the file. :func:`window_observation` cuts an observation dict (REST layout) to
``lower ≤ abscissa ≤ upper``: every list as long as the abscissa list (data, errors, MN/2, gate
windows, …) is cut alike, scalars are kept, and a warning in the observation's ``warnings`` says
what was dropped, so that the result reports it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .input_checks import InversionInputError, as_vector

__all__ = ["AXES", "MIN_KEPT", "validate_window", "window_observation"]

#: the abscissa of each method: Schlumberger AB/2, Wenner a, MT periods, TEM gate times
AXES = {"ab2_m": "m", "a_m": "m", "periods_s": "s", "times_s": "s"}
#: fewest data a window may leave
MIN_KEPT = 3


def validate_window(
    lower: float | None, upper: float | None, index: int | None = None
) -> tuple[float | None, float | None]:
    """``(lower, upper)`` checked: each None (open) or a positive finite number, lower < upper;
    else :class:`InversionInputError` (400, field ``window``)."""
    for name, value in (("min", lower), ("max", upper)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InversionInputError(
                f"window.{name} must be a number, got {value!r}",
                field=f"window.{name}",
                index=index,
            )
        if not (math.isfinite(value) and value > 0):
            raise InversionInputError(
                f"window.{name} must be a positive finite number, got {value!r}",
                field=f"window.{name}",
                index=index,
            )
    if lower is not None and upper is not None and not lower < upper:
        raise InversionInputError(
            f"window: min {lower:g} must be below max {upper:g}", field="window", index=index
        )
    return lower, upper


def window_observation(
    obs: Mapping[str, Any],
    lower: float | None = None,
    upper: float | None = None,
    index: int | None = None,
) -> dict[str, Any]:
    """A copy of ``obs`` keeping only the data whose abscissa lies in [``lower``, ``upper``]
    (in the abscissa's unit, m or s; None: open on that side). Unchanged (a copy) when nothing
    lies outside. :class:`InversionInputError` (400) for a bad window, an observation without
    one abscissa, or fewer than ``MIN_KEPT`` data left."""
    lower, upper = validate_window(lower, upper, index)
    out = dict(obs)
    if lower is None and upper is None:
        return out
    names = [a for a in AXES if obs.get(a) is not None]
    if len(names) != 1:
        raise InversionInputError(
            f"window: the data must give exactly one of {', '.join(AXES)}",
            field="window",
            index=index,
        )
    name = names[0]
    axis = as_vector(obs, name, index)
    inside = (axis >= (lower or 0.0)) & (axis <= (upper if upper is not None else math.inf))
    reversed_gates = obs.get("reversed_gates")
    if isinstance(reversed_gates, Mapping):  # TEM gates after a sign reversal: the same window
        out["reversed_gates"] = _windowed_gates(reversed_gates, lower, upper)
    if inside.all():
        return out
    bounds = (
        f"[{lower if lower is not None else 0:g}, {upper if upper is not None else math.inf:g}]"
    )
    if int(inside.sum()) < MIN_KEPT:
        raise InversionInputError(
            f"window {bounds} {AXES[name]} keeps {int(inside.sum())} of {axis.size} data; at "
            f"least {MIN_KEPT} are needed",
            field="window",
            index=index,
        )
    for key, value in obs.items():
        if key == "warnings" or isinstance(value, str | bytes | Mapping):
            continue
        if hasattr(value, "__len__") and len(value) == axis.size:
            out[key] = [v for v, keep in zip(value, inside, strict=True) if keep]
    dropped = int((~inside).sum())
    note = (
        f"{dropped} of {axis.size} data outside the window {bounds} {AXES[name]} of {name} dropped"
    )
    notes = obs.get("warnings")
    if notes is None or isinstance(notes, list):  # anything else is refused by the parser
        out["warnings"] = [*(notes or []), note]
    return out


def _windowed_gates(
    gates: Mapping[str, Any], lower: float | None, upper: float | None
) -> dict[str, Any] | None:
    """The reversed TEM gates (``{"times_s", …}`` lists) inside [``lower``, ``upper``] s, or
    None when none is; malformed ones are passed on for the parser to refuse."""
    times = gates.get("times_s")
    if not isinstance(times, list) or not all(isinstance(t, int | float) for t in times):
        return dict(gates)
    keep = [(lower or 0.0) <= t <= (upper if upper is not None else math.inf) for t in times]
    if not any(keep):
        return None
    return {
        key: [v for v, k in zip(value, keep, strict=False) if k]
        if isinstance(value, list) and len(value) == len(times)
        else value
        for key, value in gates.items()
    }
