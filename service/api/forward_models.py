"""``/api/v1/forward-models``: list the forward models, run one forward computation."""

from __future__ import annotations

from typing import Any

import numpy as np
from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

import forward_models
from forward_models import registry as fm_registry
from service import schemas
from service.api.requests import parse_body
from service.errors import ApiError
from service.openapi import operation

bp = Blueprint("forward_models", __name__, url_prefix="/api/v1/forward-models")

#: example abscissae used to describe each model (log-spaced, typical field ranges)
EXAMPLE_AXES: dict[str, list[float]] = {
    "ab2_m": [round(float(x), 3) for x in np.logspace(0, 2.5, 16)],
    "a_m": [round(float(x), 3) for x in np.logspace(0, 2.3, 12)],
    "periods_s": [float(x) for x in np.logspace(-3, 3, 13)],
}


def describe(name: str) -> dict[str, Any]:
    """A forward model's parameters, geometry fields, data layout and an example config."""
    cls = fm_registry.get_class(name)
    example = {"n_layers": 3}
    if cls.axis_name in EXAMPLE_AXES:
        example[cls.axis_name] = EXAMPLE_AXES[cls.axis_name]
    fm = forward_models.create(name, **example)
    return {
        "name": name,
        "parameters": list(fm.parameter_names),
        "geometry_fields": list(cls.geometry_fields),
        "axis_name": cls.axis_name,
        "data_kinds": list(fm.data_kinds),
        "example": example,
    }


@operation(
    bp,
    "",
    "GET",
    summary="Forward models with parameters, geometry and data layout",
    tag="forward models",
    response=schemas.ForwardModelList,
    errors=(),
)
def list_forward_models() -> ResponseReturnValue:
    """Forward models with parameters, geometry and data layout."""
    return jsonify({"items": [describe(name) for name in forward_models.names()]})


@operation(
    bp,
    "/<name>/forward",
    "POST",
    summary="Compute synthetic data for models",
    tag="forward models",
    body=schemas.ForwardRequest,
    response=schemas.ForwardResponse,
    errors=(400, 404, 422),
)
def run_forward(name: str) -> ResponseReturnValue:
    """Compute synthetic data for models."""
    if name not in forward_models.names():
        raise ApiError(404, "not_found", f"no forward model {name!r}; see GET /forward-models")
    body = parse_body(schemas.ForwardRequest)
    if "name" in body.config:
        raise ApiError(400, "invalid_request", "config.name: give the name in the URL only")
    try:
        fm = forward_models.create(name, **body.config)
    except (TypeError, ValueError) as exc:
        raise ApiError(400, "invalid_request", f"config: {exc}") from exc
    widths = {len(row) for row in body.models}
    if widths != {fm.n_params}:
        bad = next(i for i, row in enumerate(body.models) if len(row) != fm.n_params)
        raise ApiError(
            400,
            "invalid_request",
            f"models[{bad}]: has {len(body.models[bad])} values, expected {fm.n_params} "
            f"({', '.join(fm.parameter_names)})",
        )
    models = np.asarray(body.models, dtype=float)
    if np.any(models <= 0):
        row, col = (int(v) for v in np.argwhere(models <= 0)[0])
        raise ApiError(400, "invalid_request", f"models[{row}][{col}]: must be positive")
    try:
        data = np.asarray(fm.forward(models), dtype=float)
    except ValueError as exc:
        raise ApiError(400, "invalid_request", f"models: {exc}") from exc
    return jsonify(
        {
            "data": data.tolist(),
            "data_names": list(fm.data_names),
            "parameter_names": list(fm.parameter_names),
        }
    )
