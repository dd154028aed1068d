"""Input checks shared by the observation parser: the error it raises and its field validators.

Bad input raises :class:`InversionInputError` with ``.field`` (the offending key, with an index
where one datum is at fault) and ``.status`` (400 malformed, 422 outside what the network knows).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "DEFAULT_NOISE_FLOOR",
    "InversionInputError",
    "PHASE_TOLERANCE_SIGMA",
    "as_vector",
    "check_phase_quadrant",
    "errors",
    "require_positive",
    "validate_noise_floor",
]

DEFAULT_NOISE_FLOOR: dict[str, float] = {"rho_a_rel": 0.03, "phase_deg": 1.0}
#: a field phase this many standard errors outside [0°, 90°] is refused; closer is a warning
PHASE_TOLERANCE_SIGMA = 2.0


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


def as_vector(obs: Mapping[str, Any], name: str, index: int | None) -> np.ndarray:
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


def require_positive(values: np.ndarray, name: str, index: int | None) -> np.ndarray:
    """``values`` (K,) unchanged, or InversionInputError naming the first value ≤ 0."""
    bad = values <= 0
    if bad.any():
        i = int(np.argmax(bad))
        raise InversionInputError(
            f"{name}[{i}] must be positive, got {values[i]}", field=f"{name}[{i}]", index=index
        )
    return values


def errors(obs: Mapping[str, Any], name: str, n: int, index: int | None) -> np.ndarray | None:
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
    values = as_vector(obs, name, index)
    if values.size != n:
        raise InversionInputError(
            f"{name} has {values.size} values but rho_a_ohmm has {n}", field=name, index=index
        )
    return require_positive(values, name, index)


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


def check_phase_quadrant(
    phase_deg: np.ndarray, sigma_deg: np.ndarray, index: int | None
) -> list[str]:
    """Warnings for field phases (K,) degrees outside [0°, 90°] but within
    ``PHASE_TOLERANCE_SIGMA`` of their standard errors ``sigma_deg`` (K,) degrees; an
    InversionInputError (400) naming the first phase farther out."""
    excess = np.maximum(-phase_deg, phase_deg - 90.0)
    far = excess > PHASE_TOLERANCE_SIGMA * sigma_deg
    if far.any():
        i = int(np.argmax(far))
        raise InversionInputError(
            f"phase_deg[{i}] = {phase_deg[i]} lies outside [0, 90] degrees by more than "
            f"{PHASE_TOLERANCE_SIGMA:g} standard errors ({sigma_deg[i]:.3g} degrees)",
            field=f"phase_deg[{i}]",
            index=index,
        )
    outside = np.flatnonzero(excess > 0)
    if outside.size == 0:
        return []
    listed = ", ".join(f"phase_deg[{i}] = {phase_deg[i]:.3g}" for i in outside[:5])
    more = f" and {outside.size - 5} more" if outside.size > 5 else ""
    return [
        f"{listed}{more} outside [0, 90] degrees but within {PHASE_TOLERANCE_SIGMA:g} standard "
        "errors: kept as measured"
    ]


def as_batch(observations: Any) -> list[Mapping[str, Any]]:
    """A batch of observation dicts: a single dict is a batch of one; anything but a list of
    them is a 400 (``field="observations"``)."""
    if isinstance(observations, Mapping):
        return [observations]
    if isinstance(observations, (str, bytes)) or not isinstance(observations, Sequence):
        raise InversionInputError(
            "observations must be a list of observation objects", field="observations"
        )
    return list(observations)
