"""Integration fixtures: a throwaway PostgreSQL database per session, a private Redis db index,
and real Celery worker processes (``python -m worker.main``, the command docker-compose runs)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from service.app import create_app
from service.config import load_settings
from service.serve import stop_process_group

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "integration-token"
REDIS_DB = int(os.environ.get("GEOBP_TEST_REDIS_DB", "13"))  # ours alone: flushed by the tests
WORKER_NAME = "it@%h"


@pytest.fixture(scope="session")
def postgres_url():
    """A fresh database on the test server (dropped afterwards)."""
    base = os.environ.get(
        "GEOBP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    name = f"geobp_it_{uuid.uuid4().hex[:12]}"
    admin = create_engine(make_url(base).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(base).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def redis_url():
    """The test Redis with our own db index, flushed before and after."""
    base = os.environ.get("GEOBP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    parts = urlsplit(base)
    url = urlunsplit((parts.scheme, parts.netloc, f"/{REDIS_DB}", "", ""))
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


class Stack:
    """One deployment: settings, the Flask app (test client) and a real worker process."""

    def __init__(self, kind: str, var_dir: Path, database_url: str | None, broker_url: str | None):
        self.kind = kind
        env = {"GEOBP_VAR_DIR": str(var_dir), "GEOBP_API_TOKEN": TOKEN}
        if database_url:
            env["GEOBP_DATABASE_URL"] = database_url
        if broker_url:
            env["GEOBP_BROKER_URL"] = broker_url
        self.env = {
            **os.environ,
            **env,
            "GEOBP_PROGRESS_INTERVAL_S": "0.1",
            "PYTHONPATH": str(ROOT),
        }
        self.settings = load_settings(env=env, progress_interval_s=0.1)
        self.app = create_app({"GEOBP": self.settings, "TESTING": True})
        self.client = self.app.test_client()
        self.auth = {"Authorization": f"Bearer {TOKEN}"}
        self.log_path = var_dir / "worker.log"
        self.proc: subprocess.Popen | None = None
        self._log = None

    def start_worker(self, timeout_s: float = 60.0) -> None:
        """Start ``python -m worker.main`` and wait until Celery says it is ready."""
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop/kill
        cmd = [
            sys.executable,
            "-m",
            "worker.main",
            "--concurrency",
            "2",
            "--hostname",
            WORKER_NAME,
            "--without-mingle",
            "--without-gossip",
        ]
        self.proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            text_ = self.log_path.read_bytes()[offset:].decode("utf-8", "replace")
            if " ready." in text_:
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{text_[-3000:]}")
            time.sleep(0.2)
        raise RuntimeError(f"worker not ready after {timeout_s} s")

    def kill_worker(self) -> None:
        """SIGKILL the whole worker process group (main process and pool children)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
        self._close_log()

    def stop_worker(self) -> None:
        """Stop the worker (SIGTERM to its group, then SIGKILL)."""
        if self.proc is not None:
            stop_process_group(self.proc)
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self) -> str:
        """The end of the worker log (for assertion messages)."""
        return self.log_path.read_text("utf-8", "replace")[-4000:] if self.log_path.exists() else ""

    def close(self) -> None:
        """Kill the worker (nothing to finish gracefully in a test) and release the database."""
        self.kill_worker()
        self.app.extensions["geobp_db"].dispose()


@pytest.fixture(scope="module", params=["redis-postgres", "embedded"])
def stack(request, tmp_path_factory):
    """A running deployment: Redis + PostgreSQL, or the embedded default (SQLite, no server)."""
    if request.param == "redis-postgres":
        database_url = request.getfixturevalue("postgres_url")
        broker_url = request.getfixturevalue("redis_url")
        # each module starts from an empty registry on the shared throwaway database
        engine = create_engine(database_url)
        with engine.begin() as conn:
            for table in (
                "network_aliases",
                "networks",
                "dataset_chunks",
                "training_jobs",
                "schedules",
            ):
                if engine.dialect.has_table(conn, table):
                    conn.execute(text(f"DELETE FROM {table}"))
        engine.dispose()
        redis.Redis.from_url(broker_url).flushdb()
    else:
        database_url = broker_url = None
    var_dir = tmp_path_factory.mktemp(request.param) / "var"
    deployment = Stack(request.param, var_dir, database_url, broker_url)
    deployment.start_worker()
    yield deployment
    deployment.close()
