"""Training-job lifecycle on the API side: create, describe, cancel."""

from __future__ import annotations

import math
from typing import Any

from flask import url_for
from sqlalchemy.orm import Session

from service.db import iso
from service.models import TERMINAL_STATUSES, TrainingJob, utcnow

ROWS_PER_CHUNK = 10_000
MAX_CHUNKS = 32


def default_n_chunks(n_samples: int) -> int:
    """Dataset chunks for ``n_samples`` rows: one per 10,000 rows, at most 32."""
    return max(1, min(MAX_CHUNKS, math.ceil(n_samples / ROWS_PER_CHUNK)))


def create_job(
    session: Session, spec: dict[str, Any], schedule_id: str | None = None
) -> TrainingJob:
    """Insert a queued job for a validated, defaults-filled ``spec`` (flushes, no commit)."""
    n_chunks = spec.get("n_chunks") or default_n_chunks(int(spec["n_samples"]))
    job = TrainingJob(
        name=spec["name"],
        spec=spec,
        status="queued",
        stage="queued",
        progress={"stage": "queued", "fraction": 0.0},
        n_chunks=int(n_chunks),
        attempts=1,
        retry_reasons=[],
        cancel_requested=False,
        task_ids=[],
        schedule_id=schedule_id,
        created_at=utcnow(),
    )
    session.add(job)
    session.flush()
    return job


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


def request_cancel(job: TrainingJob) -> bool:
    """Flag the job for cancellation. Queued jobs end at once; running ones stop between epochs.

    Returns False when the job had already finished (nothing to cancel).
    """
    if job.status in TERMINAL_STATUSES:
        return False
    job.cancel_requested = True
    if job.status == "queued":
        job.status = "cancelled"
        job.finished_at = utcnow()
        job.progress = {**(job.progress or {}), "stage": "cancelled"}
    return True
