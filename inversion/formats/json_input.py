"""Read soundings from JSON in the REST API's request layout.

Accepted documents: one observation dict (``{"ab2_m": [...], "rho_a_ohmm": [...], …}``), the
invert request bodies ``{"data": {…}}`` and ``{"soundings": [{…}, …]}``, or a list of observation
dicts. A sounding may carry an ``"id"`` (string); otherwise soundings are numbered from 1 (a single
one takes the file's stem). The values themselves are checked by the inversion, which names the
field; this reader checks the structure and reports JSON syntax errors with line and column.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from inversion.formats.errors import FormatError

_AXES = ("ab2_m", "a_m", "periods_s")


def _observations(document: Any, path: Path) -> list[Any]:
    if isinstance(document, list):
        return document
    if isinstance(document, Mapping):
        if "soundings" in document:
            soundings = document["soundings"]
            if not isinstance(soundings, list):
                raise FormatError("'soundings' must be a list", path=path, field="soundings")
            return soundings
        if "data" in document:
            return [document["data"]]
        return [document]
    raise FormatError(f"expected a JSON object or list, got {type(document).__name__}", path=path)


def read_json_soundings(path: str | Path) -> dict[str, dict[str, Any]]:
    """``{sounding_id: observation dict}`` from a JSON file (layouts in the module docstring)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8-sig")
    if not text.strip():
        raise FormatError("the file is empty", path=path)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormatError(
            f"invalid JSON at column {exc.colno}: {exc.msg}", path=path, line=exc.lineno
        ) from None
    observations = _observations(document, path)
    if not observations:
        raise FormatError("no soundings", path=path, field="soundings")
    soundings: dict[str, dict[str, Any]] = {}
    for index, observation in enumerate(observations):
        field = f"soundings[{index}]"
        if not isinstance(observation, Mapping):
            raise FormatError("each sounding must be a JSON object", path=path, field=field)
        if not any(axis in observation for axis in _AXES):
            raise FormatError(
                "no ab2_m, a_m or periods_s: not an observation", path=path, field=field
            )
        body = {k: v for k, v in observation.items() if k != "id"}
        default = path.stem if len(observations) == 1 else str(index + 1)
        sounding_id = str(observation.get("id", default))
        if sounding_id in soundings:
            raise FormatError(f"sounding id {sounding_id!r} appears twice", path=path, field=field)
        soundings[sounding_id] = body
    return soundings
