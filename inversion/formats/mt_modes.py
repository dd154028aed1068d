"""Turn EDI impedances (or ρa/phase blocks) into an MT observation dict for one mode.

Modes: ``"det"`` — the rotation-invariant determinant impedance Z_det = √(Zxx·Zyy − Zxy·Zyx);
``"te"`` (= ``"xy"``) — Zxy; ``"tm"`` (= ``"yx"``) — Zyx.

Units: EDI impedances are in field units mV/km/nT. With E = Z_f·10⁻⁶ V/m per nT of B = 10⁻⁹ T and
H = B/μ0, Z[Ω] = μ0·10³·Z_f = 4π·10⁻⁴·Z_f. Then ρa = |Z|²/(ωμ0) (Ω·m, Z in Ω) = 0.2·T·|Z_f|² and the
phase is arg Z in degrees, folded into (−90°, 90°] by adding or removing 180° (Zyx lies in the
third quadrant for a 1-D earth with the e^{+iωt} convention of SEG EDI).

Errors: an EDI variance ``Z??.VAR`` is the variance of the complex impedance (field units squared);
with σ = √VAR and r = σ/|Z|, the ρa error is 200·r percent and the phase error asin(min(r, 1)) in
degrees. For the determinant,
σ_det = √(|Zyy|²σxx² + |Zxx|²σyy² + |Zyx|²σxy² + |Zxy|²σyx²)/(2|Z_det|).
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np

from inversion.formats.edi import EdiData
from inversion.formats.errors import FormatError

logger = logging.getLogger(__name__)

MU0_H_PER_M = 4e-7 * math.pi
FIELD_UNITS_TO_OHM = 4e-4 * math.pi  # Z[Ω] = FIELD_UNITS_TO_OHM · Z[mV/km/nT]
MODES = ("det", "te", "tm")
_MODE_ALIASES = {"det": "det", "determinant": "det", "te": "te", "xy": "te", "tm": "tm", "yx": "tm"}
_MODE_COMPONENT = {"te": "XY", "tm": "YX"}


def normalise_mode(mode: str) -> str:
    """Canonical mode name: det/determinant → det, te/xy → te, tm/yx → tm (case-insensitive)."""
    try:
        return _MODE_ALIASES[mode.strip().lower()]
    except KeyError:
        raise ValueError(f"mode must be one of det, te (xy), tm (yx); got {mode!r}") from None


def apparent_resistivity_ohmm(z_field: np.ndarray, frequencies_hz: np.ndarray) -> np.ndarray:
    """ρa (K,) in Ω·m from impedances (K,) in mV/km/nT at frequencies (K,) in Hz: |Z|²/(ωμ0)."""
    z_ohm = FIELD_UNITS_TO_OHM * np.abs(z_field)
    with np.errstate(over="ignore"):  # |Z| beyond ~1e154 Ω gives inf, refused downstream
        return z_ohm**2 / (2.0 * math.pi * frequencies_hz * MU0_H_PER_M)


def fold_phase_deg(phase_deg: np.ndarray) -> np.ndarray:
    """Fold phases (degrees) into (−90°, 90°] by adding or removing 180°."""
    return 90.0 - np.mod(90.0 - np.asarray(phase_deg, dtype=float), 180.0)


def _impedance(data: EdiData, component: str) -> tuple[np.ndarray, np.ndarray | None]:
    real, imag = data.blocks[f"Z{component}R"], data.blocks[f"Z{component}I"]
    var = data.blocks.get(f"Z{component}.VAR")
    if var is not None and np.any(var[~np.isnan(var)] < 0):
        raise FormatError(
            "a variance is negative",
            path=data.path,
            line=data.block_lines[f"Z{component}.VAR"],
            field=f"Z{component}.VAR",
        )
    return real + 1j * imag, None if var is None else np.sqrt(var)


def _from_impedance(data: EdiData, mode: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Chosen impedance (K,) and its standard error (K,) or None, in mV/km/nT."""
    if mode != "det":
        return _impedance(data, _MODE_COMPONENT[mode])
    parts = {c: _impedance(data, c) for c in ("XX", "XY", "YX", "YY")}
    z = {c: value[0] for c, value in parts.items()}
    z_det = np.sqrt(z["XX"] * z["YY"] - z["XY"] * z["YX"])
    sigma: np.ndarray | None = None
    if all(value[1] is not None for value in parts.values()):
        s = {c: value[1] for c, value in parts.items()}
        sigma_d = np.sqrt(
            np.abs(z["YY"]) ** 2 * s["XX"] ** 2
            + np.abs(z["XX"]) ** 2 * s["YY"] ** 2
            + np.abs(z["YX"]) ** 2 * s["XY"] ** 2
            + np.abs(z["XY"]) ** 2 * s["YX"] ** 2
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            sigma = sigma_d / (2.0 * np.abs(z_det))
    return z_det, sigma


def _observation_from_impedance(data: EdiData, mode: str) -> dict[str, np.ndarray]:
    z, sigma = _from_impedance(data, mode)
    frequencies = data.frequencies_hz
    out = {
        "rho_a_ohmm": apparent_resistivity_ohmm(z, frequencies),
        "phase_deg": fold_phase_deg(np.degrees(np.angle(z))),
    }
    if sigma is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            relative = sigma / np.abs(z)
        out["rho_a_error_percent"] = 200.0 * relative
        out["phase_error_deg"] = np.degrees(np.arcsin(np.minimum(relative, 1.0)))
    return out


def _observation_from_rho_phase(data: EdiData, mode: str) -> dict[str, np.ndarray]:
    component = _MODE_COMPONENT[mode]
    rho = data.blocks[f"RHO{component}"]
    out = {"rho_a_ohmm": rho, "phase_deg": fold_phase_deg(data.blocks[f"PHS{component}"])}
    rho_err = data.blocks.get(f"RHO{component}.ERR")
    phase_err = data.blocks.get(f"PHS{component}.ERR")
    if rho_err is not None:
        out["rho_a_error_percent"] = 100.0 * rho_err / rho
    if phase_err is not None:
        out["phase_error_deg"] = phase_err
    return out


def edi_observation(data: EdiData, mode: str = "det") -> dict[str, Any]:
    """MT observation dict for ``mode`` from parsed EDI data.

    Returns ``{"periods_s", "rho_a_ohmm", "phase_deg", "rho_a_error_percent"?,
    "phase_error_deg"?}`` as lists sorted by increasing period (s, Ω·m, degrees, %, degrees).
    Frequencies whose needed values hold the EMPTY sentinel are dropped (logged as a warning).
    Raises :class:`FormatError` when the file lacks the blocks the mode needs.
    """
    mode = normalise_mode(mode)
    if mode == "det":
        needed = [f"Z{c}{p}" for c in ("XX", "XY", "YX", "YY") for p in ("R", "I")]
        if not data.has(*needed):
            missing = [name for name in needed if name not in data.blocks]
            raise FormatError(
                "the determinant mode needs the full impedance tensor; missing "
                + ", ".join(f">{name}" for name in missing)
                + " (for a file with apparent resistivity and phase only, choose mode te or tm)",
                path=data.path,
                field=missing[0],
            )
        values = _observation_from_impedance(data, mode)
    else:
        component = _MODE_COMPONENT[mode]
        if data.has(f"Z{component}R", f"Z{component}I"):
            values = _observation_from_impedance(data, mode)
        elif data.has(f"RHO{component}", f"PHS{component}"):
            values = _observation_from_rho_phase(data, mode)
        else:
            raise FormatError(
                f"mode {mode} needs >Z{component}R and >Z{component}I, or >RHO{component} and "
                f">PHS{component}",
                path=data.path,
                field=f"Z{component}R",
            )
    periods = 1.0 / data.frequencies_hz
    keep = ~np.isnan(values["rho_a_ohmm"]) & ~np.isnan(values["phase_deg"])
    for key in ("rho_a_error_percent", "phase_error_deg"):
        if key in values:
            keep &= ~np.isnan(values[key])
    if not np.all(keep):
        dropped = [f"{1.0 / p:g} Hz" for p in periods[~keep]]
        logger.warning("EDI %s: frequencies with EMPTY values dropped: %s", data.station, dropped)
    if not np.any(keep):
        raise FormatError(f"every value of mode {mode} is EMPTY", path=data.path, field=mode)
    order = np.argsort(periods[keep])
    observation: dict[str, Any] = {"periods_s": periods[keep][order].tolist()}
    for key, array in values.items():
        observation[key] = np.asarray(array, dtype=float)[keep][order].tolist()
    return observation
