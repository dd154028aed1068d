"""Read error and log10 column headers word by word, as field files name them.

``"sd_rho_ohmm"``, ``"sd_phase_deg"``, ``"rel_err_used"``, ``"rhoa_err_pct"``, ``"log10_rho_a"``,
``"sd_log10_rho"`` … are split into words; every word must be known (an error word, a quantity
word, a unit word or a filler such as ``used``), otherwise the header is not understood and the
caller warns. The unit words decide how the column is read: ``ohmm`` an absolute ρa error, ``%``
(``pct``, ``percent``) a percentage, ``rel``/``frac``/``fraction`` a fraction, ``log10`` log10
units (a log10 ρa, or a standard deviation of log10 ρa), ``deg``/``rad`` a phase error.
"""

from __future__ import annotations

import re

_ERROR = {
    "sd",
    "std",
    "stdev",
    "stddev",
    "sigma",
    "err",
    "error",
    "errors",
    "uncertainty",
    "unc",
    "standard",
    "deviation",
    "dev",
}
_RHO = {"rho", "rhoa", "rhoapp", "rhoaapp", "appres", "app", "res", "resistivity", "apparent"}
_PHASE = {"phase", "phs", "phi"}
_FILLER = {"a", "used", "of", "the", "value", "values", "data", "obs", "observed", "measured"}
_UNITS = {
    "ohmm": "ohmm",
    "%": "%",
    "pct": "%",
    "percent": "%",
    "perc": "%",
    "rel": "fraction",
    "relative": "fraction",
    "frac": "fraction",
    "fraction": "fraction",
    "log10": "log10",
    "log": "log10",
    "lg": "log10",
    "dex": "log10",
    "deg": "deg",
    "degree": "deg",
    "degrees": "deg",
    "rad": "rad",
    "abs": None,
    "absolute": None,
}


def words(header: str) -> list[str]:
    """Lower-case words of ``header``: ``"SD rho (Ω·m)"`` → ``["sd", "rho", "ohmm"]``."""
    text = header.lower().replace("ω", "ohm").replace("°", " deg ")
    text = re.sub(r"ohm[\s.·*_\-]*m\b", " ohmm ", text)
    text = re.sub(r"log[\s_\-]*10", " log10 ", text)
    return re.findall(r"log10|%|[a-z]+", text)


def classify(header: str) -> tuple[str, str | None] | None:
    """``(quantity key, unit)`` for an error or log10 header, or None when any word is unknown
    or the header names neither an error nor a log10 apparent resistivity."""
    found = words(header)
    if not found or any(
        w not in _ERROR | _RHO | _PHASE | _FILLER and w not in _UNITS for w in found
    ):
        return None
    units = {_UNITS[w] for w in found if _UNITS.get(w) is not None}
    is_error = any(w in _ERROR for w in found) or units == {"fraction"}
    is_phase = any(w in _PHASE for w in found)
    if units == {"fraction", "%"}:
        units = {"%"}  # "rel err (%)": a relative error in percent
    if len(units) > 1:
        return None
    unit = next(iter(units), None)
    if is_phase:
        return ("phase_err", unit) if is_error and unit in (None, "deg", "rad") else None
    if is_error:
        return "rho_err", unit
    if unit == "log10" and any(w in _RHO for w in found):
        return "rho_a", "log10"
    return None
