"""Celery tasks. Each takes ids only, re-reads the job first and writes under the job id, so a
rerun overwrites and never duplicates; a finished job's rerun registers nothing new."""

from __future__ import annotations

import logging
import socket
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from celery import Celery, Task
from celery.signals import worker_process_init, worker_ready

from inversion import pipeline
from worker import served
from worker.progress import CancelCheck, ProgressReporter
from worker.queues import TRAIN_QUEUE
from worker.served_retrain import retrain_served
from worker.served_upgrade import upgrade_served
from worker.submit import send_train, submit_job

log = logging.getLogger(__name__)

MAX_RETRIES = 3
RETRY_COUNTDOWN_S = 5


def code_version() -> str:
    """The installed geobp version (recorded in each network's lineage)."""
    try:
        return metadata.version("geobp")
    except metadata.PackageNotFoundError:
        return "source"


def _retry_or_fail(task: Task, store: Any, job_id: str, exc: BaseException) -> None:
    """Transient errors are retried (bounded, reason recorded); anything else fails the job."""
    reason = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, store.transient_errors) and task.request.retries < MAX_RETRIES:
        store.record_retry(job_id, f"retry {task.request.retries + 1}/{MAX_RETRIES}: {reason}")
        raise task.retry(exc=exc, countdown=RETRY_COUNTDOWN_S, max_retries=MAX_RETRIES)
    store.mark_failed(job_id, reason)


def _cancelled_meanwhile(store: Any, job_id: str) -> bool:
    """True when a client asked to cancel the job (False when the store cannot say)."""
    try:
        return bool(store.cancel_requested(job_id))
    except store.transient_errors:
        return False


def _save_chunk(path: Path, models: np.ndarray, data: np.ndarray) -> None:
    with open(path, "wb") as handle:
        np.savez(handle, models=models, data=data)


def _load_chunks(paths: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    models, data = [], []
    for path in paths:
        with np.load(path, allow_pickle=False) as chunk:
            models.append(chunk["models"])
            data.append(chunk["data"])
    return np.concatenate(models), np.concatenate(data)


def generate_chunk(task: Task, job_id: str, attempt: int, index: int) -> None:
    """Generate rows of chunk ``index`` (reproducible from the job's seed), save them as .npz, and
    send the train task when this was the last missing chunk."""
    store = task.app.geobp_store
    job = store.get_job(job_id)
    if job is not None and index not in store.missing_chunks(job_id):
        log.info("chunk %d of job %s already saved; skipping", index, job_id)
        return
    if job is None or not store.mark_running(job_id, attempt, "dataset", task.request.hostname):
        log.info("chunk %d of job %s: job finished or superseded; skipping", index, job_id)
        return
    if job.cancel_requested:
        store.mark_cancelled(job_id)
        return
    try:
        models, data = pipeline.generate_chunk(job.spec, index, job.n_chunks)
        path = store.chunk_path(job_id, index)
        store.write_atomic(path, lambda tmp: _save_chunk(tmp, models, data))
        last = store.chunk_done(job_id, attempt, index, path, int(models.shape[0]))
        done = job.n_chunks - len(store.missing_chunks(job_id))
        store.report_progress(job_id, {"fraction": round(0.2 * done / job.n_chunks, 4)})
    except Exception as exc:  # noqa: BLE001 - classified below: retried or recorded as the failure
        _retry_or_fail(task, store, job_id, exc)
        return
    if last:
        store.set_task_ids(job_id, [send_train(task.app, job_id, attempt, job.spec)])


def train(task: Task, job_id: str, attempt: int) -> str | None:
    """Train the job's Inverter on its chunks, evaluate on a held-out set, register it."""
    store = task.app.geobp_store
    job = store.get_job(job_id)
    if job is None:
        return None
    if job.network_id:
        return job.network_id  # already registered: idempotent rerun
    if not store.mark_running(job_id, attempt, "train", task.request.hostname):
        log.info("train of job %s: finished or superseded; skipping", job_id)
        return None
    config = task.app.geobp_config
    interval = config.progress_interval_s
    reporter = ProgressReporter(
        lambda progress: store.report_progress(job_id, progress), interval_s=interval
    )
    try:
        paths = store.chunk_paths(job_id)
        if len(paths) != job.n_chunks:
            raise OSError(f"job {job_id}: {len(paths)} of {job.n_chunks} dataset chunks present")
        models, data = _load_chunks(paths)
        setup = pipeline.TrainingSetup.from_spec(job.spec)
        reporter.n_members = setup.n_members
        cancel = CancelCheck(lambda: store.cancel_requested(job_id), interval_s=interval)
        outcome = pipeline.train_inverter(
            setup,
            models,
            data,
            callback=reporter.epoch,
            should_stop=cancel,
            on_stage=reporter.stage,
        )
        if outcome.cancelled or store.cancel_requested(job_id):
            store.mark_cancelled(job_id)
            return None
        reporter.stage("register")
        record = {"name": job.name, **outcome.record, "code_version": code_version()}
        if store.cancel_requested(job_id):
            store.mark_cancelled(job_id)
            return None
        network_id = store.register_network(job_id, record, outcome.inverter.save)
    except Exception as exc:  # noqa: BLE001 - classified below: retried or recorded as the failure
        if _cancelled_meanwhile(store, job_id):
            log.info("job %s was cancelled; its training ended with %r", job_id, exc)
            store.mark_cancelled(job_id)
            return None
        _retry_or_fail(task, store, job_id, exc)
        return None
    store.cleanup_job_files(job_id)
    return network_id


def tick_schedules(task: Task) -> list[str]:
    """Create and submit one training job per due schedule, and send one ``geobp.retrain_served``
    per due served retraining (run by beat every few seconds)."""
    store = task.app.geobp_store
    now = datetime.now(timezone.utc)
    for kwargs in store.due_served_retrains(now):
        task.app.send_task("geobp.retrain_served", kwargs=kwargs, queue=TRAIN_QUEUE)
    job_ids = store.create_due_jobs(now)
    for job_id in job_ids:
        submit_job(task.app, store, job_id)
    return job_ids


def recover_jobs(task: Task, worker: str | None = None) -> list[str]:
    """Resubmit jobs whose worker was lost (stale heartbeat); see ``JobStore.reclaim_lost_jobs``."""
    return _recover(task.app, worker)


def _recover(app: Celery, worker: str | None) -> list[str]:
    store = app.geobp_store
    reclaimed = store.reclaim_lost_jobs(worker, datetime.now(timezone.utc))
    for item in reclaimed:
        submit_job(app, store, item.job_id, attempt=item.attempt, stage=item.stage)
    return [item.job_id for item in reclaimed]


def register(app: Celery) -> None:
    """Define the tasks on ``app`` and recover this worker's lost jobs when it starts."""
    common = {"bind": True, "acks_late": True, "reject_on_worker_lost": True}
    app.task(name="geobp.generate_chunk", max_retries=MAX_RETRIES, **common)(generate_chunk)
    app.task(name="geobp.train", max_retries=MAX_RETRIES, **common)(train)
    app.task(name="geobp.tick_schedules", bind=True)(tick_schedules)
    app.task(name="geobp.recover_jobs", bind=True)(recover_jobs)
    app.task(name="geobp.train_served", acks_late=True, bind=True)(served.train_served_set)
    app.task(name="geobp.retrain_served", acks_late=True, bind=True)(retrain_served)
    app.task(name="geobp.upgrade_served", acks_late=True, bind=True)(upgrade_served)

    def _on_ready(sender: Any = None, **_: Any) -> None:
        if sender is None or getattr(sender, "app", None) is not app or app.geobp_store is None:
            return
        hostname = getattr(sender, "hostname", None) or socket.gethostname()
        try:
            recovered = _recover(app, hostname)
        except Exception:  # noqa: BLE001 - a failed recovery must not stop the worker; beat retries
            log.exception("recovering lost jobs at worker start failed")
            return
        if recovered:
            log.warning("worker %s resubmitted lost jobs: %s", hostname, recovered)

    def _after_fork(**_: Any) -> None:
        if app.geobp_store is not None:
            app.geobp_store.after_fork()

    worker_ready.connect(_on_ready, weak=False)
    worker_process_init.connect(_after_fork, weak=False)
