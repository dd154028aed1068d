"""The Celery app of a geobp deployment, for ``celery -A service.celery_entry:celery``.

The app is built on first attribute access (not at import): settings from the environment, the
database migrated to head, and the SQL job store handed to the tasks.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

from service.config import Settings, load_settings
from service.db import Database
from service.jobstore import SqlJobStore
from service.migrate import upgrade_head
from worker.celery_app import CeleryConfig, make_celery

_apps: dict[str, Celery] = {}


def celery_config(settings: Settings) -> CeleryConfig:
    """The worker-side view of the settings."""
    return CeleryConfig(
        broker_url=settings.broker_url,
        var_dir=settings.var_dir,
        progress_interval_s=settings.progress_interval_s,
    )


def create_celery(settings: Settings | None = None, db: Database | None = None) -> Celery:
    """A Celery app wired to the SQL job store (migrating the database first)."""
    settings = settings or load_settings()
    if db is None:
        db = Database(settings.database_url)
        upgrade_head(db.engine)
    return make_celery(celery_config(settings), SqlJobStore(settings, db))


def __getattr__(name: str) -> Any:
    if name in ("celery", "app"):
        if "app" not in _apps:
            _apps["app"] = create_celery()
        return _apps["app"]
    raise AttributeError(name)
