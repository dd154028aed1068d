"""Scheduled retraining: cron arithmetic (croniter) and turning a due schedule into a job."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from croniter import CroniterError, croniter
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.config import Settings
from service.jobs import create_job
from service.models import Network, NetworkAlias, Schedule, TrainingJob

log = logging.getLogger(__name__)

#: the key of a served-network retraining schedule's spec (champion/challenger, no training job)
SERVED_RETRAIN = "retrain_served"

#: seeds advance per scheduled run and wrap here: they stay valid training seeds (0 … 2³¹ − 1)
#: and fit the registry's 32-bit integer column on PostgreSQL
SEED_MODULUS = 2**31


def validate_cron(expression: str) -> str:
    """Return the expression if it is a valid 5-field cron line; ValueError naming it otherwise."""
    expression = " ".join(expression.split())
    if len(expression.split(" ")) != 5 or not croniter.is_valid(expression):
        raise ValueError(f"cron: {expression!r} is not a valid 5-field cron expression")
    try:
        next_run(expression, datetime.now(timezone.utc))
    except CroniterError as exc:  # e.g. "0 0 30 2 *": no 30 February
        raise ValueError(f"cron: {expression!r} never fires") from exc
    return expression


def next_run(expression: str, after: datetime) -> datetime:
    """The first time strictly after ``after`` (UTC) matched by ``expression``."""
    after = after if after.tzinfo else after.replace(tzinfo=timezone.utc)
    return croniter(expression, after.astimezone(timezone.utc)).get_next(datetime)


def spec_for_schedule(session: Session, schedule: Schedule) -> dict[str, Any] | None:
    """The training spec a schedule runs now: its own spec, or (``{"retrain_network": name}``) the
    spec that trained the current ``latest`` version of that name; the seed advances per run.
    None for a served retraining (``{"retrain_served": …}``: a task, not a training job)."""
    if SERVED_RETRAIN in schedule.spec:
        return None
    n_runs = session.scalar(
        select(func.count(TrainingJob.id)).where(TrainingJob.schedule_id == schedule.id)
    )
    if "retrain_network" not in schedule.spec:
        base = dict(schedule.spec)
    else:
        name = schedule.spec["retrain_network"]
        alias = session.get(NetworkAlias, (name, "latest"))
        net = session.get(Network, alias.network_id) if alias else None
        job = session.get(TrainingJob, net.job_id) if net is not None and net.job_id else None
        if job is None:
            log.warning("schedule %s: network %r has no training job to repeat", schedule.id, name)
            return None
        base = dict(job.spec)
    base["seed"] = (int(base.get("seed", 1)) + int(n_runs or 0) + 1) % SEED_MODULUS
    return base


def create_job_for_schedule(
    session: Session, schedule: Schedule, settings: Settings
) -> TrainingJob | None:
    """Add an ordinary training job for ``schedule`` (queued; the caller submits it)."""
    spec = spec_for_schedule(session, schedule)
    if spec is None:
        return None
    return create_job(session, spec, schedule_id=schedule.id)
