"""``POST /api/v1/invert``: any served sounding, no network named.

The method comes from the data's fields; the served networks of that method (every layer count,
:class:`inversion.served.ServedSet`: the registry's ``production`` version of each
``served-<method>-<N>l``, else the file in ``GEOBP_ARTIFACT_DIR/served``) invert it and
choose the layer count. While a method's networks are not all there yet the answer is 503 with
``Retry-After`` and the list of methods that are ready.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Literal

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, ConfigDict, Field

from inversion.served import ServedSet
from service import schemas
from service.api.requests import parse_body
from service.errors import error_response
from service.extensions import get_db, get_settings
from service.openapi import operation
from service.served_registry import production_set
from worker.served import read_progress
from worker.served_upgrade import read_upgrade

bp = Blueprint("invert", __name__, url_prefix="/api/v1")

RETRY_AFTER_S = 30


class Window(BaseModel):
    """An abscissa window: ``min`` and/or ``max`` (m or s, positive)."""

    model_config = ConfigDict(extra="forbid")
    min: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    max: float | None = Field(default=None, gt=0, allow_inf_nan=False)


class ServedInvertRequest(schemas.SoundingsBody):
    """``data`` (one sounding) or ``soundings`` (many), with the served search's options."""

    soundings: list[schemas.Observation] | None = Field(default=None, min_length=1, max_length=50)
    noise_floor: dict[str, float] | None = Field(
        default=None, description="minimum errors, e.g. {rho_a_rel: 0.05, phase_deg: 1.5}"
    )
    start: dict[str, list[float]] | None = Field(
        default=None, description="a starting model {rho_ohmm: [...], thickness_m: [...]}"
    )
    max_layers: int | None = Field(default=None, ge=1, le=6, description="largest layer count")
    window: Window | None = Field(
        default=None,
        description="use only the data whose abscissa (AB/2 or a in m, period or gate time in "
        "s) lies in [min, max]; either may be left out; the result warns how many were dropped",
    )
    segment_shifts: Literal["auto", "always", "never"] = Field(
        default="auto",
        description="Schlumberger soundings with overlapping MN/2 segments: fit one level factor "
        "per segment (joined by overlaps to the segment with the most data) when BIC prefers "
        "it, always, or never",
    )


def served_set(directory: Path) -> ServedSet:
    """The served set: the registry's production served networks, then the files of
    ``directory`` for what the registry lacks (:func:`service.served_registry.production_set`)."""
    return production_set(get_db(), current_app.extensions["geobp_artifacts"], directory)


def _status(served: ServedSet, folder: Path) -> dict[str, Any]:
    """Which methods are served, which layer counts are missing, which network (registry id,
    name, version; a file only: its name) serves each layer count, the starter set's training
    progress and the physics-guided upgrade's (:mod:`worker.served_upgrade`)."""
    methods = {
        method: {
            "ready": ok,
            "missing_layers": served.missing(method),
            "networks": {
                str(n): served.info_of(method, n)
                for (m, n) in sorted(served.networks)
                if m == method
            },
        }
        for method, ok in served.ready().items()
    }
    return {"methods": methods, "training": read_progress(folder), "upgrade": read_upgrade(folder)}


@operation(bp, "/served", "GET", summary="Served networks: readiness and training", tag="networks")
def served_status() -> ResponseReturnValue:
    """Readiness of each method's served networks, the starter set's training progress and the
    upgrade's."""
    folder = get_settings().artifact_dir / "served"
    return jsonify(_status(served_set(folder), folder))


def _not_ready(served: ServedSet, methods: set[str]) -> ResponseReturnValue | None:
    """503 with Retry-After when a method of the request has no complete served set."""
    waiting = sorted(m for m in methods if served.missing(m))
    if not waiting:
        return None
    ready = sorted(m for m, ok in served.ready().items() if ok)
    details = [{"method": m, "missing_layers": served.missing(m)} for m in waiting]
    response, status = error_response(
        503,
        "not_ready",
        f"the served networks of {', '.join(waiting)} are still training; ready: "
        f"{', '.join(ready) or 'none'}",
        details,
    )
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response, status


@operation(
    bp,
    "/invert",
    "POST",
    summary="Invert with the served networks: method from the data, layer count chosen",
    tag="networks",
    body=ServedInvertRequest,
    response=schemas.InversionResult,
    errors=(400, 422, 503),
)
def invert_served() -> ResponseReturnValue:
    """Invert one sounding ({data}) or many ({soundings}) with the served networks."""
    t0 = time.perf_counter()
    body = parse_body(ServedInvertRequest)
    served = served_set(get_settings().artifact_dir / "served")
    window = None if body.window is None else (body.window.min, body.window.max)
    parsed = served.parse(body.observations(), body.noise_floor, window)
    refused = _not_ready(served, {p.spec.name for p in parsed})
    if refused is not None:
        return refused
    results = served.invert_parsed(
        parsed, start=body.start, max_layers=body.max_layers, segment_shifts=body.segment_shifts
    )
    elapsed_ms = round((time.perf_counter() - t0) * 1000, 3)
    if body.soundings is None:
        return jsonify({**results[0], "elapsed_ms": elapsed_ms})
    return jsonify({"items": results, "elapsed_ms": elapsed_ms})
