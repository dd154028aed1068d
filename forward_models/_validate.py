"""Input checks shared by the public wrappers. Each raises ``ValueError`` naming the field."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np


def positive_vector(name: str, values: Any) -> np.ndarray:
    """Return ``values`` as a float64 1-D array of positive finite numbers (a scalar gives (1,))."""
    if values is None:
        raise ValueError(f"{name}: is required")
    if isinstance(values, (str, bytes)):
        raise ValueError(f"{name}: expected numbers, got a string")
    try:
        arr = np.atleast_1d(np.asarray(values, dtype=float))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: expected a list of numbers ({exc})") from None
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D list of numbers, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name}: must not be empty")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise ValueError(f"{name}[{bad[0]}]: must be finite, got {arr[bad[0]]}")
    bad = np.flatnonzero(arr <= 0)
    if bad.size:
        raise ValueError(f"{name}[{bad[0]}]: must be positive, got {arr[bad[0]]}")
    return arr


def positive_number(name: str, value: Any) -> float:
    """Return ``value`` as a positive finite float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name}: expected a number, got {value!r}")
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name}: must be positive and finite, got {value}")
    return value


def non_negative_number(name: str, value: Any) -> float:
    """Return ``value`` as a finite float ≥ 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name}: expected a number, got {value!r}")
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name}: must be non-negative and finite, got {value}")
    return value


def n_layers(value: Any) -> int:
    """Return ``value`` as an int ≥ 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"n_layers: expected an integer, got {value!r}")
    if value < 1:
        raise ValueError(f"n_layers: must be at least 1, got {value}")
    return int(value)


def bounds_pair(name: str, pair: Any) -> tuple[float, float]:
    """Return ``(lo, hi)`` with 0 < lo ≤ hi, both finite."""
    if isinstance(pair, (str, bytes)) or not isinstance(pair, (Sequence, np.ndarray)):
        raise ValueError(f"{name}: expected a pair [low, high], got {pair!r}")
    if len(pair) != 2:
        raise ValueError(f"{name}: expected a pair [low, high], got {len(pair)} values")
    lo = positive_number(f"{name}[0]", pair[0])
    hi = positive_number(f"{name}[1]", pair[1])
    if lo > hi:
        raise ValueError(f"{name}: low {lo} is greater than high {hi}")
    return lo, hi
