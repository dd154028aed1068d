"""Bearer-token authentication for write endpoints."""

from __future__ import annotations

import functools
import hmac
from collections.abc import Callable
from typing import Any

from flask import current_app, request

from service.errors import ApiError


def check_token() -> None:
    """Raise a 401 :class:`ApiError` unless ``Authorization: Bearer <token>`` matches."""
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if not header:
        raise ApiError(401, "unauthorized", "missing Authorization header (Bearer token)")
    if scheme.lower() != "bearer" or not given.strip():
        raise ApiError(401, "unauthorized", "Authorization header must be 'Bearer <token>'")
    expected = current_app.config["GEOBP"].api_token
    if not hmac.compare_digest(given.strip().encode("utf-8"), expected.encode("utf-8")):
        raise ApiError(401, "unauthorized", "invalid token")


def token_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator: the view runs only with a valid bearer token."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        check_token()
        return view(*args, **kwargs)

    wrapped.requires_token = True  # read by the OpenAPI builder
    return wrapped
