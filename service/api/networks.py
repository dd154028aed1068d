"""``/api/v1/networks``: the registry (list, detail, alias, delete) and inversion."""

from __future__ import annotations

import functools
import json
import logging
import time
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session

from service import registry, schemas
from service.api.requests import int_arg, parse_body
from service.errors import ApiError, shorten
from service.extensions import get_batcher, get_db, get_inverters, get_resolved
from service.models import Network
from service.openapi import operation

log = logging.getLogger(__name__)

bp = Blueprint("networks", __name__, url_prefix="/api/v1/networks")

LIST_LIMIT = 200
MAX_LIST_LIMIT = 1000
#: soundings per request when each is refined (about 2 ms of CPU each); without refinement the
#: schema's 20,000 apply
MAX_REFINED_SOUNDINGS = 2000

REF_QUERY = (
    ("alias", "string", "with a name: which alias (production, latest)"),
    ("version", "integer", "with a name: which version"),
)


def _ref_args() -> tuple[str | None, int | None]:
    alias = request.args.get("alias") or None
    raw = request.args.get("version")
    if raw is not None and not registry.is_version_text(raw):
        raise ApiError(
            400,
            "invalid_request",
            f"version: must be an integer in [1, {registry.MAX_VERSION}], got {shorten(raw, 40)!r}",
        )
    return alias, int(raw) if raw is not None else None


def _check_layout(forward_model: Any, observations: list[dict], batch: bool) -> None:
    """400 when a sounding carries fields that the network's forward model does not use (e.g.
    ``phase_deg`` for a VES network), instead of silently ignoring them."""
    allowed = {forward_model.axis_name, "rho_a_ohmm", "rho_a_error_percent"}
    if "mn2_m" in type(forward_model).geometry_fields:
        allowed.add("mn2_m")
    if "phase" in tuple(forward_model.data_kinds):
        allowed |= {"phase_deg", "phase_error_deg"}
    for index, obs in enumerate(observations):
        extra = sorted(set(obs) - allowed)
        if extra:
            where = f"soundings[{index}]" if batch else "data"
            raise ApiError(
                400,
                "invalid_data",
                f"{where}.{extra[0]}: not used by a {forward_model.name!r} network "
                f"(expected {sorted(allowed)})",
                [{"field": f"{where}.{name}", "message": "unexpected field"} for name in extra],
            )


def _describe(session: Session, net: Network) -> dict:
    return registry.network_to_dict(net, registry.aliases_of(session, [net.id])[net.id])


@operation(
    bp,
    "",
    "GET",
    summary="List registered networks",
    tag="networks",
    response=schemas.NetworkList,
    errors=(400,),
    query=(
        ("name", "string", "only this name"),
        ("limit", "integer", f"at most this many (default {LIST_LIMIT}, ≤ {MAX_LIST_LIMIT})"),
        ("offset", "integer", "skip this many (next_offset of the previous page)"),
    ),
)
def list_networks() -> ResponseReturnValue:
    """List registered networks (by name, newest version first), a page at a time; each entry
    carries the scalar metrics only (the network's own resource has them all)."""
    limit = int_arg("limit", LIST_LIMIT, 1, MAX_LIST_LIMIT)
    offset = int_arg("offset", 0, 0, 2**31 - 1)
    query = select(Network).order_by(Network.name, Network.version.desc(), Network.id)
    if request.args.get("name"):
        query = query.where(Network.name == request.args["name"])
    with get_db().session() as session:
        nets = list(session.scalars(query.offset(offset).limit(limit + 1)))
        more, nets = len(nets) > limit, nets[:limit]
        aliases = registry.aliases_of(session, [n.id for n in nets])
        items = [registry.network_to_dict(n, aliases[n.id], summary=True) for n in nets]
    return jsonify({"items": items, "next_offset": offset + limit if more else None})


@operation(
    bp,
    "/<ref>",
    "GET",
    summary="One network by id, or by name (production, else latest)",
    tag="networks",
    response=schemas.NetworkResource,
    errors=(400, 404),
    query=REF_QUERY,
)
def get_network(ref: str) -> ResponseReturnValue:
    """One network by id, or by name (production, else latest)."""
    alias, version = _ref_args()
    with get_db().session() as session:
        return jsonify(_describe(session, registry.resolve(session, ref, alias, version)))


@operation(
    bp,
    "/<ref>/invert",
    "POST",
    summary="Invert one sounding ({data}) or many ({soundings})",
    tag="networks",
    body=schemas.InvertRequest,
    response=schemas.InversionResult,
    errors=(400, 404, 409, 422),
    query=REF_QUERY,
)
def invert(ref: str) -> ResponseReturnValue:
    """Invert one sounding ({data}) or many ({soundings})."""
    start = time.perf_counter()
    with get_batcher().arrival() as arrival:
        alias, version = _ref_args()
        body = parse_body(schemas.InvertRequest)
        info, path, sha256 = _resolve_cached(ref, alias, version)
        inverter = get_inverters().get(info["id"], path, sha256)
        options: dict[str, Any] = {"refine": body.refine}
        if body.fixed is not None:
            options["fixed"] = body.fixed
        if body.noise_floor is not None:
            options["noise_floor"] = body.noise_floor
        if body.smooth:
            options["smooth"] = True
        invert_many = functools.partial(inverter.invert, **options)
        if body.soundings is None:
            observation = body.data.model_dump(exclude_none=True)
            _check_layout(inverter.forward_model, [observation], batch=False)
            batch_key = (info["id"], sha256, json.dumps(options, sort_keys=True))
            result = arrival.invert(batch_key, observation, invert_many)
            result["network"] = dict(info)
            result["elapsed_ms"] = round((time.perf_counter() - start) * 1000, 3)
            return jsonify(result)
        arrival.leave()
    if body.refine and len(body.soundings) > MAX_REFINED_SOUNDINGS:
        raise ApiError(
            400,
            "too_large",
            f"soundings: {len(body.soundings)} with refine=true, above the limit of "
            f"{MAX_REFINED_SOUNDINGS} per request; send fewer, or refine=false (up to 20000)",
        )
    observations = body.observations()
    _check_layout(inverter.forward_model, observations, batch=True)
    results = invert_many(observations)
    for result in results:
        result["network"] = dict(info)
    elapsed_ms = round((time.perf_counter() - start) * 1000, 3)
    return jsonify({"items": results, "elapsed_ms": elapsed_ms})


def _resolve_cached(
    ref: str, alias: str | None, version: int | None
) -> tuple[dict[str, Any], str, str]:
    """``({id, name, version}, artifact path, artifact SHA-256)`` of a reference, from the
    per-process cache of resolutions (the database at most every ``TTLCache.ttl_s``)."""
    key = (ref, alias, version)
    resolved = get_resolved().get(key)
    if resolved is None:
        with get_db().session() as session:
            net = registry.resolve(session, ref, alias, version)
            if (net.forward_model or {}).get("served"):
                raise ApiError(
                    409,
                    "served_network",
                    f"network {net.name} v{net.version} is a served network: invert with "
                    "POST /api/v1/invert (no network named)",
                )
            info = {"id": net.id, "name": net.name, "version": net.version}
            path = current_app.extensions["geobp_artifacts"].locate(net.artifact_path)
            resolved = (info, str(path), net.artifact_sha256)
        get_resolved().put(key, resolved)
    return resolved


@operation(
    bp,
    "/<ref>/aliases",
    "POST",
    summary="Point an alias (production) at this network",
    tag="networks",
    body=schemas.AliasRequest,
    response=schemas.NetworkResource,
    auth=True,
    errors=(400, 404),
    query=REF_QUERY,
)
def set_alias(ref: str) -> ResponseReturnValue:
    """Point an alias (production) at this network."""
    body = parse_body(schemas.AliasRequest)
    alias, version = _ref_args()
    with get_db().session() as session:
        net = registry.resolve_for_update(session, ref, alias, version)
        registry.set_alias(session, net, body.alias)
        session.flush()
        get_resolved().clear()
        return jsonify(_describe(session, net))


@operation(
    bp,
    "/<ref>",
    "DELETE",
    summary="Delete a network (aliases move to the newest left)",
    tag="networks",
    auth=True,
    status=204,
    errors=(404,),
    query=REF_QUERY,
)
def delete_network(ref: str) -> ResponseReturnValue:
    """Delete a network (aliases move to the newest left)."""
    alias, version = _ref_args()
    with get_db().session() as session:
        net = registry.resolve_for_update(session, ref, alias, version)
        network_id = net.id
        path = registry.delete_network(session, net)
    get_inverters().drop(network_id)
    get_resolved().clear()
    current_app.extensions["geobp_artifacts"].locate(path).unlink(missing_ok=True)
    return "", 204
