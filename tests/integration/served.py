"""A real ``geobp serve`` (gunicorn + the app) on a loopback port, started and stopped by tests."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from service.serve import stop_process_group

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "hardening-token"


def wait_until(
    what: str,
    check: Callable[[], Any],
    timeout_s: float,
    interval_s: float = 0.25,
    context: Callable[[], str] | None = None,
) -> Any:
    """Poll ``check()`` every ``interval_s`` until it returns something truthy; that value.
    AssertionError after ``timeout_s``, with ``context()`` (e.g. a log tail) appended."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval_s)
    detail = f"\n{context()}" if context else ""
    raise AssertionError(f"not seen within {timeout_s} s: {what}{detail}")


def assert_not_ready(server: Served) -> None:
    """A Schlumberger sounding posted to ``/invert`` before any served network: 503 not_ready."""
    field = {"ab2_m": [1, 2, 5, 10, 20, 50], "rho_a_ohmm": [50, 48, 40, 35, 40, 60]}
    status, body = server.request("POST", "/invert", {"data": field})
    assert status == 503, body[:300]
    assert json.loads(body)["error"]["code"] == "not_ready"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Served:
    """``python -m service.serve`` with ``env`` (GEOBP_* settings) on a free loopback port;
    the physics-guided upgrade is off unless ``env`` turns it on."""

    def __init__(self, var_dir: Path, env: dict[str, str]) -> None:
        self.var_dir = var_dir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}/api/v1"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("GEOBP_")}
        self.env.update(
            GEOBP_VAR_DIR=str(var_dir),
            GEOBP_API_TOKEN=TOKEN,
            GEOBP_SERVED_UPGRADE="0",  # an upgrade trains for an hour: only where a test asks
            PYTHONPATH=str(ROOT),
        )
        self.env.update(env)
        self.log_path = var_dir.parent / f"serve-{self.port}.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout_s: float = 60.0) -> None:
        """Start the server and wait until ``/health`` answers."""
        with open(self.log_path, "ab") as handle:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "service.serve", "--port", str(self.port)],
                cwd=ROOT,
                env=self.env,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"geobp serve exited:\n{self.log_tail()}") from None
                time.sleep(0.1)
        raise RuntimeError(f"geobp serve not listening after {timeout_s} s\n{self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM to the server's process group (its HTTP and embedded workers), then SIGKILL."""
        if self.proc is not None:
            stop_process_group(self.proc, timeout_s=30)

    def log_tail(self) -> str:
        return self.log_path.read_text("utf-8", "replace")[-4000:]

    def request(
        self, method: str, path: str, body: Any = None, auth: bool = False, timeout_s: float = 30
    ) -> tuple[int, bytes]:
        """``(status, body bytes)`` of one request; ``body`` is sent as JSON."""
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data is not None else {}
        if auth:
            headers["Authorization"] = f"Bearer {TOKEN}"
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout_s) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()
