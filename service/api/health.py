"""``GET /api/v1/health``: liveness plus readiness of the database and the broker (and, under
``geobp serve`` on the embedded broker, of its supervised worker: ``broker.worker``)."""

from __future__ import annotations

import time
from pathlib import Path

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from service import schemas
from service.extensions import get_celery, get_db, get_settings
from service.openapi import operation
from service.supervisor import read_state
from service.version import VERSION

bp = Blueprint("health", __name__, url_prefix="/api/v1")


def _database() -> dict:
    start = time.perf_counter()
    try:
        with get_db().engine.connect() as conn:
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception as exc:  # noqa: BLE001 - reported as "not ready", never raised
        return {"ok": False, "error": type(exc).__name__}
    elapsed = round((time.perf_counter() - start) * 1000, 2)
    return {"ok": True, "revision": revision, "latency_ms": elapsed}


def _broker() -> dict:
    settings = get_settings()
    if settings.embedded_broker:
        folder = Path(settings.var_dir) / "broker" / "queue"
        ok = folder.is_dir()
        body = {"ok": ok, "kind": "embedded", "queue_folder": str(folder)}
        worker = read_state(settings.var_dir)  # None unless `geobp serve` runs the worker
        if worker is not None:
            body["worker"] = worker
            body["ok"] = ok and worker["ok"]
        return body
    start = time.perf_counter()
    try:
        with get_celery().connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # noqa: BLE001 - reported as "not ready", never raised
        return {"ok": False, "kind": "redis", "error": type(exc).__name__}
    elapsed = round((time.perf_counter() - start) * 1000, 2)
    return {"ok": True, "kind": "redis", "latency_ms": elapsed}


@operation(
    bp,
    "/health",
    "GET",
    summary="Liveness and readiness of database and broker",
    tag="health",
    response=schemas.Health,
    errors=(503,),
)
def health() -> ResponseReturnValue:
    """Liveness and readiness of database and broker."""
    database, broker = _database(), _broker()
    ok = database["ok"] and broker["ok"]
    body = {
        "status": "ok" if ok else "degraded",
        "database": database,
        "broker": broker,
        "version": VERSION,
    }
    return jsonify(body), 200 if ok else 503
