"""``geobp serve``'s embedded Celery worker, supervised: restarted when its process dies, its state
written to ``<var>/embedded-worker.json`` for ``GET /health`` (which HTTP worker processes
answer, not the process that supervises).

The restarted worker keeps its name (``embedded@host``), so it takes back the jobs its predecessor
was running (``JobStore.reclaim_lost_jobs``): nothing stays ``running`` or ``queued``.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

STATE_FILE_NAME = "embedded-worker.json"
_MAX_BACKOFF_S = 30.0


def state_path(var_dir: Path) -> Path:
    """Where the supervisor keeps the embedded worker's state."""
    return Path(var_dir) / STATE_FILE_NAME


def _running(pid: int) -> bool:
    """True when ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return sys.platform != "linux"  # on Linux /proc answered above


def read_state(var_dir: Path) -> dict[str, Any] | None:
    """``{"ok", "pid", "restarts", "state"}`` of the embedded worker; None when ``geobp serve``
    runs none (Redis deployments, or the app served some other way)."""
    try:
        state = json.loads(state_path(var_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict):
        return None
    pid = state.get("pid")
    state["ok"] = state.get("state") == "running" and isinstance(pid, int) and _running(pid)
    return state


class Supervisor:
    """Start ``start()`` (a ``subprocess.Popen`` in its own process group) and start it again
    whenever it exits, with a back-off of 1 s doubling to 30 s while it keeps dying within a
    minute; ``stop(proc)`` ends it for good."""

    def __init__(
        self,
        start: Callable[[], subprocess.Popen],
        stop: Callable[[subprocess.Popen], None],
        var_dir: Path,
        poll_s: float = 1.0,
    ) -> None:
        self._start, self._stop, self.var_dir, self.poll_s = start, stop, var_dir, poll_s
        self.restarts = 0
        self.proc: subprocess.Popen | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def run(self) -> subprocess.Popen:
        """Start the process and the watching thread; returns the first process."""
        self.proc = self._start()
        self._write("running")
        self._thread = threading.Thread(target=self._watch, name="embedded-worker", daemon=True)
        self._thread.start()
        return self.proc

    def _watch(self) -> None:
        backoff_s = 0.5
        started = time.monotonic()
        while not self._stopping.wait(self.poll_s):
            proc = self.proc
            if proc is None or proc.poll() is None:
                continue
            log.error("embedded worker (pid %d) exited (%s); restarting", proc.pid, proc.returncode)
            self._write("restarting")
            quick = time.monotonic() - started < 60  # kept dying: wait longer each time
            backoff_s = min(backoff_s * 2, _MAX_BACKOFF_S) if quick else 1.0
            if self._stopping.wait(backoff_s):
                return
            self.restarts += 1
            self.proc, started = self._start(), time.monotonic()
            self._write("running")

    def _write(self, state: str) -> None:
        body = {
            "pid": self.proc.pid if self.proc is not None else None,
            "restarts": self.restarts,
            "state": state,
        }
        path = state_path(self.var_dir)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(body), encoding="utf-8")
        tmp.replace(path)

    def shutdown(self) -> None:
        """Stop watching, end the process and remove the state file."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.proc is not None:
            self._stop(self.proc)
        state_path(self.var_dir).unlink(missing_ok=True)
