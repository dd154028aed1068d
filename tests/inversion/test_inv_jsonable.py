"""``inversion.jsonable``: one policy for NaN, infinities and NumPy values in every JSON writer."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from inversion.formats import format_result_json
from inversion.jsonable import jsonable


@pytest.mark.parametrize(
    "value", [math.nan, math.inf, -math.inf, np.float64("nan"), np.float32("inf"), -np.inf]
)
def test_nan_and_infinities_become_none(value) -> None:
    assert jsonable(value) is None
    assert jsonable([1.0, value]) == [1.0, None]


def test_numpy_scalars_and_arrays_become_python() -> None:
    out = jsonable(
        {
            "i": np.int64(3),
            "f": np.float32(0.5),
            "b": np.bool_(True),
            "a": np.array([[1.0, np.nan], [np.inf, 2.0]]),
            "t": (np.int32(1), "x"),
        }
    )
    assert out == {"i": 3, "f": 0.5, "b": True, "a": [[1.0, None], [None, 2.0]], "t": [1, "x"]}
    assert type(out["i"]) is int and type(out["f"]) is float and type(out["b"]) is bool
    json.dumps(out, allow_nan=False)


def test_keys_become_text_and_other_values_stay() -> None:
    assert jsonable({1: None, "s": "text", "n": 2, "ok": False}) == {
        "1": None,
        "s": "text",
        "n": 2,
        "ok": False,
    }


def test_result_json_uses_the_same_policy() -> None:
    text = format_result_json({"misfit": {"chi": np.float64(np.inf), "rms": np.nan}})
    assert json.loads(text) == {"misfit": {"chi": None, "rms": None}}
