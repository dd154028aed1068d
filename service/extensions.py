"""Per-app objects: database, Celery client, inverter cache (each with ``init_app``-style setup)."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from celery import Celery
from flask import Flask, current_app

from service.artifacts import ArtifactStore, sha256_file
from service.batching import InversionBatcher
from service.config import Settings
from service.db import Database
from service.errors import ApiError
from service.migrate import upgrade_head

log = logging.getLogger(__name__)


def _file_state(path: str) -> tuple[int, int, int] | None:
    """``(size, mtime ns, inode)`` of a file, None when it is missing: a changed or replaced file
    has another one (cheap, checked before each use of a cached network)."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns, stat.st_ino


class InverterCache:
    """Loaded ``inversion.Inverter`` objects by network id (LRU); checksums verified on load, and
    again whenever the file's size, mtime or inode changed since (a tampered file is refused
    by every process, not just by those that had not cached it)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, network_id: str, path: str, sha256: str) -> Any:
        """The inverter of ``network_id``, loading ``path`` on first use."""
        state = _file_state(path)
        with self._lock:
            cached = self._items.get(network_id)
            if cached is not None and cached[1] == state:
                self._items.move_to_end(network_id)
                return cached[0]
            self._items.pop(network_id, None)
        import bpnet
        import inversion

        if not Path(path).is_file() or sha256_file(Path(path)) != sha256:
            raise ApiError(
                409,
                "artifact_invalid",
                f"network {network_id}: artifact missing or its checksum does not match",
            )
        try:
            inverter = inversion.Inverter.load(path)
        except (bpnet.IntegrityError, ValueError, KeyError, OSError) as exc:
            log.error("network %s: artifact %s does not load: %s", network_id, path, exc)
            raise ApiError(
                409, "artifact_invalid", f"network {network_id}: artifact does not load"
            ) from exc
        with self._lock:
            self._items[network_id] = (inverter, state)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return inverter

    def drop(self, network_id: str) -> None:
        """Forget a network (deleted)."""
        with self._lock:
            self._items.pop(network_id, None)


class TTLCache:
    """A small thread-safe mapping whose entries expire after ``ttl_s`` seconds (used to keep the
    database off the inversion hot path: name/alias → network resolves for a second or two)."""

    def __init__(self, ttl_s: float, max_items: int = 1024) -> None:
        self.ttl_s = ttl_s
        self.max_items = max_items
        self._items: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        """The live value for ``key``, or None."""
        with self._lock:
            hit = self._items.get(key)
            if hit is None or hit[0] < time.monotonic():
                self._items.pop(key, None)
                return None
            return hit[1]

    def put(self, key: Any, value: Any) -> None:
        """Store ``value`` for ``ttl_s`` seconds."""
        with self._lock:
            if len(self._items) >= self.max_items:
                self._items.clear()
            self._items[key] = (time.monotonic() + self.ttl_s, value)

    def clear(self) -> None:
        """Forget everything (after a registry change in this process)."""
        with self._lock:
            self._items.clear()


def init_extensions(app: Flask, settings: Settings) -> None:
    """Create the database (migrated to head), the Celery client, the inverter cache and the
    inversion micro-batcher."""
    from service.celery_entry import create_celery

    db = Database(settings.database_url)
    upgrade_head(db.engine)
    app.extensions["geobp_db"] = db
    app.extensions["geobp_celery"] = create_celery(settings, db)
    app.extensions["geobp_inverters"] = InverterCache(settings.inverter_cache_size)
    app.extensions["geobp_artifacts"] = ArtifactStore(settings.artifact_dir)
    app.extensions["geobp_resolved"] = TTLCache(ttl_s=2.0)
    app.extensions["geobp_batcher"] = InversionBatcher()


def get_db() -> Database:
    """The current app's database."""
    return current_app.extensions["geobp_db"]


def get_celery() -> Celery:
    """The current app's Celery app (used to send tasks)."""
    return current_app.extensions["geobp_celery"]


def get_inverters() -> InverterCache:
    """The current app's inverter cache."""
    return current_app.extensions["geobp_inverters"]


def get_resolved() -> TTLCache:
    """The current app's short-lived cache of network resolutions."""
    return current_app.extensions["geobp_resolved"]


def get_batcher() -> InversionBatcher:
    """The current app's micro-batcher of one-sounding inversions."""
    return current_app.extensions["geobp_batcher"]


def get_settings() -> Settings:
    """The current app's settings."""
    return current_app.config["GEOBP"]
