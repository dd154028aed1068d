"""Reading JSON request bodies strictly (no NaN/Infinity, objects only) into pydantic models."""

from __future__ import annotations

import json
from typing import TypeVar

from flask import request
from pydantic import BaseModel

from service.errors import ApiError

M = TypeVar("M", bound=BaseModel)


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not allowed in JSON bodies")


def json_body() -> dict:
    """The request body parsed as a JSON object; 400 ``invalid_json`` otherwise, 413 if too big."""
    raw = request.get_data(cache=True)  # raises 413 beyond MAX_CONTENT_LENGTH
    if not raw.strip():
        raise ApiError(400, "invalid_json", "request body is empty; expected a JSON object")
    try:
        body = json.loads(raw, parse_constant=_reject_constant)
    except UnicodeDecodeError as exc:
        raise ApiError(400, "invalid_json", "request body is not UTF-8 text") from exc
    except RecursionError as exc:
        raise ApiError(400, "invalid_json", "request body is nested too deeply") from exc
    except ValueError as exc:
        raise ApiError(400, "invalid_json", f"request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ApiError(
            400, "invalid_json", f"request body must be a JSON object, got {type(body).__name__}"
        )
    return body


def int_arg(name: str, default: int, low: int, high: int) -> int:
    """The query argument ``name`` as an integer in ``[low, high]`` (``default`` when absent);
    400 naming it otherwise (ASCII digits only: ``str.isdigit`` also accepts ``²``)."""
    raw = request.args.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise ApiError(400, "invalid_request", f"{name}: an integer in [{low}, {high}]")
    return int(raw)


def parse_body(model: type[M]) -> M:
    """Validate the JSON body against ``model`` (pydantic errors become 400 by the handler)."""
    return model.model_validate(json_body())
