"""``/api/v1/schedules``: scheduled retraining (cron, UTC): list, create and delete (token)."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from service import schemas
from service.api.requests import parse_body
from service.db import iso
from service.errors import ApiError
from service.extensions import get_db
from service.models import Network, Schedule, utcnow
from service.openapi import operation
from service.schedules import SERVED_RETRAIN, next_run, validate_cron
from service.served_registry import check_served_retrain
from service.training_spec import check_training_spec

bp = Blueprint("schedules", __name__, url_prefix="/api/v1/schedules")


def schedule_to_dict(schedule: Schedule) -> dict:
    """The public schedule resource."""
    return {
        "id": schedule.id,
        "name": schedule.name,
        "cron": schedule.cron,
        "spec": schedule.spec,
        "enabled": schedule.enabled,
        "next_run_at": iso(schedule.next_run_at),
        "last_run_at": iso(schedule.last_run_at),
        "last_job_id": schedule.last_job_id,
        "created_at": iso(schedule.created_at),
    }


@operation(
    bp,
    "",
    "GET",
    summary="List schedules",
    tag="schedules",
    response=schemas.ScheduleList,
    errors=(),
)
def list_schedules() -> ResponseReturnValue:
    """List schedules."""
    with get_db().session() as session:
        rows = session.scalars(select(Schedule).order_by(Schedule.created_at))
        return jsonify({"items": [schedule_to_dict(row) for row in rows]})


@operation(
    bp,
    "",
    "POST",
    summary="Create a retraining schedule",
    tag="schedules",
    body=schemas.ScheduleCreate,
    response=schemas.ScheduleResource,
    status=201,
    auth=True,
    errors=(400, 404),
)
def create_schedule() -> ResponseReturnValue:
    """Create a retraining schedule."""
    body = parse_body(schemas.ScheduleCreate)
    try:
        cron = validate_cron(body.cron)
    except ValueError as exc:
        raise ApiError(400, "invalid_request", str(exc)) from exc
    with get_db().session() as session:
        if body.spec is not None:
            spec = check_training_spec(body.spec)
        elif body.served is not None:
            try:
                spec = {SERVED_RETRAIN: check_served_retrain(body.served.model_dump())}
            except ValueError as exc:
                raise ApiError(400, "invalid_request", str(exc)) from exc
        else:
            fm = session.scalar(
                select(Network.forward_model).where(Network.name == body.network).limit(1)
            )
            if fm is None:
                raise ApiError(404, "not_found", f"network: no network named {body.network!r}")
            if fm.get("served"):
                raise ApiError(
                    400,
                    "invalid_request",
                    f"network: {body.network!r} is a served network; schedule its retraining "
                    "with 'served': {method, n_layers, settings} (champion/challenger)",
                )
            spec = {"retrain_network": body.network}
        now = utcnow()
        schedule = Schedule(
            name=body.name,
            cron=cron,
            spec=spec,
            enabled=body.enabled,
            next_run_at=next_run(cron, now),
            created_at=now,
        )
        session.add(schedule)
        session.flush()
        out = schedule_to_dict(schedule)
    return jsonify(out), 201


@operation(
    bp,
    "/<schedule_id>",
    "GET",
    summary="One schedule",
    tag="schedules",
    response=schemas.ScheduleResource,
    errors=(404,),
)
def get_schedule(schedule_id: str) -> ResponseReturnValue:
    """One schedule."""
    with get_db().session() as session:
        schedule = session.get(Schedule, schedule_id)
        if schedule is None:
            raise ApiError(404, "not_found", f"no schedule {schedule_id!r}")
        return jsonify(schedule_to_dict(schedule))


@operation(
    bp,
    "/<schedule_id>",
    "DELETE",
    summary="Delete a schedule",
    tag="schedules",
    auth=True,
    status=204,
    errors=(404,),
)
def delete_schedule(schedule_id: str) -> ResponseReturnValue:
    """Delete a schedule."""
    with get_db().session() as session:
        schedule = session.get(Schedule, schedule_id)
        if schedule is None:
            raise ApiError(404, "not_found", f"no schedule {schedule_id!r}")
        session.delete(schedule)
    return "", 204
