"""Sending a job's tasks: a group of dataset-chunk tasks, or the train task on resumption."""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery, group

from worker.queues import DEFAULT_QUEUE, GPU_QUEUE, TRAIN_QUEUE

log = logging.getLogger(__name__)


def train_queue(spec: dict[str, Any]) -> str:
    """``gpu`` when the spec asks for the GPU, else ``train``."""
    device = (spec.get("network") or {}).get("device", "auto")
    return GPU_QUEUE if device == "gpu" else TRAIN_QUEUE


def send_chunks(app: Celery, job_id: str, attempt: int, indices: list[int]) -> list[str]:
    """Send one ``geobp.generate_chunk`` per index as a group; the last chunk to finish sends
    ``geobp.train`` (the join is an atomic update in the database, so no result backend)."""
    signatures = [
        app.signature("geobp.generate_chunk", args=(job_id, attempt, index), queue=DEFAULT_QUEUE)
        for index in indices
    ]
    result = group(signatures, app=app).apply_async()
    return [child.id for child in result.results]


def send_train(app: Celery, job_id: str, attempt: int, spec: dict[str, Any]) -> str:
    """Send ``geobp.train`` for the job on its training queue."""
    result = app.send_task("geobp.train", args=(job_id, attempt), queue=train_queue(spec))
    return result.id


def submit_job(
    app: Celery, store: Any, job_id: str, attempt: int = 1, stage: str = "dataset"
) -> None:
    """Start (or resume at ``stage``) a job: missing chunks first, then training."""
    job = store.get_job(job_id)
    if job is None:
        raise ValueError(f"job_id: no training job {job_id!r}")
    missing = store.missing_chunks(job_id) if stage == "dataset" or stage == "train" else []
    if missing:
        task_ids = send_chunks(app, job_id, attempt, missing)
    else:
        task_ids = [send_train(app, job_id, attempt, job.spec)]
    store.set_task_ids(job_id, task_ids)
    log.info("job %s attempt %d: sent %d task(s)", job_id, attempt, len(task_ids))


def revoke_job(app: Celery, task_ids: list[str]) -> None:
    """Revoke a job's tasks (queued ones are dropped; running ones stop at the next epoch via the
    cooperative cancel flag)."""
    if task_ids:
        app.control.revoke(task_ids)
