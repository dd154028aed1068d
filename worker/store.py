"""What the tasks need from the job database, as a protocol (the service implements it).

The worker package imports nothing from ``service``: the Celery app is built with a store object
(``make_celery(config, store)``), and tasks reach it as ``task.app.geobp_store``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class JobView:
    """A snapshot of one training job as the tasks see it."""

    id: str
    name: str
    spec: dict[str, Any]
    status: str
    stage: str
    attempts: int
    n_chunks: int
    cancel_requested: bool
    network_id: str | None


@dataclass(frozen=True)
class Reclaimed:
    """A job taken back from a lost worker: resubmit ``stage`` under the new ``attempt``."""

    job_id: str
    attempt: int
    stage: str


class JobStore(Protocol):
    """Job state lives in the database; every method is one short transaction."""

    transient_errors: tuple[type[BaseException], ...]

    def get_job(self, job_id: str) -> JobView | None:
        """The job, or None when it does not exist."""

    def mark_running(self, job_id: str, attempt: int, stage: str, worker: str) -> bool:
        """Set status running and the stage; False when the job is finished or the attempt is
        stale (a newer attempt owns it)."""

    def report_progress(self, job_id: str, progress: dict[str, Any]) -> None:
        """Merge ``progress`` (stage, fraction, epoch, losses) into the job and beat its heart."""

    def cancel_requested(self, job_id: str) -> bool:
        """True when a client asked to cancel the job."""

    def mark_cancelled(self, job_id: str) -> None:
        """Finish the job as cancelled."""

    def mark_failed(self, job_id: str, reason: str) -> None:
        """Finish the job as failed with ``reason``."""

    def record_retry(self, job_id: str, reason: str) -> None:
        """Append a retry reason (the task will run again)."""

    def chunk_path(self, job_id: str, index: int) -> Path:
        """Where chunk ``index`` of the job's dataset is saved (.npz)."""

    def chunk_done(self, job_id: str, attempt: int, index: int, path: Path, n_rows: int) -> bool:
        """Record a finished chunk; True exactly once per attempt: when this call completed the
        set and won the move to the train stage."""

    def missing_chunks(self, job_id: str) -> list[int]:
        """Chunk indices not yet recorded."""

    def chunk_paths(self, job_id: str) -> list[Path]:
        """The recorded chunk files, in index order."""

    def write_atomic(self, target: Path, writer: Callable[[Path], None]) -> str:
        """Write a file atomically (temp name, fsync, rename); return its SHA-256."""

    def register_network(
        self, job_id: str, record: dict[str, Any], writer: Callable[[Path], None]
    ) -> str:
        """Save the artifact and register the network + finish the job in one transaction;
        idempotent per job. Returns the network id."""

    def cleanup_job_files(self, job_id: str) -> None:
        """Delete the job's dataset chunks."""

    def reclaim_lost_jobs(self, worker: str | None, now: datetime) -> list[Reclaimed]:
        """Take back jobs whose worker is gone (``worker`` restarted, or heartbeat stale):
        bump their attempt and return what to resubmit; fail those out of attempts."""

    def create_due_jobs(self, now: datetime) -> list[str]:
        """Create one training job per due schedule, advance the schedules; return job ids."""

    def due_served_retrains(self, now: datetime) -> list[dict[str, Any]]:
        """Claim each due served-retraining schedule (advancing it); return the keyword
        arguments of ``geobp.retrain_served`` for each."""

    def register_served(
        self, name: str, path: Path, production: str, metrics: dict[str, Any] | None
    ) -> str:
        """Copy the served network file into the artifact store and register it as the next
        version of ``name`` (``production``: ``"if_none"`` or ``"always"``); the same file
        twice returns the first registration. Returns the network id."""

    def served_production(self, name: str) -> dict[str, Any] | None:
        """``{"id", "name", "version", "path", "sha256", "metrics"}`` of the production
        version of ``name``, or None."""

    def set_task_ids(self, job_id: str, task_ids: list[str]) -> None:
        """Remember the Celery task ids (to revoke on cancel)."""

    def after_fork(self) -> None:
        """Drop connections inherited from the parent (called in each forked pool process)."""
