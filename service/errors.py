"""One JSON error shape for every failure: ``{"error": {"code", "message", "details"}}``.

Bad input is answered with 400/401/404/409/413/422; anything unexpected is logged and answered
with a plain 500 that carries no details (never a stack trace).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from inversion import InversionInputError
from service.registry import Conflict, InvalidAlias, NotFound, RegistryError
from service.training_spec import SpecError

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "too_many_requests",
}


# The registry's own errors as (status, code); a subclass not listed is a 500.
REGISTRY_ERRORS: dict[type[RegistryError], tuple[int, str]] = {
    NotFound: (404, "not_found"),
    InvalidAlias: (400, "invalid_request"),
    Conflict: (409, "conflict"),
}


class ApiError(Exception):
    """An error answered with ``status`` and the JSON error shape."""

    def __init__(
        self, status: int, code: str, message: str, details: list[Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []


#: an error answer stays small whatever the request: its message is cut to this many characters
#: and its details to this many entries
MAX_MESSAGE_CHARS = 500
MAX_DETAILS = 20


def shorten(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text`` cut to ``limit`` characters (with ``…`` where cut)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_response(
    status: int, code: str, message: str, details: list[Any] | None = None
) -> tuple[Response, int]:
    """Build the JSON error response (message and details bounded, see :data:`MAX_DETAILS`)."""
    details = list(details or [])[:MAX_DETAILS]
    for item in details:
        if isinstance(item, dict):
            for key, value in item.items():
                if isinstance(value, str):
                    item[key] = shorten(value, 200)
    body = {"error": {"code": code, "message": shorten(message), "details": details}}
    return jsonify(body), status


def validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    """Pydantic errors as ``[{"field": "a.b[0]", "message": …, "type": …}]`` (JSON-safe)."""
    details = []
    for err in exc.errors(include_url=False, include_context=False, include_input=False):
        field = ""
        for part in err.get("loc", ()):
            field += f"[{part}]" if isinstance(part, int) else (f".{part}" if field else str(part))
        details.append({"field": field or "body", "message": err["msg"], "type": err["type"]})
    return details


def _validation_message(details: list[dict[str, Any]]) -> str:
    first = details[0] if details else {"field": "body", "message": "invalid"}
    more = f" (and {len(details) - 1} more)" if len(details) > 1 else ""
    return f"{first['field']}: {first['message']}{more}"


def _refuse_nul_characters() -> None:
    """400 for a NUL character in the path or the query (PostgreSQL cannot store or compare
    text holding one; nothing in the API needs it)."""
    from flask import request

    if "\x00" in request.path:
        raise ApiError(400, "invalid_request", "path: NUL characters are not allowed")
    for key, value in request.args.items(multi=True):
        if "\x00" in key or "\x00" in value:
            raise ApiError(400, "invalid_request", "query: NUL characters are not allowed")


def register_error_handlers(app: Flask) -> None:
    """Install the handlers for API errors, HTTP errors, validation errors and the last resort
    (and the check that refuses NUL characters in paths and queries)."""
    app.before_request(_refuse_nul_characters)

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> tuple[Response, int]:
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @app.errorhandler(SpecError)
    def _spec_error(exc: SpecError) -> tuple[Response, int]:
        return error_response(400, "invalid_request", str(exc))

    @app.errorhandler(RegistryError)
    def _registry_error(exc: RegistryError) -> tuple[Response, int]:
        for cls in type(exc).__mro__:
            if cls in REGISTRY_ERRORS:
                status, code = REGISTRY_ERRORS[cls]
                return error_response(status, code, str(exc))
        return _unexpected(exc)

    @app.errorhandler(ValidationError)
    def _validation_error(exc: ValidationError) -> tuple[Response, int]:
        details = validation_details(exc)
        return error_response(400, "invalid_request", _validation_message(details), details)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> tuple[Response, int]:
        status = exc.code or 500
        code = HTTP_CODES.get(status, "http_error")
        message = exc.description or exc.name
        if status == 413:
            limit = app.config.get("MAX_CONTENT_LENGTH")
            message = f"request body larger than the limit of {limit} bytes"
        response, status = error_response(status, code, message)
        valid_methods = getattr(exc, "valid_methods", None)
        if status == 405 and valid_methods:
            response.headers["Allow"] = ", ".join(valid_methods)
        return response, status

    @app.errorhandler(InversionInputError)
    def _inversion_error(exc: InversionInputError) -> tuple[Response, int]:
        status = int(getattr(exc, "status", 400))
        field = getattr(exc, "field", None)
        code = "out_of_range" if status == 422 else "invalid_data"
        details = [{"field": field, "message": str(exc)}] if field else []
        return error_response(status, code, str(exc), details)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[Response, int]:
        log.exception("unhandled error while serving a request")
        return error_response(500, "internal_error", "internal server error")
