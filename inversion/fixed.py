"""The ``fixed=`` option of ``Inverter.invert``: parameters held at a given value.

``fixed`` is ``{"h1": 4.0}`` or ``{"thickness_m": [4.0, None]}`` for every sounding, or a list with
one such mapping per sounding. Values are physical (Ω·m for ``rho*``, m for ``h*``), positive and
inside the network's bounds; anything else raises :class:`InversionInputError` naming the field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from .input_checks import InversionInputError

__all__ = ["fixed_list", "parameter_fixes"]


def _fixes_of_list(
    key: str, value: Any, n_layers: int, index: int | None
) -> dict[str, tuple[Any, str]]:
    """``{name: (raw value, field)}`` from ``fixed.rho_ohmm`` or ``fixed.thickness_m``."""
    expected = n_layers if key == "rho_ohmm" else n_layers - 1
    prefix = "rho" if key == "rho_ohmm" else "h"
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise InversionInputError(
            f"fixed.{key} must be a list of {expected} numbers or nulls",
            field=f"fixed.{key}",
            index=index,
        )
    if len(value) != expected:
        raise InversionInputError(
            f"fixed.{key} has {len(value)} entries, expected {expected}",
            field=f"fixed.{key}",
            index=index,
        )
    return {
        f"{prefix}{i + 1}": (item, f"fixed.{key}[{i}]")
        for i, item in enumerate(value)
        if item is not None
    }


def parameter_fixes(
    fixed: Mapping[str, Any], names: list[str], n_layers: int, index: int | None
) -> dict[str, float]:
    """Normalise one ``fixed`` mapping to ``{parameter_name: value}`` (Ω·m or m, positive).

    ``names`` the model's parameter names; ``index`` the sounding's position in the batch (for
    the error message), or None.
    """
    if not isinstance(fixed, Mapping):
        raise InversionInputError(
            "fixed must be a mapping like {'h1': 4.0} or {'thickness_m': [4.0, null]}",
            field="fixed",
            index=index,
        )
    out: dict[str, tuple[Any, str]] = {}
    for key, value in fixed.items():
        if key in ("rho_ohmm", "thickness_m"):
            out.update(_fixes_of_list(key, value, n_layers, index))
        elif key in names:
            if value is not None:
                out[key] = (value, f"fixed.{key}")
        else:
            raise InversionInputError(
                f"fixed has unknown parameter {key!r} (expected one of {names}, rho_ohmm, "
                "thickness_m)",
                field=f"fixed.{key}",
                index=index,
            )
    result: dict[str, float] = {}
    for name, (value, field) in out.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = float("nan")
        if isinstance(value, bool) or not math.isfinite(number) or number <= 0:
            raise InversionInputError(
                f"{field} must be a positive number, got {value!r}", field=field, index=index
            )
        result[name] = number
    return result


def fixed_list(
    fixed: Any,
    n: int,
    names: list[str],
    n_layers: int,
    bounds: Mapping[str, Sequence[float]],
) -> list[dict[str, float]]:
    """One ``{parameter_name: value}`` per sounding (n of them) from the ``fixed`` option.

    ``bounds`` ``{name: [lower, upper]}`` the network's bounds (Ω·m / m); a value outside them
    raises :class:`InversionInputError` with status 422.
    """
    if fixed is None:
        per: list[dict[str, float]] = [{} for _ in range(n)]
    elif isinstance(fixed, Mapping):
        one = parameter_fixes(fixed, names, n_layers, None)
        per = [one for _ in range(n)]
    elif isinstance(fixed, Sequence) and not isinstance(fixed, (str, bytes)):
        if len(fixed) != n:
            raise InversionInputError(
                f"fixed has {len(fixed)} entries for {n} soundings", field="fixed"
            )
        per = [parameter_fixes(f or {}, names, n_layers, i) for i, f in enumerate(fixed)]
    else:
        raise InversionInputError(
            "fixed must be a mapping or a list of mappings (one per sounding)", field="fixed"
        )
    for i, one in enumerate(per):
        for name, value in one.items():
            lo, hi = bounds[name]
            if not lo <= value <= hi:
                raise InversionInputError(
                    f"fixed {name} = {value:g} lies outside the network's bounds [{lo:g}, {hi:g}]",
                    field=f"fixed.{name}",
                    status=422,
                    index=i if n > 1 and not isinstance(fixed, Mapping) else None,
                )
    return per
