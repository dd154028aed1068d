"""``/api/v1/training-jobs``: submit (token), follow progress, list, cancel (token)."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, jsonify, request, url_for
from flask.typing import ResponseReturnValue
from kombu.exceptions import OperationalError as BrokerError
from sqlalchemy import select
from sqlalchemy.orm import Session

from service import schemas
from service.api.requests import int_arg, parse_body
from service.db import iso
from service.errors import ApiError
from service.extensions import get_celery, get_db
from service.jobs import create_job, request_cancel
from service.models import JOB_STATUSES, TrainingJob
from service.openapi import operation
from service.training_spec import check_training_spec
from worker.submit import revoke_job, submit_job

log = logging.getLogger(__name__)

bp = Blueprint("training_jobs", __name__, url_prefix="/api/v1/training-jobs")


def job_to_dict(job: TrainingJob) -> dict[str, Any]:
    """The public training-job resource."""
    progress = {"stage": job.stage, "fraction": 0.0, **(job.progress or {})}
    progress["fraction"] = float(progress.get("fraction") or 0.0)
    links = {"self": url_for("training_jobs.get_job", job_id=job.id)}
    if job.network_id:
        links["network"] = url_for("networks.get_network", ref=job.network_id)
    return {
        "id": job.id,
        "name": job.name,
        "status": job.status,
        "progress": progress,
        "network_id": job.network_id,
        "error": job.error,
        "attempts": job.attempts,
        "retry_reasons": list(job.retry_reasons or []),
        "spec": job.spec,
        "schedule_id": job.schedule_id,
        "created_at": iso(job.created_at),
        "started_at": iso(job.started_at),
        "finished_at": iso(job.finished_at),
        "links": links,
    }


def submit_new_job(spec: dict, schedule_id: str | None = None) -> TrainingJob:
    """Insert the job, commit, then send its tasks; a broker failure fails the job (503)."""
    with get_db().session() as session:
        job = create_job(session, spec, schedule_id=schedule_id)
    celery = get_celery()
    try:
        submit_job(celery, celery.geobp_store, job.id)
    except (BrokerError, OSError) as exc:
        celery.geobp_store.mark_failed(job.id, f"could not reach the broker: {exc}")
        raise ApiError(503, "broker_unavailable", "the task broker is unreachable") from exc
    return job


def _get_job(session: Session, job_id: str) -> TrainingJob:
    job = session.get(TrainingJob, job_id)
    if job is None:
        raise ApiError(404, "not_found", f"no training job {job_id!r}")
    return job


@operation(
    bp,
    "",
    "POST",
    summary="Submit a training job",
    tag="training jobs",
    body=schemas.TrainingJobCreate,
    response=schemas.TrainingJob,
    status=202,
    auth=True,
    errors=(400, 503),
)
def create_training_job() -> ResponseReturnValue:
    """Submit a training job."""
    spec = check_training_spec(parse_body(schemas.TrainingJobCreate))
    job = submit_new_job(spec)
    with get_db().session() as session:
        body = job_to_dict(_get_job(session, job.id))
    return jsonify(body), 202, {"Location": body["links"]["self"]}


@operation(
    bp,
    "",
    "GET",
    summary="List training jobs (newest first)",
    tag="training jobs",
    response=schemas.TrainingJobList,
    errors=(400,),
    query=(
        ("status", "string", "only jobs in this status"),
        ("name", "string", "only jobs of this name"),
        ("limit", "integer", "at most this many (default 100, ≤ 1000)"),
    ),
)
def list_training_jobs() -> ResponseReturnValue:
    """List training jobs, newest first."""
    status = request.args.get("status")
    if status is not None and status not in JOB_STATUSES:
        raise ApiError(400, "invalid_request", f"status: one of {list(JOB_STATUSES)}")
    limit = int_arg("limit", 100, 1, 1000)
    query = select(TrainingJob).order_by(TrainingJob.created_at.desc()).limit(limit)
    if status:
        query = query.where(TrainingJob.status == status)
    if request.args.get("name"):
        query = query.where(TrainingJob.name == request.args["name"])
    with get_db().session() as session:
        items = [job_to_dict(job) for job in session.scalars(query)]
    return jsonify({"items": items})


@operation(
    bp,
    "/<job_id>",
    "GET",
    summary="A training job with its progress",
    tag="training jobs",
    response=schemas.TrainingJob,
    errors=(404,),
)
def get_job(job_id: str) -> ResponseReturnValue:
    """A training job with its progress."""
    with get_db().session() as session:
        return jsonify(job_to_dict(_get_job(session, job_id)))


@operation(
    bp,
    "/<job_id>",
    "DELETE",
    summary="Cancel a training job",
    tag="training jobs",
    response=schemas.TrainingJob,
    auth=True,
    status=202,
    errors=(404, 409),
)
def cancel_job(job_id: str) -> ResponseReturnValue:
    """Cancel a training job."""
    with get_db().session() as session:
        job = _get_job(session, job_id)
        if not request_cancel(job):
            raise ApiError(409, "conflict", f"training job {job_id} already {job.status}")
        task_ids = list(job.task_ids or [])
    try:
        revoke_job(get_celery(), task_ids)
    except (BrokerError, OSError):  # the cooperative flag still stops it between epochs
        log.warning("could not broadcast revoke for job %s", job_id)
    with get_db().session() as session:
        return jsonify(job_to_dict(_get_job(session, job_id))), 202
