"""``geobp serve`` on the embedded default (what ``make serve`` runs): URL and token printed, the
API healthy, an embedded Celery worker process running the default training job, and nothing left
behind when the server is stopped."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _processes_with(command_part: str, env_part: str) -> list[int]:
    """Pids whose command line contains ``command_part`` and environment ``env_part``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode("utf-8", "replace")
            environ = (entry / "environ").read_bytes().decode("utf-8", "replace")
        except OSError:
            continue
        if command_part in cmdline and env_part in environ:
            found.append(int(entry.name))
    return found


def test_serve_embedded_default(tmp_path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEOBP_")}
    env.update(GEOBP_VAR_DIR=str(tmp_path / "var"), PYTHONPATH=str(ROOT))
    log = tmp_path / "serve.log"
    with open(log, "wb") as handle:
        proc = subprocess.Popen(
            [sys.executable, "-m", "service.serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 90
        jobs: list = []
        ours: list[int] = []
        while time.monotonic() < deadline:
            try:
                jobs = _get(f"{base}/training-jobs")["items"]
                if jobs and jobs[0]["status"] == "running":
                    break
            except OSError:
                pass
            time.sleep(0.5)
        output = log.read_text()
        assert jobs and jobs[0]["status"] == "running", output
        assert jobs[0]["name"] == "schlumberger-3l"
        token = (tmp_path / "var" / "api-token").read_text().strip()
        assert f"API token: {token}" in output and f"http://127.0.0.1:{port}" in output
        health = _get(f"{base}/health")
        assert health["status"] == "ok" and health["broker"]["kind"] == "embedded"
        ours = _processes_with("worker.main", str(tmp_path))
        assert ours, "no embedded worker process"
        http_workers = [p for p in _processes_with("service.serve", str(tmp_path)) if p != proc.pid]
        assert http_workers, "no gunicorn worker process"
        assert all(os.sched_getscheduler(p) == os.SCHED_BATCH for p in http_workers)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline and any(_alive(pid) for pid in ours):
        time.sleep(0.5)
    assert not any(_alive(pid) for pid in ours), "embedded worker outlived the server"
