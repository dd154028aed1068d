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

#: bounds on one ``/forward`` request (docs/api.md): layers, values per geometry list, and
#: models × data values computed (the size of the answer)
MAX_LAYERS = 20
MAX_GEOMETRY_VALUES = 1000
MAX_OUTPUT_VALUES = 1_000_000

#: example abscissae used to describe each model (log-spaced, typical field ranges)
EXAMPLE_AXES: dict[str, list[float]] = {
    "ab2_m": [round(float(x), 3) for x in np.logspace(0, 2.5, 16)],
    "a_m": [round(float(x), 3) for x in np.logspace(0, 2.3, 12)],
    "periods_s": [float(x) for x in np.logspace(-3, 3, 13)],
    "times_s": [float(x) for x in np.logspace(-5, -2, 13)],
}
#: further geometry the example needs (TEM: the loop)
EXAMPLE_GEOMETRY: dict[str, dict[str, Any]] = {
    "tem-central-loop": {"loop_radius_m": 20.0},
    "tem-coincident-loop": {"loop_side_m": 40.0},
}


def describe(name: str) -> dict[str, Any]:
    """A forward model's parameters, geometry fields, data layout and an example config."""
    cls = fm_registry.get_class(name)
    example = {"n_layers": 3}
    if cls.axis_name in EXAMPLE_AXES:
        example[cls.axis_name] = EXAMPLE_AXES[cls.axis_name]
    example.update(EXAMPLE_GEOMETRY.get(name, {}))
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


def _check_config_size(config: dict[str, Any]) -> None:
    """400 when ``config`` asks for more than one request may: ``n_layers`` above
    :data:`MAX_LAYERS`, a geometry list longer than :data:`MAX_GEOMETRY_VALUES`."""
    n_layers = config.get("n_layers", 3)
    if isinstance(n_layers, int) and not isinstance(n_layers, bool) and n_layers > MAX_LAYERS:
        raise ApiError(
            400, "too_large", f"config.n_layers: {n_layers} is above the limit of {MAX_LAYERS}"
        )
    for key, value in config.items():
        if isinstance(value, list) and len(value) > MAX_GEOMETRY_VALUES:
            raise ApiError(
                400,
                "too_large",
                f"config.{key}: {len(value)} values, above the limit of {MAX_GEOMETRY_VALUES}",
            )


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
    _check_config_size(body.config)
    try:
        fm = forward_models.create(name, **body.config)
    except (TypeError, ValueError) as exc:
        raise ApiError(400, "invalid_request", f"config: {exc}") from exc
    n_values = len(body.models) * fm.n_data
    if n_values > MAX_OUTPUT_VALUES:
        raise ApiError(
            400,
            "too_large",
            f"models × data: {len(body.models)} × {fm.n_data} = {n_values} values, above the "
            f"limit of {MAX_OUTPUT_VALUES} per request; send fewer models per request",
        )
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
        with np.errstate(over="ignore", invalid="ignore"):  # non-finite results refused below
            data = np.asarray(fm.forward(models), dtype=float)
    except ValueError as exc:
        raise ApiError(400, "invalid_request", f"models: {exc}") from exc
    if not np.all(np.isfinite(data)):
        row = int(np.argwhere(~np.isfinite(data))[0][0])
        raise ApiError(
            422,
            "out_of_range",
            f"models[{row}]: the forward model gives non-finite data (values too large or small)",
        )
    return jsonify(
        {
            "data": data.tolist(),
            "data_names": list(fm.data_names),
            "parameter_names": list(fm.parameter_names),
        }
    )
