"""The OpenAPI 3 document, generated from the pydantic schemas and the routes that declare them.

Views are registered with :func:`operation`, which adds the Flask URL rule AND records the
request/response models, so the schemas are declared exactly once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint
from pydantic import BaseModel

from service import schemas
from service.auth import token_required

API_PREFIX = "/api/v1"


@dataclass(frozen=True)
class Operation:
    """One documented endpoint."""

    path: str
    method: str
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    auth: bool = False
    query: tuple[tuple[str, str, str], ...] = ()  # (name, type, description)
    errors: tuple[int, ...] = field(default=(400, 404))


OPERATIONS: list[Operation] = []


def operation(
    blueprint: Blueprint,
    rule: str,
    method: str,
    *,
    summary: str,
    tag: str,
    body: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    status: int = 200,
    auth: bool = False,
    query: tuple[tuple[str, str, str], ...] = (),
    errors: tuple[int, ...] = (400, 404),
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: add ``rule`` to ``blueprint`` and document it in the OpenAPI document."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        wrapped = token_required(view) if auth else view
        blueprint.add_url_rule(
            rule, endpoint=view.__name__, view_func=wrapped, methods=[method.upper()]
        )
        path = (blueprint.url_prefix or API_PREFIX) + rule
        path = re.sub(r"<(?:[a-z]+:)?([a-zA-Z_]+)>", r"{\1}", path)
        op = Operation(
            path.rstrip("/") or "/",
            method.lower(),
            summary,
            tag,
            body,
            response,
            status,
            auth,
            query,
            errors,
        )
        if op not in OPERATIONS:
            OPERATIONS.append(op)
        return wrapped

    return decorate


def _schema_ref(model: type[BaseModel], components: dict[str, Any]) -> dict[str, str]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        components[name] = sub
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def build_document(version: str) -> dict[str, Any]:
    """Return the OpenAPI 3.1 document of every registered operation."""
    components: dict[str, Any] = {}
    error_ref = _schema_ref(schemas.Error, components)
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        item: dict[str, Any] = {
            "summary": op.summary,
            "tags": [op.tag],
            "operationId": f"{op.method}_{re.sub(r'[^a-zA-Z0-9]+', '_', op.path).strip('_')}",
            "responses": {},
        }
        params = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in re.findall(r"{([a-zA-Z_]+)}", op.path)
        ]
        params += [
            {
                "name": name,
                "in": "query",
                "required": False,
                "schema": {"type": kind},
                "description": text,
            }
            for name, kind, text in op.query
        ]
        if params:
            item["parameters"] = params
        if op.body is not None:
            item["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": _schema_ref(op.body, components)}},
            }
        ok: dict[str, Any] = {"description": "success"}
        if op.response is not None:
            ok["content"] = {"application/json": {"schema": _schema_ref(op.response, components)}}
        item["responses"][str(op.status)] = ok
        codes = set(op.errors) | ({401} if op.auth else set()) | ({400, 413} if op.body else set())
        for code in sorted(codes):
            item["responses"][str(code)] = {
                "description": "error",
                "content": {"application/json": {"schema": error_ref}},
            }
        if op.auth:
            item["security"] = [{"bearerAuth": []}]
        paths.setdefault(op.path, {})[op.method] = item
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "geobp API",
            "version": version,
            "description": "Geophysical inversion with three-layer back-propagation networks: "
            "forward models, training jobs, a registry of networks, inversion and schedules.",
        },
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(components.items())),
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
    }
