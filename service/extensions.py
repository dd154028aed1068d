"""Per-app objects: database, Celery client, inverter cache (each with ``init_app``-style setup)."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from celery import Celery
from flask import Flask, current_app

from service.artifacts import ArtifactStore, sha256_file
from service.config import Settings
from service.db import Database
from service.errors import ApiError
from service.migrate import upgrade_head

log = logging.getLogger(__name__)


class InverterCache:
    """Loaded ``bpnet.Inverter`` objects by network id (LRU); the checksum is verified on load."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, network_id: str, path: str, sha256: str) -> Any:
        """The inverter of ``network_id``, loading ``path`` on first use."""
        with self._lock:
            if network_id in self._items:
                self._items.move_to_end(network_id)
                return self._items[network_id]
        import bpnet

        if not Path(path).is_file() or sha256_file(Path(path)) != sha256:
            raise ApiError(
                409,
                "artifact_invalid",
                f"network {network_id}: artifact missing or its checksum does not match",
            )
        try:
            inverter = bpnet.Inverter.load(path)
        except (bpnet.IntegrityError, ValueError, KeyError, OSError) as exc:
            log.error("network %s: artifact %s does not load: %s", network_id, path, exc)
            raise ApiError(
                409, "artifact_invalid", f"network {network_id}: artifact does not load"
            ) from exc
        with self._lock:
            self._items[network_id] = inverter
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return inverter

    def drop(self, network_id: str) -> None:
        """Forget a network (deleted)."""
        with self._lock:
            self._items.pop(network_id, None)


def init_extensions(app: Flask, settings: Settings) -> None:
    """Create the database (migrated to head), the Celery client and the inverter cache."""
    from service.celery_entry import create_celery

    db = Database(settings.database_url)
    upgrade_head(db.engine)
    app.extensions["geobp_db"] = db
    app.extensions["geobp_celery"] = create_celery(settings, db)
    app.extensions["geobp_inverters"] = InverterCache(settings.inverter_cache_size)
    app.extensions["geobp_artifacts"] = ArtifactStore(settings.artifact_dir)


def get_db() -> Database:
    """The current app's database."""
    return current_app.extensions["geobp_db"]


def get_celery() -> Celery:
    """The current app's Celery app (used to send tasks)."""
    return current_app.extensions["geobp_celery"]


def get_inverters() -> InverterCache:
    """The current app's inverter cache."""
    return current_app.extensions["geobp_inverters"]


def get_settings() -> Settings:
    """The current app's settings."""
    return current_app.config["GEOBP"]
