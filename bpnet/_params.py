"""Declarative hyperparameter tables and their one validator."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Spec:
    """Allowed values of one hyperparameter.

    ``kind``: ``"int"``, ``"float"``, ``"bool"``, ``"dict"`` or ``"choice"``; numeric ranges are
    ``[low, high]``, ``low_open``/``high_open`` make an end exclusive; ``none_ok`` admits None.
    """

    default: Any
    kind: str
    choices: tuple = field(default=())
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    none_ok: bool = False
    doc: str = ""

    def check(self, name: str, value: Any) -> Any:
        """Return ``value`` (normalised) or raise ``ValueError`` naming ``name``."""
        if value is None:
            if self.none_ok:
                return None
            raise ValueError(f"{name}: must not be None")
        if self.kind == "choice":
            if not isinstance(value, str) or value not in self.choices:
                raise ValueError(
                    f"{name}: unknown value {value!r}; choose one of {list(self.choices)}"
                )
            return value
        if self.kind == "dict":
            if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
                raise ValueError(f"{name}: must be a dict with string keys, got {value!r}")
            return dict(value)
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise ValueError(f"{name}: must be True or False, got {value!r}")
            return value
        if self.kind == "int":
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise ValueError(f"{name}: must be an integer, got {value!r}")
            value = int(value)
        elif self.kind == "float":
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise ValueError(f"{name}: must be a number, got {value!r}")
            value = float(value)
            if not math.isfinite(value):
                raise ValueError(f"{name}: must be finite, got {value!r}")
        else:
            raise TypeError(f"unknown spec kind {self.kind!r}")
        self._check_range(name, value)
        return value

    def _check_range(self, name: str, value: float) -> None:
        lo, hi = self.low, self.high
        if lo is not None and (value < lo or (self.low_open and value == lo)):
            op = ">" if self.low_open else ">="
            raise ValueError(f"{name}: must be {op} {lo}, got {value!r}")
        if hi is not None and (value > hi or (self.high_open and value == hi)):
            op = "<" if self.high_open else "<="
            raise ValueError(f"{name}: must be {op} {hi}, got {value!r}")


def validate(table: dict[str, Spec], values: dict[str, Any], prefix: str = "") -> dict:
    """Check ``values`` against ``table`` (unknown keys rejected); return defaults filled in."""
    unknown = sorted(set(values) - set(table))
    if unknown:
        raise ValueError(
            f"{prefix}{unknown[0]}: unknown parameter; allowed: {sorted(table)}"
            if prefix
            else f"{unknown[0]}: unknown parameter; allowed: {sorted(table)}"
        )
    out = {}
    for name, spec in table.items():
        out[name] = spec.check(prefix + name, values.get(name, spec.default))
    return out
