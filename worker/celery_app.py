"""The Celery app: Redis when the broker URL is ``redis://…``, otherwise the embedded broker.

The embedded broker is kombu's filesystem transport over folders under ``var/broker`` — no server
process, works across processes (file locks), supports fanout so ``revoke`` reaches the worker.
Job state lives in our database, so no result backend is configured.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from celery import Celery
from kombu import Exchange, Queue

from worker import tasks
from worker.queues import DEFAULT_QUEUE, QUEUES

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CeleryConfig:
    """What the Celery app needs: the broker URL (``"embedded"`` or ``redis://…``) and ``var_dir``
    (embedded broker folders and the beat schedule file live there)."""

    broker_url: str
    var_dir: Path
    schedule_tick_s: float = 15.0
    recover_every_s: float = 60.0
    progress_interval_s: float = 0.5

    @property
    def embedded(self) -> bool:
        """True for the server-less filesystem broker."""
        return not self.broker_url.startswith(("redis://", "rediss://"))


def broker_settings(config: CeleryConfig) -> dict[str, Any]:
    """Celery settings for the broker: URL and transport options."""
    if not config.embedded:
        return {
            "broker_url": config.broker_url,
            "broker_transport_options": {"visibility_timeout": 3600},
            "broker_connection_retry_on_startup": True,
        }
    root = Path(config.var_dir) / "broker"
    folders = {"data": root / "queue", "control": root / "control"}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    return {
        "broker_url": "filesystem://",
        "broker_transport_options": {
            "data_folder_in": str(folders["data"]),
            "data_folder_out": str(folders["data"]),
            "control_folder": str(folders["control"]),
            "store_processed": False,
            "polling_interval": 0.2,  # seconds between looks at the queue folder
        },
        "broker_connection_retry_on_startup": True,
    }


def make_celery(config: CeleryConfig, store: Any = None) -> Celery:
    """Build the Celery app for ``config``; ``store`` (a ``worker.store.JobStore``) is what tasks
    use to read and write job state (None in processes that only send tasks)."""
    app = Celery("geobp", set_as_current=False)
    app.conf.update(
        **broker_settings(config),
        result_backend=None,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        task_default_queue=DEFAULT_QUEUE,
        task_queues=[Queue(name, Exchange(name), routing_key=name) for name in QUEUES],
        task_default_exchange=DEFAULT_QUEUE,
        task_default_routing_key=DEFAULT_QUEUE,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        worker_send_task_events=not config.embedded,
        task_send_sent_event=not config.embedded,
        timezone="UTC",
        enable_utc=True,
        beat_schedule={
            "geobp-schedules": {
                "task": "geobp.tick_schedules",
                "schedule": config.schedule_tick_s,
                "options": {"queue": DEFAULT_QUEUE, "expires": config.schedule_tick_s},
            },
            "geobp-recover": {
                "task": "geobp.recover_jobs",
                "schedule": config.recover_every_s,
                "options": {"queue": DEFAULT_QUEUE, "expires": config.recover_every_s},
            },
        },
        beat_schedule_filename=str(Path(config.var_dir) / "celerybeat-schedule"),
    )
    app.geobp_store = store
    app.geobp_config = config
    tasks.register(app)
    return app
