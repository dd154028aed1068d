"""NoiseModel: relative Gaussian noise on apparent resistivity, absolute Gaussian noise on phase."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from . import _validate

#: "rho_a" (Ω·m) and "dbzdt" (TEM −dB/dt, V/(A·m²)) are positive data with relative noise;
#: "phase" (degrees) has absolute noise
DATA_KINDS = ("rho_a", "phase", "dbzdt")


def check_data_kinds(data_kinds: Sequence[str]) -> tuple[str, ...]:
    """``data_kinds`` as a tuple, each one of :data:`DATA_KINDS` (else ``ValueError``)."""
    if isinstance(data_kinds, (str, bytes)):
        raise ValueError("data_kinds: expected a list of kinds, got a string")
    kinds = tuple(data_kinds)
    if not kinds:
        raise ValueError("data_kinds: must not be empty")
    for i, kind in enumerate(kinds):
        if kind not in DATA_KINDS:
            raise ValueError(f"data_kinds[{i}]: must be one of {DATA_KINDS}, got {kind!r}")
    return kinds


class NoiseModel:
    """Gaussian data noise: ρ_a · (1 + rho_a_rel · z) and phase + phase_deg · z, z ~ N(0, 1).

    ``rho_a_rel``: relative standard deviation of apparent resistivity (0.03 = 3 %), in [0, 1);
    TEM data (``"dbzdt"``) take the same relative noise.
    ``phase_deg``: standard deviation of phase in degrees, ≥ 0.
    """

    def __init__(self, rho_a_rel: float = 0.03, phase_deg: float = 1.0) -> None:
        self.rho_a_rel = _validate.non_negative_number("rho_a_rel", rho_a_rel)
        if self.rho_a_rel >= 1:
            raise ValueError(f"rho_a_rel: must be below 1 (a relative error), got {rho_a_rel}")
        self.phase_deg = _validate.non_negative_number("phase_deg", phase_deg)

    def sigma(self, data: np.ndarray, data_kinds: Sequence[str]) -> np.ndarray:
        """Standard deviation of each datum, same shape as ``data (n, n_data)``."""
        phase = np.array([k == "phase" for k in check_data_kinds(data_kinds)])
        return np.where(phase, self.phase_deg, self.rho_a_rel * np.abs(data))

    def apply(
        self,
        data: np.ndarray,
        data_kinds: Sequence[str],
        rng: np.random.Generator | int | None = None,
        standard_normal: np.ndarray | None = None,
    ) -> np.ndarray:
        """A noisy copy of ``data (n, n_data)`` (or ``(n_data,)``); ``data_kinds`` per column.

        ``rng`` (a Generator or an int seed) draws z, unless ``standard_normal`` (same shape as
        ``data``) gives it.
        """
        arr = np.asarray(data, dtype=float)
        kinds = check_data_kinds(data_kinds)
        if arr.shape[-1] != len(kinds):
            raise ValueError(
                f"data: last dimension {arr.shape[-1]} does not match {len(kinds)} data_kinds"
            )
        if standard_normal is None:
            generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
            z = generator.standard_normal(arr.shape)
        else:
            z = np.asarray(standard_normal, dtype=float)
            if z.shape != arr.shape:
                raise ValueError(f"standard_normal: expected shape {arr.shape}, got {z.shape}")
        phase = np.array([k == "phase" for k in kinds])
        return np.where(phase, arr + self.phase_deg * z, arr * (1 + self.rho_a_rel * z))

    def to_dict(self) -> dict[str, float]:
        """``{"rho_a_rel", "phase_deg"}``."""
        return {"rho_a_rel": self.rho_a_rel, "phase_deg": self.phase_deg}

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> NoiseModel:
        """Inverse of :meth:`to_dict` (missing keys take the defaults)."""
        if not isinstance(spec, Mapping):
            raise ValueError(f"noise: expected a mapping, got {type(spec).__name__}")
        unknown = sorted(set(spec) - {"rho_a_rel", "phase_deg"})
        if unknown:
            raise ValueError(f"noise: unknown field {unknown[0]!r}")
        return cls(**spec)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NoiseModel) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"NoiseModel(rho_a_rel={self.rho_a_rel}, phase_deg={self.phase_deg})"
