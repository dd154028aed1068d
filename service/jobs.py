"""Training-job lifecycle: create and cancel (SQL only). The HTTP resource, ``job_to_dict``, is in
``service.api.training_jobs``, so the worker side (``jobstore``, ``schedules``) loads no Flask."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy.orm import Session

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
