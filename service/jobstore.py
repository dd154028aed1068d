"""The SQL ``worker.store.JobStore``: job state, chunks, registration, schedules."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from service import registry, served_registry
from service.artifacts import ArtifactStore
from service.config import Settings
from service.db import Database, as_utc
from service.models import (
    TERMINAL_STATUSES,
    DatasetChunk,
    Schedule,
    TrainingJob,
    utcnow,
)
from service.schedules import SERVED_RETRAIN, create_job_for_schedule, next_run
from worker.store import JobView, Reclaimed

log = logging.getLogger(__name__)

LATER_STAGES = ("train", "evaluate", "register", "done")


class SqlJobStore:
    """Job state in the SQL database, artifacts in the artifact directory."""

    transient_errors: tuple[type[BaseException], ...] = (OperationalError, PoolTimeout, OSError)

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.artifacts = ArtifactStore(settings.artifact_dir)

    def after_fork(self) -> None:
        """Forget pooled connections inherited over ``fork`` (never share a socket)."""
        self.db.engine.dispose(close=False)

    # ------------------------------------------------------------------ reading
    def get_job(self, job_id: str) -> JobView | None:
        """The job as a frozen view, or None."""
        with self.db.session() as s:
            job = s.get(TrainingJob, job_id)
            if job is None:
                return None
            return JobView(
                id=job.id,
                name=job.name,
                spec=job.spec,
                status=job.status,
                stage=job.stage,
                attempts=job.attempts,
                n_chunks=job.n_chunks,
                cancel_requested=job.cancel_requested,
                network_id=job.network_id,
            )

    def cancel_requested(self, job_id: str) -> bool:
        """True when the job was asked to stop (or vanished)."""
        with self.db.session() as s:
            flag = s.scalar(select(TrainingJob.cancel_requested).where(TrainingJob.id == job_id))
        return flag is None or bool(flag)

    # ------------------------------------------------------------------ lifecycle
    def mark_running(self, job_id: str, attempt: int, stage: str, worker: str) -> bool:
        """Move a live job of this attempt into ``stage``; False if finished or stale, or when
        the training of this attempt has already been started as often as
        ``max_job_attempts`` allows (its process keeps dying: Celery redelivers the task)."""
        now = utcnow()
        with self.db.session() as s:
            job = s.get(TrainingJob, job_id)
            if job is None or job.status in TERMINAL_STATUSES or job.attempts != attempt:
                return False
            if stage == "dataset" and job.stage in LATER_STAGES:
                return False  # a late chunk task must not pull a training job back
            progress = {**(job.progress or {}), "stage": stage}
            if stage == "train" and not self._count_training_start(job, progress, now):
                return False
            job.status = "running"
            job.stage = stage
            job.worker = worker
            job.started_at = job.started_at or now
            job.heartbeat_at = now
            job.progress = progress
            return True

    def _count_training_start(self, job: TrainingJob, progress: dict, now: datetime) -> bool:
        """Record in ``progress`` that training attempt ``job.attempts`` started. A second start
        of the same attempt is a redelivery (the process training it died): it counts against
        ``max_job_attempts`` with the reason recorded; False (and the job failed) when none is
        left."""
        attempt = job.attempts
        if progress.get("train_attempt") != attempt:
            progress.update(train_attempt=attempt, redeliveries=0)
            return True
        redeliveries = int(progress.get("redeliveries") or 0) + 1
        reason = f"attempt {attempt}: the process training it died (task redelivered)"
        job.retry_reasons = [*(job.retry_reasons or []), reason]
        if attempt + redeliveries > self.settings.max_job_attempts:
            job.status, job.finished_at = "failed", now
            job.error = f"gave up after {attempt + redeliveries - 1} attempts: {reason}"
            job.progress = {**progress, "stage": "failed"}
            log.warning("job %s failed: %s", job.id, job.error)
            return False
        log.warning("job %s: %s; training again", job.id, reason)
        progress["redeliveries"] = redeliveries
        return True

    def report_progress(self, job_id: str, progress: dict[str, Any]) -> None:
        """Merge progress into the job (only while it runs) and refresh its heartbeat."""
        with self.db.session() as s:
            job = s.get(TrainingJob, job_id)
            if job is None or job.status != "running":
                return
            job.progress = {**(job.progress or {}), **progress}
            if "stage" in progress:
                job.stage = progress["stage"]
            job.heartbeat_at = utcnow()

    def _finish(self, job_id: str, status: str, error: str | None) -> None:
        with self.db.session() as s:
            job = s.get(TrainingJob, job_id)
            if job is None or job.status in TERMINAL_STATUSES:
                return
            job.status = status
            job.error = error
            job.finished_at = utcnow()
            job.progress = {**(job.progress or {}), "stage": status}
        self.cleanup_job_files(job_id)

    def mark_cancelled(self, job_id: str) -> None:
        """Finish as cancelled."""
        self._finish(job_id, "cancelled", None)

    def mark_failed(self, job_id: str, reason: str) -> None:
        """Finish as failed with ``reason``."""
        log.warning("job %s failed: %s", job_id, reason)
        self._finish(job_id, "failed", reason)

    def record_retry(self, job_id: str, reason: str) -> None:
        """Append ``reason`` to the job's retry reasons."""
        with self.db.session() as s:
            job = s.get(TrainingJob, job_id)
            if job is not None:
                job.retry_reasons = [*(job.retry_reasons or []), reason]

    def set_task_ids(self, job_id: str, task_ids: list[str]) -> None:
        """Remember Celery task ids for revocation."""
        with self.db.session() as s:
            job = s.get(TrainingJob, job_id)
            if job is not None:
                job.task_ids = [*(job.task_ids or []), *task_ids][-512:]

    # ------------------------------------------------------------------ chunks
    def chunk_path(self, job_id: str, index: int) -> Path:
        """``<artifacts>/jobs/<job_id>/chunk-0000.npz``."""
        return self.artifacts.job_dir(job_id) / f"chunk-{index:04d}.npz"

    def write_atomic(self, target: Path, writer: Callable[[Path], None]) -> str:
        """Atomic write through the artifact store."""
        return self.artifacts.write_atomic(target, writer)

    def chunk_done(self, job_id: str, attempt: int, index: int, path: Path, n_rows: int) -> bool:
        """Record the chunk; True once, for the call that completes the set of this attempt."""
        with self.db.session() as s:
            if s.get(DatasetChunk, (job_id, index)) is None:
                s.add(DatasetChunk(job_id=job_id, index=index, path=str(path), n_rows=n_rows))
                try:
                    s.flush()
                except IntegrityError:
                    s.rollback()
        with self.db.session() as s:
            job = s.get(TrainingJob, job_id)
            if job is None:
                return False
            n_done = len(
                s.scalars(select(DatasetChunk.index).where(DatasetChunk.job_id == job_id)).all()
            )
            if n_done < job.n_chunks:
                return False
            won = s.execute(
                update(TrainingJob)
                .where(
                    TrainingJob.id == job_id,
                    TrainingJob.stage == "dataset",
                    TrainingJob.attempts == attempt,
                    TrainingJob.status == "running",
                )
                .values(stage="train", heartbeat_at=utcnow())
            )
            return won.rowcount == 1

    def missing_chunks(self, job_id: str) -> list[int]:
        """Indices not yet recorded (or whose file has gone)."""
        with self.db.session() as s:
            job = s.get(TrainingJob, job_id)
            if job is None:
                return []
            rows = s.scalars(select(DatasetChunk).where(DatasetChunk.job_id == job_id)).all()
            present = {row.index for row in rows if Path(row.path).is_file()}
            stale = [row for row in rows if row.index not in present]
            for row in stale:
                s.delete(row)
            return [i for i in range(job.n_chunks) if i not in present]

    def chunk_paths(self, job_id: str) -> list[Path]:
        """Recorded chunk files in index order."""
        with self.db.session() as s:
            rows = s.scalars(
                select(DatasetChunk)
                .where(DatasetChunk.job_id == job_id)
                .order_by(DatasetChunk.index)
            ).all()
            return [Path(row.path) for row in rows]

    def cleanup_job_files(self, job_id: str) -> None:
        """Delete the chunk files (rows go with the job)."""
        self.artifacts.remove_job_dir(job_id)

    # ------------------------------------------------------------------ registry
    def register_network(
        self, job_id: str, record: dict[str, Any], writer: Callable[[Path], None]
    ) -> str:
        """Register (idempotently) and finish the job in the same transaction."""
        with self.db.session() as s:
            job = s.get(TrainingJob, job_id)
            if job is not None and job.network_id:
                return job.network_id
        return registry.register_network(
            self.db, self.artifacts, {**record, "job_id": job_id}, writer
        )

    # ------------------------------------------------------------------ recovery
    def reclaim_lost_jobs(self, worker: str | None, now: datetime) -> list[Reclaimed]:
        """Jobs running on ``worker`` (which has just restarted) or silent for longer than the
        stale limit get a new attempt, with the reason recorded; out of attempts → failed."""
        stale_before = now - timedelta(seconds=self.settings.job_stale_after_s)
        out: list[Reclaimed] = []
        with self.db.session() as s:
            candidates = s.scalars(
                select(TrainingJob).where(TrainingJob.status.in_(("queued", "running")))
            ).all()
            chosen = []
            for job in candidates:
                beat = as_utc(job.heartbeat_at or job.created_at)
                stale = beat is not None and beat < stale_before
                if job.status == "running" and worker is not None and job.worker == worker:
                    chosen.append((job, f"worker {worker} was lost (restarted)"))
                elif job.status == "running" and stale:
                    limit = f"{self.settings.job_stale_after_s:.0f} s"
                    chosen.append((job, f"no progress for {limit} (worker {job.worker})"))
                elif job.status == "queued" and worker is not None and stale:
                    # its message may have been taken by a worker that died before starting it
                    chosen.append((job, "still queued when a worker started; resubmitted"))
            for job, reason in chosen:
                attempt, stage = job.attempts, job.stage  # the update below refreshes ``job``
                reasons = [*(job.retry_reasons or []), f"attempt {attempt}: {reason}"]
                if job.cancel_requested:
                    values = {"status": "cancelled", "finished_at": now}
                elif job.status == "running" and attempt >= self.settings.max_job_attempts:
                    values = {
                        "status": "failed",
                        "finished_at": now,
                        "error": f"gave up after {attempt} attempts: {reason}",
                    }
                else:
                    values = {
                        "attempts": attempt + 1,
                        "status": "queued",
                        "stage": "queued",  # the resubmitted tasks set it again
                        "heartbeat_at": now,
                        "worker": None,
                    }
                result = s.execute(
                    update(TrainingJob)
                    .where(TrainingJob.id == job.id, TrainingJob.attempts == attempt)
                    .values(retry_reasons=reasons, **values)
                )
                if result.rowcount == 1 and values.get("status") == "queued":
                    stage = stage if stage in ("dataset", "train") else "dataset"
                    out.append(Reclaimed(job.id, attempt + 1, stage))
        for item in out:
            log.warning(
                "reclaimed job %s as attempt %d (%s)", item.job_id, item.attempt, item.stage
            )
        return out

    # ------------------------------------------------------------------ schedules
    def _claim_due(self, s: Any, now: datetime, served: bool) -> list[Schedule]:
        """Due, enabled schedules of one kind (served retraining or not), each claimed by
        advancing it to its next cron time (a concurrent tick claims it at most once)."""
        due = s.scalars(
            select(Schedule).where(Schedule.enabled.is_(True), Schedule.next_run_at <= now)
        ).all()
        claimed_rows = []
        for schedule in due:
            if (SERVED_RETRAIN in (schedule.spec or {})) != served:
                continue
            claimed = s.execute(
                update(Schedule)
                .where(Schedule.id == schedule.id, Schedule.next_run_at == schedule.next_run_at)
                .values(next_run_at=next_run(schedule.cron, now), last_run_at=now)
            )
            if claimed.rowcount == 1:
                claimed_rows.append(schedule)
        return claimed_rows

    def create_due_jobs(self, now: datetime) -> list[str]:
        """One job per due, enabled schedule; schedules advance to their next cron time."""
        created: list[str] = []
        with self.db.session() as s:
            for schedule in self._claim_due(s, now, served=False):
                job = create_job_for_schedule(s, schedule, self.settings)
                if job is not None:
                    schedule.last_job_id = job.id
                    created.append(job.id)
        return created

    # ------------------------------------------------------------------ served networks
    def due_served_retrains(self, now: datetime) -> list[dict[str, Any]]:
        """``geobp.retrain_served`` keyword arguments of each due served retraining."""
        folder = str(self.settings.artifact_dir / "served")
        with self.db.session() as s:
            return [
                {**schedule.spec[SERVED_RETRAIN], "folder": folder, "schedule_id": schedule.id}
                for schedule in self._claim_due(s, now, served=True)
            ]

    def register_served(
        self, name: str, path: Path, production: str, metrics: dict[str, Any] | None
    ) -> str:
        """Register a served network file as the next version of ``name``."""
        return served_registry.register_served_file(
            self.db, self.artifacts, name, Path(path), production, metrics
        )

    def served_production(self, name: str) -> dict[str, Any] | None:
        """The production version of ``name`` (id, version, path, metrics), or None."""
        return served_registry.production_of(self.db, self.artifacts, name)
