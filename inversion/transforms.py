"""Feature and target transforms with exact inverses, serialisable to JSON.

``DataTransform``: log10 of apparent resistivity, phase / 90, then per-column standardisation.
``ParameterTransform``: log10 of every model parameter, then per-column standardisation.
Both accept NumPy or CuPy arrays and return the input's array module.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from forward_models import check_data_kinds, get_array_module, to_numpy


class _Standardised(abc.ABC):
    """Shared fit/standardise/serialise logic; subclasses define the elementwise map."""

    kind: str

    def __init__(self, n_features: int) -> None:
        self.mean_: np.ndarray | None = None
        self.std_: np.ndarray | None = None
        self._n = n_features

    @abc.abstractmethod
    def _forward_map(self, values: Any, xp: Any) -> Any:
        """Elementwise physical → feature map."""

    @abc.abstractmethod
    def _inverse_map(self, values: Any, xp: Any) -> Any:
        """Elementwise feature → physical map."""

    def _as_2d(self, name: str, values: Any) -> tuple[Any, Any]:
        xp = get_array_module(values)
        arr = xp.asarray(values, dtype=xp.float64)
        if arr.ndim != 2 or arr.shape[1] != self._n:
            raise ValueError(f"{name}: expected shape (n, {self._n}), got {tuple(arr.shape)}")
        return arr, xp

    def _mapped(self, name: str, values: Any) -> tuple[Any, Any]:
        arr, xp = self._as_2d(name, values)
        mapped = self._forward_map(arr, xp)
        if not bool(xp.all(xp.isfinite(mapped))):
            raise ValueError(f"{name}: contains values that are non-finite after the transform")
        return mapped, xp

    def fit(self, values: Any) -> _Standardised:
        """Learn per-column mean and standard deviation (a constant column gets std 1)."""
        mapped, xp = self._mapped("data" if self.kind == "data" else "models", values)
        if mapped.shape[0] < 1:
            raise ValueError("fit: needs at least one row")
        mean = to_numpy(mapped.mean(axis=0))
        std = to_numpy(mapped.std(axis=0))
        self.mean_ = mean
        self.std_ = np.where(std > 0, std, 1.0)
        return self

    def _stats(self, xp: Any) -> tuple[Any, Any]:
        if self.mean_ is None or self.std_ is None:
            raise ValueError(f"{type(self).__name__}: not fitted; call fit() first")
        return xp.asarray(self.mean_), xp.asarray(self.std_)

    def transform(self, values: Any) -> Any:
        """Physical values ``(n, n_features)`` → standardised features ``(n, n_features)``."""
        mapped, xp = self._mapped("data" if self.kind == "data" else "models", values)
        mean, std = self._stats(xp)
        return (mapped - mean) / std

    def inverse_transform(self, features: Any) -> Any:
        """Standardised features ``(n, n_features)`` → physical values (exact inverse)."""
        arr, xp = self._as_2d("features", features)
        mean, std = self._stats(xp)
        return self._inverse_map(arr * std + mean, xp)

    def fit_transform(self, values: Any) -> Any:
        """``fit(values)`` then ``transform(values)``."""
        return self.fit(values).transform(values)

    def _stats_dict(self) -> dict[str, Any]:
        return {
            "mean": None if self.mean_ is None else self.mean_.tolist(),
            "std": None if self.std_ is None else self.std_.tolist(),
        }

    def _load_stats(self, spec: Mapping[str, Any]) -> None:
        mean, std = spec.get("mean"), spec.get("std")
        if (mean is None) != (std is None):
            raise ValueError("mean, std: give both or neither")
        if mean is None:
            return
        mean_arr = np.asarray(mean, dtype=float)
        std_arr = np.asarray(std, dtype=float)
        for name, arr in (("mean", mean_arr), ("std", std_arr)):
            if arr.shape != (self._n,) or not np.all(np.isfinite(arr)):
                raise ValueError(f"{name}: expected {self._n} finite numbers")
        if np.any(std_arr <= 0):
            raise ValueError("std: must be positive")
        self.mean_, self.std_ = mean_arr, std_arr


class DataTransform(_Standardised):
    """Data features: log10(ρ_a) for ``"rho_a"`` columns, phase/90 for ``"phase"`` columns,
    then standardisation. ``data_kinds``: one kind per data column (``fm.data_kinds``)."""

    kind = "data"

    def __init__(self, data_kinds: Sequence[str]) -> None:
        self.data_kinds = check_data_kinds(data_kinds)
        self._phase = np.array([k == "phase" for k in self.data_kinds])
        super().__init__(len(self.data_kinds))

    def _forward_map(self, values: Any, xp: Any) -> Any:
        phase = xp.asarray(self._phase)
        with np.errstate(divide="ignore", invalid="ignore"):
            return xp.where(phase, values / 90.0, xp.log10(values))

    def _inverse_map(self, values: Any, xp: Any) -> Any:
        phase = xp.asarray(self._phase)
        return xp.where(phase, values * 90.0, 10.0**values)

    def to_dict(self) -> dict[str, Any]:
        """``{"type": "data", "data_kinds", "mean", "std"}`` (JSON-safe)."""
        return {"type": "data", "data_kinds": list(self.data_kinds), **self._stats_dict()}

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> DataTransform:
        """Inverse of :meth:`to_dict`."""
        if not isinstance(spec, Mapping) or "data_kinds" not in spec:
            raise ValueError("data_kinds: missing from the transform spec")
        out = cls(spec["data_kinds"])
        out._load_stats(spec)
        return out


class ParameterTransform(_Standardised):
    """Target features: log10 of every model parameter, then standardisation."""

    kind = "parameters"

    def __init__(self, n_params: int) -> None:
        self.n_params = _positive_int(n_params)
        super().__init__(self.n_params)

    def _forward_map(self, values: Any, xp: Any) -> Any:
        with np.errstate(divide="ignore", invalid="ignore"):
            return xp.log10(values)

    def _inverse_map(self, values: Any, xp: Any) -> Any:
        return 10.0**values

    def to_dict(self) -> dict[str, Any]:
        """``{"type": "parameters", "n_params", "mean", "std"}`` (JSON-safe)."""
        return {"type": "parameters", "n_params": self.n_params, **self._stats_dict()}

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> ParameterTransform:
        """Inverse of :meth:`to_dict`."""
        if not isinstance(spec, Mapping) or "n_params" not in spec:
            raise ValueError("n_params: missing from the transform spec")
        out = cls(spec["n_params"])
        out._load_stats(spec)
        return out


def _positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"n_params: expected a positive integer, got {value!r}")
    return int(value)
