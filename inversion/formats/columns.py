"""Recognise column headers of field-data tables: which quantity, in which unit.

A header cell such as ``"AB/2 (m)"``, ``"ab2_m"``, ``"Rho_a [Ω·m]"`` or ``"err%"`` is split into a
quantity key (``"ab2"``, ``"rho_a"``, ``"rho_err"`` …) and a unit, and the unit into the factor that
converts the column to the observation dict's unit (m, Ω·m, %, A, V, s, Hz, degrees).
Quantities whose unit cannot be told from convention (errors, current, voltage) must carry one;
an unknown unit is an error, never a guess.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from inversion.formats.header_words import classify

# quantity key → normalised aliases (lower case, letters and digits only)
_ALIASES: dict[str, tuple[str, ...]] = {
    "ab2": ("ab2", "halfab", "abhalf"),
    "mn2": ("mn2", "halfmn", "mnhalf"),
    "a": ("a", "aspacing", "wennera", "spacing"),
    "rho_a": (
        "rhoa",
        "rho",
        "rhoapp",
        "apprho",
        "appres",
        "apparentresistivity",
        "appresistivity",
        "ra",
        "resistivity",
    ),
    "rho_err": (
        "err",
        "error",
        "sd",
        "rhoaerr",
        "rhoaerror",
        "rhoerr",
        "rhoerror",
        "errrhoa",
        "errorrhoa",
        "appreserr",
        "appreserror",
        "std",
        "stderr",
        "stddev",
        "sigma",
        "uncertainty",
    ),
    "current": ("i", "current", "curr"),
    "resistance": ("voveri", "vi", "dvi", "dvoveri", "resistance", "r"),
    "geometric_factor": ("k", "kfactor", "geometricfactor", "geomfactor", "geometryfactor"),
    "voltage": ("v", "voltage", "dv", "deltav", "u", "du", "potential", "vmn", "dvmn"),
    "period": ("period", "periods", "t", "per"),
    "frequency": ("frequency", "freq", "f"),
    "phase": ("phase", "phs", "phi"),
    "phase_err": ("phaseerr", "phaseerror", "phserr", "phierr", "errphase", "phasestd"),
    "sounding": ("sounding", "soundingid", "station", "stationid", "site", "id", "ves", "point"),
}
_KEY_OF_ALIAS: dict[str, str] = {alias: key for key, names in _ALIASES.items() for alias in names}

# unit family → normalised unit spelling → factor to the observation dict's unit
_UNITS: dict[str, dict[str, float]] = {
    "length": {
        "m": 1.0,
        "meter": 1.0,
        "meters": 1.0,
        "metre": 1.0,
        "metres": 1.0,
        "ft": 0.3048,
        "feet": 0.3048,
        "foot": 0.3048,
    },
    "resistivity": {"ohmm": 1.0, "ohmmeter": 1.0, "ohmmetre": 1.0, "ohmmeters": 1.0},
    "relative": {"%": 1.0, "percent": 1.0, "pct": 1.0, "fraction": 100.0, "frac": 100.0},
    "current": {"a": 1.0, "amp": 1.0, "ampere": 1.0, "ma": 1e-3, "ua": 1e-6},
    "voltage": {"v": 1.0, "volt": 1.0, "mv": 1e-3, "uv": 1e-6},
    "resistance": {"ohm": 1.0, "ohms": 1.0, "mohm": 1e-3, "kohm": 1e3},
    "time": {"s": 1.0, "sec": 1.0, "second": 1.0, "seconds": 1.0, "ms": 1e-3},
    "frequency": {"hz": 1.0, "khz": 1e3, "mhz": 1e-3},
    "angle": {"deg": 1.0, "degree": 1.0, "degrees": 1.0, "°": 1.0, "rad": 180.0 / math.pi},
}

# quantity key → (accepted unit families, default unit when the header gives none or None)
_QUANTITY_UNITS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "ab2": (("length",), "m"),
    "mn2": (("length",), "m"),
    "a": (("length",), "m"),
    "rho_a": (("resistivity",), "ohmm"),
    "rho_err": (("relative", "resistivity"), None),
    "current": (("current",), None),
    "voltage": (("voltage",), None),
    "resistance": (("resistance",), "ohm"),
    "geometric_factor": (("length",), "m"),
    "period": (("time",), "s"),
    "frequency": (("frequency",), "hz"),
    "phase": (("angle",), "deg"),
    "phase_err": (("angle",), "deg"),
    "sounding": ((), None),
}

_DESCRIPTIONS: dict[str, str] = {
    "ab2": "AB/2 (current electrode half-spacing)",
    "mn2": "MN/2 (potential electrode half-spacing)",
    "a": "Wenner spacing a",
    "rho_a": "apparent resistivity",
    "rho_err": "apparent-resistivity error",
    "current": "current I",
    "voltage": "voltage V",
    "resistance": "resistance V/I",
    "geometric_factor": "geometric factor K",
    "period": "period",
    "frequency": "frequency",
    "phase": "phase",
    "phase_err": "phase error",
    "sounding": "sounding id",
}

# log10 spellings of a ρa column (log10 Ω·m) or of its error (standard deviation of log10 ρa)
_LOG10_UNITS = ("log10", "log10ohmm", "logohmm", "log", "dex", "lg", "lgohmm")

_ALL_UNIT_SPELLINGS = sorted(
    {unit for table in _UNITS.values() for unit in table}, key=len, reverse=True
)
_BRACKETED_UNIT = re.compile(r"^(?P<name>.*?)\s*[\(\[](?P<unit>[^\)\]]*)[\)\]]\s*$")


@dataclass(frozen=True)
class Column:
    """One recognised column: its position, quantity key, unit as written and conversion factor.

    ``factor`` multiplies the column's numbers to give the observation dict's unit (m, Ω·m, %,
    A, V, s, Hz, degrees). For ``rho_err`` with an absolute unit (Ω·m), ``absolute`` is True and the
    factor gives Ω·m (the reader turns it into percent of ρa). ``log10`` marks a column of log10
    values: a log10 ρa (Ω·m), or the standard deviation of log10 ρa (the reader turns it into
    percent: 100·ln 10·σ).
    """

    index: int
    label: str
    key: str
    unit: str | None
    factor: float
    absolute: bool = False
    log10: bool = False


def describe(key: str) -> str:
    """Human description of a quantity key, for error messages."""
    return _DESCRIPTIONS.get(key, key)


def aliases(key: str) -> tuple[str, ...]:
    """The normalised header spellings recognised for quantity ``key``."""
    return _ALIASES[key]


def _normalise_name(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.lower())


def normalise_unit(text: str) -> str:
    """Normalise a unit: ``"Ω·m"``, ``"ohm-m"``, ``"Ohm m"`` → ``"ohmm"``; ``"µV"`` → ``"uv"``.

    Only spaces, dots, middle dots, stars, hyphens, underscores, slashes and carets are removed.
    """
    unit = text.strip().lower()
    unit = unit.replace("ω", "ohm").replace("µ", "u").replace("μ", "u")
    if unit in ("%", "°"):
        return unit
    return re.sub(r"[\s.·*\-_/^]", "", unit)


def _split_suffix_unit(name: str) -> tuple[str, str] | None:
    """``"ab2_m"`` → ``("ab2", "m")``; ``"err%"`` → ``("err", "%")``; None if no unit suffix."""
    lowered = name.lower()
    for unit in _ALL_UNIT_SPELLINGS:
        for sep in ("_", " ", "-", "."):
            suffix = sep + unit
            if lowered.endswith(suffix) and len(lowered) > len(suffix):
                head = name[: -len(suffix)]
                if _normalise_name(head) in _KEY_OF_ALIAS:
                    return head, unit
    return None


def parse_header_cell(cell: str) -> tuple[str | None, str | None]:
    """Split one header cell into ``(quantity key or None if unrecognised, unit text or None)``."""
    text = cell.strip().strip('"').strip("'").strip()
    unit: str | None = None
    match = _BRACKETED_UNIT.match(text)
    if match:
        text, unit = match.group("name").strip(), match.group("unit").strip()
    elif text.endswith("%"):
        text, unit = text[:-1].strip(), "%"
    key = _KEY_OF_ALIAS.get(_normalise_name(text))
    if key in ("rho_err", "rho_a", None) and (unit is None or key is None):
        by_words = classify(cell if key is None else text)
        if by_words is not None and (key is None or by_words[1] is not None):
            return by_words
    if key is None and unit is None:
        split = _split_suffix_unit(text)
        if split is not None:
            head, unit = split
            key = _KEY_OF_ALIAS.get(_normalise_name(head))
    if key is None:
        # a unit word inside the name: "error percent", "rho_a_error_percent"
        for word, unit_word in (("percent", "%"), ("pct", "%"), ("fraction", "fraction")):
            normalised = _normalise_name(text)
            if normalised.endswith(word) and unit is None:
                key = _KEY_OF_ALIAS.get(normalised[: -len(word)])
                if key is not None:
                    unit = unit_word
                    break
    return key, unit


def resolve_unit(key: str, unit: str | None) -> tuple[float, bool, bool]:
    """Conversion factor, whether an error column is absolute and whether the column holds log10
    values (ρa or its error only), for quantity ``key`` in ``unit``.

    Raises ``ValueError`` naming the accepted units when ``unit`` is unknown for the quantity, or
    when the quantity needs an explicit unit and none is given.
    """
    families, default = _QUANTITY_UNITS[key]
    if not families:
        return 1.0, False, False
    if unit is None or unit.strip() == "":
        if default is None:
            accepted = ", ".join(_accepted(families))
            raise ValueError(
                f"the {describe(key)} column needs a unit in its header, e.g. one of {accepted}"
            )
        unit = default
    normalised = normalise_unit(unit)
    if key in ("rho_a", "rho_err") and normalised in _LOG10_UNITS:
        return 1.0, False, True
    for family in families:
        table = _UNITS[family]
        if normalised in table:
            return table[normalised], family == "resistivity" and key == "rho_err", False
    accepted = ", ".join(_accepted(families))
    raise ValueError(f"unknown unit {unit!r} for {describe(key)}; accepted units: {accepted}")


def _accepted(families: tuple[str, ...]) -> list[str]:
    shown = {
        "length": ["m", "ft"],
        "resistivity": ["ohm.m", "ohmm", "Ω·m", "log10 ohm.m"],
        "resistance": ["ohm", "mohm", "kohm"],
        "relative": ["%", "fraction", "log10"],
        "current": ["A", "mA", "µA"],
        "voltage": ["V", "mV", "µV"],
        "time": ["s", "ms"],
        "frequency": ["Hz", "kHz"],
        "angle": ["deg", "rad"],
    }
    return [unit for family in families for unit in shown[family]]
