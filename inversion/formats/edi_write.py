"""Write SEG EDI files: impedance tensors (mV/km/nT) or apparent-resistivity/phase blocks.

Numbers are written with 17 significant digits, so :func:`inversion.formats.edi.parse_edi` reads
back the identical float64 values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from inversion.formats.mt_modes import FIELD_UNITS_TO_OHM

_PER_LINE = 4


def _block(name: str, values: np.ndarray, attributes: str = "") -> list[str]:
    values = np.asarray(values, dtype=float)
    lines = [f">{name}{(' ' + attributes) if attributes else ''} // {values.size}"]
    for start in range(0, values.size, _PER_LINE):
        lines.append("  " + " ".join(f"{v:.16E}" for v in values[start : start + _PER_LINE]))
    return lines + [""]


def _preamble(station: str, n_freq: int) -> list[str]:
    today = datetime.now(timezone.utc).strftime("%m/%d/%y")
    return [
        ">HEAD",
        f'  DATAID="{station}"',
        '  ACQBY="geobp"',
        '  FILEBY="geobp"',
        f"  FILEDATE={today}",
        "  LAT=+00:00:00.0",
        "  LONG=+000:00:00.0",
        "  ELEV=0.0",
        '  STDVERS="SEG 1.0"',
        '  PROGVERS="geobp"',
        "  EMPTY=1.0E+32",
        "",
        ">INFO MAXINFO=999",
        "  written by geobp",
        "",
        ">=DEFINEMEAS",
        "  MAXCHAN=4",
        "  MAXRUN=999",
        "  MAXMEAS=9999",
        "  UNITS=M",
        "  REFTYPE=CART",
        "  REFLAT=+00:00:00.0",
        "  REFLONG=+000:00:00.0",
        "  REFELEV=0.0",
        "",
        ">HMEAS ID=1001.001 CHTYPE=HX X=0.0 Y=0.0 Z=0.0 AZM=0.0",
        ">HMEAS ID=1002.001 CHTYPE=HY X=0.0 Y=0.0 Z=0.0 AZM=90.0",
        ">EMEAS ID=1003.001 CHTYPE=EX X=-50.0 Y=0.0 Z=0.0 X2=50.0 Y2=0.0 Z2=0.0",
        ">EMEAS ID=1004.001 CHTYPE=EY X=0.0 Y=-50.0 Z=0.0 X2=0.0 Y2=50.0 Z2=0.0",
        "",
        ">=MTSECT",
        f'  SECTID="{station}"',
        f"  NFREQ={n_freq}",
        "  HX=1001.001",
        "  HY=1002.001",
        "  EX=1003.001",
        "  EY=1004.001",
        "",
    ]


def _frequencies(frequencies_hz: np.ndarray) -> np.ndarray:
    frequencies = np.asarray(frequencies_hz, dtype=float).reshape(-1)
    if frequencies.size == 0 or np.any(~np.isfinite(frequencies)) or np.any(frequencies <= 0):
        raise ValueError("frequencies_hz must be a non-empty array of positive numbers")
    return frequencies


def format_edi_impedance(
    frequencies_hz: np.ndarray,
    z_field: np.ndarray,
    z_variance: np.ndarray | None = None,
    station: str = "GEOBP",
) -> str:
    """EDI text for impedances ``z_field`` (K, 2, 2) complex in mV/km/nT at ``frequencies_hz`` (K,).

    ``z_variance`` (K, 2, 2) real, optional: variance of each complex impedance, (mV/km/nT)².
    """
    frequencies = _frequencies(frequencies_hz)
    z = np.asarray(z_field, dtype=complex)
    if z.shape != (frequencies.size, 2, 2):
        raise ValueError(f"z_field must have shape ({frequencies.size}, 2, 2), got {z.shape}")
    if z_variance is not None:
        z_variance = np.asarray(z_variance, dtype=float)
        if z_variance.shape != z.shape:
            raise ValueError(f"z_variance must have shape {z.shape}, got {z_variance.shape}")
    lines = _preamble(station, frequencies.size)
    lines += _block("FREQ", frequencies, "ORDER=INC")
    lines += _block("ZROT", np.zeros(frequencies.size))
    for i, row in enumerate("XY"):
        for j, col in enumerate("XY"):
            component = row + col
            lines += _block(f"Z{component}R", z[:, i, j].real, "ROT=ZROT")
            lines += _block(f"Z{component}I", z[:, i, j].imag, "ROT=ZROT")
            if z_variance is not None:
                lines += _block(f"Z{component}.VAR", z_variance[:, i, j], "ROT=ZROT")
    return "\n".join(lines + [">END", ""])


def format_edi_rho_phase(
    frequencies_hz: np.ndarray,
    modes: Mapping[str, Mapping[str, np.ndarray]],
    station: str = "GEOBP",
) -> str:
    """EDI text with apparent-resistivity and phase blocks.

    ``modes`` maps ``"XY"`` and/or ``"YX"`` to ``{"rho_ohmm": (K,), "phase_deg": (K,),
    "rho_err_ohmm": (K,) optional, "phase_err_deg": (K,) optional}``.
    """
    frequencies = _frequencies(frequencies_hz)
    lines = _preamble(station, frequencies.size)
    lines += _block("FREQ", frequencies, "ORDER=INC")
    lines += _block("RHOROT", np.zeros(frequencies.size))
    for component, values in modes.items():
        if component not in ("XY", "YX", "XX", "YY"):
            raise ValueError(f"modes: unknown component {component!r}")
        lines += _block(f"RHO{component}", values["rho_ohmm"], "ROT=RHOROT")
        if "rho_err_ohmm" in values:
            lines += _block(f"RHO{component}.ERR", values["rho_err_ohmm"], "ROT=RHOROT")
        lines += _block(f"PHS{component}", values["phase_deg"], "ROT=RHOROT")
        if "phase_err_deg" in values:
            lines += _block(f"PHS{component}.ERR", values["phase_err_deg"], "ROT=RHOROT")
    return "\n".join(lines + [">END", ""])


def write_edi_impedance(
    path: str | Path,
    frequencies_hz: np.ndarray,
    z_field: np.ndarray,
    z_variance: np.ndarray | None = None,
    station: str = "GEOBP",
) -> Path:
    """Write an impedance EDI file (see :func:`format_edi_impedance`); returns the path."""
    path = Path(path)
    path.write_text(format_edi_impedance(frequencies_hz, z_field, z_variance, station), "utf-8")
    return path


def write_edi_rho_phase(
    path: str | Path,
    frequencies_hz: np.ndarray,
    modes: Mapping[str, Mapping[str, np.ndarray]],
    station: str = "GEOBP",
) -> Path:
    """Write an apparent-resistivity/phase EDI file (see :func:`format_edi_rho_phase`)."""
    path = Path(path)
    path.write_text(format_edi_rho_phase(frequencies_hz, modes, station), "utf-8")
    return path


def impedance_1d_field_units(
    rho_a_ohmm: np.ndarray, phase_deg: np.ndarray, frequencies_hz: np.ndarray
) -> np.ndarray:
    """Impedance tensor (K, 2, 2) in mV/km/nT of a 1-D earth with apparent resistivity (K,) Ω·m
    and phase (K,) degrees: Zxy = |Z|·e^{iφ}, Zyx = −Zxy, Zxx = Zyy = 0, |Z| = √(ωμ0ρa)."""
    frequencies = _frequencies(frequencies_hz)
    rho = np.asarray(rho_a_ohmm, dtype=float)
    phase = np.radians(np.asarray(phase_deg, dtype=float))
    modulus_ohm = np.sqrt(2.0 * math.pi * frequencies * 4e-7 * math.pi * rho)
    zxy = modulus_ohm / FIELD_UNITS_TO_OHM * np.exp(1j * phase)
    z = np.zeros((frequencies.size, 2, 2), dtype=complex)
    z[:, 0, 1] = zxy
    z[:, 1, 0] = -zxy
    return z
