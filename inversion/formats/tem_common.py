"""Shared pieces of the TEM readers: format detection, header metadata, the observation dict.

A TEM observation dict (docs/usage.md, "TEM soundings") holds lists in file order:

* ``times_s`` gate centre times in s, counted from the start of the turn-off ramp;
* ``dbzdt_v_per_am2`` −dB_z/dt per ampere of transmitter current = receiver voltage / (current ·
  receiver area · turns), V/(A·m²) (= T/s per A), positive while the field decays;
* ``dbzdt_error_percent`` (optional) the file's error bars relative to the data, %;
* ``receiver``: ``"central"`` (a receiver at the loop centre) or ``"coincident"`` (the loop
  receives: single-loop and coincident-loop systems);
* ``loop_side_m`` (square loop) or ``loop_radius_m`` (circular loop), m;
* optional ``ramp_off_s`` (linear turn-off ramp, s), ``gate_open_s``/``gate_close_s`` (s),
  ``current_a`` (A, for the record) and ``warnings`` (gates dropped and why).

Gates whose value is zero or negative (noise: −dB/dt of a non-polarisable layered earth is
positive), that the file masks, or that open before the end of the turn-off ramp (the forward
models gates after the ramp; such early gates are also the ones saturated receivers corrupt) are
dropped with a warning.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from inversion.formats.errors import FormatError

logger = logging.getLogger(__name__)

_NUMBER = r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
#: instrument header lines recognised anywhere in a file (also inside CSV comments)
_HEADER_PATTERNS: dict[str, re.Pattern[str]] = {
    "usf_loop_size": re.compile(r"/LOOP_SIZE:\s*" + _NUMBER + r"(?:\s*,\s*" + _NUMBER + ")?"),
    "usf_ramp": re.compile(r"/RAMP_TIME:\s*" + _NUMBER),
    "usf_current": re.compile(r"/CURRENT:\s*" + _NUMBER),
    "usf_array": re.compile(r"/ARRAY:\s*([A-Za-z][A-Za-z \-]*)"),
    "usf_turns": re.compile(r"/LOOP_TURNS:\s*" + _NUMBER),
    "temfast_loops": re.compile(
        r"T-LOOP\s*\(m\)\s*"
        + _NUMBER
        + r"\s+R-LOOP\s*\(m\)\s*"
        + _NUMBER
        + r"(?:\s+TURN\s*=\s*"
        + _NUMBER
        + ")?"
    ),
    "temfast_current": re.compile(r"\bI\s*=\s*" + _NUMBER + r"\s*A\b"),
}
#: generic ``# key: value`` / ``# key = value`` metadata lines of a CSV file
_KEY_VALUE = re.compile(r"^\s*#?\s*([A-Za-z_][A-Za-z0-9_]*)\s*[:=]\s*(\S+)\s*$")
METADATA_KEYS = ("loop_side_m", "loop_radius_m", "ramp_off_s", "current_a", "receiver")


def scan_metadata(lines: Iterable[str]) -> dict[str, Any]:
    """Geometry and waveform from instrument header lines (USF ``/KEY:`` lines, TEM-FAST
    ``T-LOOP (m) … R-LOOP (m) … TURN=`` and ``I= … A``) anywhere in ``lines``."""
    meta: dict[str, Any] = {}
    for line in lines:
        for key, pattern in _HEADER_PATTERNS.items():
            match = pattern.search(line)
            if match is None or key in meta:
                continue
            meta[key] = match.groups()
    out: dict[str, Any] = {}
    if "usf_loop_size" in meta:
        out["loop_side_m"] = float(meta["usf_loop_size"][0])
    if "usf_ramp" in meta:
        out["ramp_off_s"] = float(meta["usf_ramp"][0])
    if "usf_current" in meta:
        out["current_a"] = float(meta["usf_current"][0])
    if "usf_array" in meta:
        array = meta["usf_array"][0].upper()
        if "SINGLE" in array or "COINCIDENT" in array:
            out["receiver"] = "coincident"
        elif "CENTRAL" in array or "IN-LOOP" in array or "INLOOP" in array:
            out["receiver"] = "central"
    if "usf_turns" in meta:
        out["turns"] = float(meta["usf_turns"][0])
    if "temfast_loops" in meta:
        t_loop, r_loop, turns = meta["temfast_loops"]
        out["loop_side_m"] = float(t_loop)
        out["rx_side_m"] = float(r_loop)
        out["receiver"] = "coincident" if float(t_loop) == float(r_loop) else "central"
        out["turns"] = float(turns) if turns else 1.0
    if "temfast_current" in meta:
        out["current_a"] = float(meta["temfast_current"][0])
    return out


def scan_key_values(lines: Iterable[str]) -> dict[str, str]:
    """``# loop_side_m: 50`` style metadata lines (keys in :data:`METADATA_KEYS`)."""
    out: dict[str, str] = {}
    for line in lines:
        match = _KEY_VALUE.match(line)
        if match and match.group(1).lower() in METADATA_KEYS:
            out[match.group(1).lower()] = match.group(2)
    return out


def number(text: str, path: str | Path | None, line: int, field: str) -> float:
    """A finite float from ``text`` or a :class:`FormatError` naming line and field."""
    try:
        value = float(text.strip())
    except ValueError:
        raise FormatError(
            f"{text.strip()!r} is not a number", path=path, line=line, field=field
        ) from None
    if not math.isfinite(value):
        raise FormatError(f"{text.strip()!r} is not finite", path=path, line=line, field=field)
    return value


def build_observation(
    rows: list[dict[str, Any]], geometry: dict[str, Any], path: str | Path | None
) -> dict[str, Any]:
    """The observation dict from gate ``rows`` (``line``, ``time_s``, ``value``, optional
    ``error``, ``width_s``, ``masked``; values already in V/(A·m²)) and ``geometry``."""
    if not rows:
        raise FormatError("no gates (no data rows)", path=path)
    previous = None
    for row in rows:
        if row["time_s"] <= 0:
            raise FormatError(
                f"time {row['time_s']:g} s is not positive",
                path=path,
                line=row["line"],
                field="time",
            )
        if previous is not None and row["time_s"] <= previous:
            raise FormatError(
                f"time {row['time_s']:g} s is not after the previous gate ({previous:g} s)",
                path=path,
                line=row["line"],
                field="time",
            )
        previous = row["time_s"]
    warnings = []
    ramp = float(geometry.get("ramp_off_s") or 0.0)
    dropped: dict[str, list[int]] = {"masked": [], "in_ramp": [], "negative": []}
    kept = []
    for r in rows:
        reason = _drop_reason(r, ramp)
        if reason is None:
            kept.append(r)
        else:
            dropped[reason].append(r["line"])
    masked, in_ramp, negative = dropped["masked"], dropped["in_ramp"], dropped["negative"]
    if masked:
        warnings.append(f"{len(masked)} gates masked in the file dropped (lines {_lines(masked)})")
    if in_ramp:
        warnings.append(
            f"{len(in_ramp)} gates that open before the end of the turn-off ramp "
            f"({ramp:g} s after its start) dropped (lines {_lines(in_ramp)})"
        )
    negative_rows = [r for r in rows if r["line"] in negative]
    if negative_rows:
        warnings.append(_negative_gates_warning(negative_rows))
    if len(kept) < 3:
        raise FormatError(
            f"only {len(kept)} usable gates (positive, not masked, after the turn-off ramp); "
            "at least 3 are needed",
            path=path,
        )
    obs: dict[str, Any] = {
        "times_s": [r["time_s"] for r in kept],
        "dbzdt_v_per_am2": [r["value"] for r in kept],
    }
    if all("error" in r for r in kept):
        obs["dbzdt_error_percent"] = [100.0 * abs(r["error"]) / r["value"] for r in kept]
    if all(r.get("width_s") for r in kept):
        obs["gate_open_s"] = [r["time_s"] - r["width_s"] / 2 for r in kept]
        obs["gate_close_s"] = [r["time_s"] + r["width_s"] / 2 for r in kept]
    obs.update(geometry)
    reversed_gates = _reversed_gates(negative_rows)
    if reversed_gates is not None and "gate_open_s" not in obs:
        obs["reversed_gates"] = reversed_gates
    for warning in warnings:
        logger.warning("%s: %s", Path(path).name if path else "TEM data", warning)
    if warnings:
        obs["warnings"] = warnings
    return obs


def _drop_reason(row: dict[str, Any], ramp_off_s: float) -> str | None:
    """Why a gate row is dropped (``masked``, ``in_ramp``: it opens — its centre less half its
    width — before the end of the turn-off ramp, ``negative``), or None when it is kept."""
    if row.get("masked"):
        return "masked"
    if row["time_s"] - (row.get("width_s") or 0.0) / 2 <= ramp_off_s:
        return "in_ramp"
    return "negative" if row["value"] <= 0 else None


#: a gate below zero by more than this many of its standard errors is signal, not noise
SIGN_REVERSAL_Z = 3.0


def _negative_gates_warning(rows: list[dict[str, Any]]) -> str:
    """The warning for dropped gates with zero or negative values: noise, unless some lie below
    zero by more than ``SIGN_REVERSAL_Z`` standard errors — a sign reversal, which the step-off
    response of a central or coincident loop over a non-polarisable earth never shows (it is
    positive and decreasing: Weidelt 1982, Geophysics 47(9), 1325), and which induced
    polarisation produces."""
    lines = _lines([r["line"] for r in rows])
    scores = [(-r["value"] / abs(r["error"]), r) for r in rows if r.get("error")]
    significant = [(z, r) for z, r in scores if z > SIGN_REVERSAL_Z]
    if not significant:
        return f"{len(rows)} gates with zero or negative values (noise) dropped (lines {lines})"
    first = min(r["time_s"] for _, r in significant)
    return (
        f"{len(rows)} gates with zero or negative values dropped (lines {lines}); "
        f"{len(significant)} lie below zero by more than {SIGN_REVERSAL_Z:g} standard errors (up "
        f"to {max(z for z, _ in significant):.0f}) from t = {first:.3g} s: the transient "
        "reverses sign, which no layered earth without induced polarisation does in a central "
        "or coincident loop — likely induced polarisation (IP); the gates before the reversal "
        "carry it too, so a layered model may not fit them (where it does not, a model with a "
        'polarisable Cole–Cole layer is fitted too: the result\'s "ip")'
    )


def _reversed_gates(rows: list[dict[str, Any]]) -> dict[str, list[float]] | None:
    """The dropped gates below zero with their errors, where the transient reverses sign (some
    lie more than ``SIGN_REVERSAL_Z`` standard errors below zero): ``{"times_s",
    "dbzdt_v_per_am2" (negative), "dbzdt_error_percent"}``, which the served path's polarisable
    fit uses (:mod:`inversion.served.tem_ip`); None otherwise (noise, or gates without errors)."""
    below = [r for r in rows if r["value"] < 0 and r.get("error")]
    if not any(-r["value"] / abs(r["error"]) > SIGN_REVERSAL_Z for r in below):
        return None
    return {
        "times_s": [r["time_s"] for r in below],
        "dbzdt_v_per_am2": [r["value"] for r in below],
        "dbzdt_error_percent": [100.0 * abs(r["error"]) / -r["value"] for r in below],
    }


def _lines(numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:8])
    return shown + ("…" if len(numbers) > 8 else "")


def geometry(
    meta: dict[str, Any], path: str | Path | None, line: int | None = None
) -> dict[str, Any]:
    """Observation geometry (receiver, loop size, ramp, current) from scanned metadata; a
    FormatError when the loop size or the receiver is unknown."""
    receiver = str(meta.get("receiver", "")).lower()
    if receiver not in ("central", "coincident"):
        raise FormatError(
            f"receiver {meta.get('receiver')!r} unknown: expected a central-loop or a single "
            "(coincident) loop sounding",
            path=path,
            line=line,
            field="receiver",
        )
    out: dict[str, Any] = {"receiver": receiver}
    sizes = [k for k in ("loop_side_m", "loop_radius_m") if meta.get(k) is not None]
    if len(sizes) != 1:
        raise FormatError(
            "no loop size: the file must give the loop (USF /LOOP_SIZE, TEM-FAST T-LOOP, or a "
            "'# loop_side_m: 50' / '# loop_radius_m: 25' line)"
            if not sizes
            else "both loop_side_m and loop_radius_m are given; keep one",
            path=path,
            line=line,
            field="loop_side_m",
        )
    for key in (sizes[0], "ramp_off_s", "current_a"):
        if meta.get(key) is None:
            continue
        value = float(meta[key])
        if not math.isfinite(value) or value < 0 or (value == 0 and key != "ramp_off_s"):
            raise FormatError(f"{value:g} is not a valid {key}", path=path, line=line, field=key)
        out[key] = value
    return out


def read_text(path: str | Path) -> str:
    """The file's text: UTF-8, else Latin-1 (instruments write µ in Latin-1)."""
    raw = Path(path).read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")
