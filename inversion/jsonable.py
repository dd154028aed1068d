"""Plain JSON values from what the inversion and training produce: one policy for every writer
(result files, the command line's records, the registry's metrics, the dashboard's uploads)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np


def jsonable(value: Any) -> Any:
    """``value`` in plain JSON types.

    Mappings become dicts (keys as text), lists and tuples become lists, NumPy arrays and scalars
    become Python lists and numbers, and NaN and ±infinity (Python or NumPy) become ``None`` (JSON
    has no such numbers). Anything else is returned as it is.
    """
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray | np.generic):
        return jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
