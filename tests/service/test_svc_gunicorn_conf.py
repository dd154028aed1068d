"""service.gunicorn_conf: HTTP workers run under SCHED_BATCH (checked in a fresh process)."""

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from service import gunicorn_conf

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import os, threading
from service.gunicorn_conf import post_fork
before = os.sched_getscheduler(0)
post_fork(None, None)
seen = []
thread = threading.Thread(target=lambda: seen.append(os.sched_getscheduler(0)))
thread.start(); thread.join()
print(before, os.sched_getscheduler(0), seen[0])
"""


@pytest.mark.skipif(not hasattr(os, "SCHED_BATCH"), reason="SCHED_BATCH is Linux-only")
def test_post_fork_switches_the_worker_and_its_later_threads_to_sched_batch():
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    before, main_thread, later_thread = map(int, out)
    assert before == os.SCHED_OTHER
    assert main_thread == later_thread == os.SCHED_BATCH


def test_settings_are_the_ones_serve_uses():
    assert gunicorn_conf.worker_class == "service.gunicorn_conf.BalancedThreadWorker"
    assert gunicorn_conf.timeout == 120


def test_a_worker_accepts_only_while_no_sibling_holds_fewer_connections():
    assert gunicorn_conf.accepts(3, [])
    assert gunicorn_conf.accepts(3, [3, 5])
    assert not gunicorn_conf.accepts(4, [3, 5])


@pytest.fixture
def slots():
    """The shared slot table, emptied for the test and restored after."""
    saved = (
        list(gunicorn_conf._slot_pids),
        list(gunicorn_conf._slot_conns),
        gunicorn_conf._slots_used.value,
    )
    gunicorn_conf._slot_pids[:] = [0] * len(saved[0])
    gunicorn_conf._slots_used.value = 2
    yield gunicorn_conf._slot_pids, gunicorn_conf._slot_conns
    gunicorn_conf._slot_pids[:], gunicorn_conf._slot_conns[:] = saved[:2]
    gunicorn_conf._slots_used.value = saved[2]


def _worker(slot: int, conns: int) -> gunicorn_conf.BalancedThreadWorker:
    """A BalancedThreadWorker's balancing state only (no gunicorn process behind it)."""
    worker = object.__new__(gunicorn_conf.BalancedThreadWorker)
    worker._slot, worker.worker_connections, worker.nr_conns = slot, 1000, conns
    return worker


def test_a_worker_ahead_of_a_live_sibling_stops_accepting(slots):
    pids, conns = slots
    sibling = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        pids[0], pids[1] = os.getpid(), sibling.pid
        conns[1] = 3
        assert _worker(0, 3).worker_connections == 1000  # a tie: accept
        ahead = _worker(0, 4)
        assert ahead.worker_connections == 4 and conns[0] == 4  # published, not accepting
        sibling.kill()
        sibling.wait()
        assert ahead.worker_connections == 1000  # the dead sibling's slot is freed
        assert pids[1] == 0
    finally:
        sibling.kill()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gunicorn_pid_app():
    """gunicorn with our settings, 2 workers, serving tests/service/wsgi_pid.py; yields the
    port and the master process."""
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'tests' / 'service'}"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:service.gunicorn_conf"]
        + ["--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4", "wsgi_pid:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                _pid_over(http.client.HTTPConnection("127.0.0.1", port, timeout=5))
                break
            except OSError:
                time.sleep(0.1)
        yield port, proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _pid_over(conn: http.client.HTTPConnection) -> int:
    conn.request("GET", "/")
    response = conn.getresponse()
    assert response.status == 200
    return int(response.read())


def test_keep_alive_clients_spread_evenly_over_the_workers(gunicorn_pid_app):
    port, _ = gunicorn_pid_app
    time.sleep(1.5)  # gunicorn closes the probe's idle connection (keepalive 2 s)
    conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(16)]
    try:
        t0 = time.monotonic()
        owners = Counter(_pid_over(conn) for conn in conns)  # one by one, each kept open
        elapsed_s = time.monotonic() - t0
        # plain gthread workers split them 14 : 2, 16 : 0, 9 : 7 in three tries
        assert len(owners) == 2 and max(owners.values()) - min(owners.values()) <= 1, owners
        # a held-back worker takes up accepting again at once (not after gthread's 1 s wait),
        # so no connection waited and none went idle past the 2 s keep-alive
        assert elapsed_s < 1.0
        assert Counter(_pid_over(conn) for conn in conns) == owners
    finally:
        for conn in conns:
            conn.close()


def test_a_killed_worker_does_not_stop_the_others_accepting(gunicorn_pid_app):
    port, _ = gunicorn_pid_app
    first = [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(4)]
    victim = Counter(_pid_over(conn) for conn in first).most_common(1)[0][0]
    os.kill(victim, signal.SIGKILL)
    later = [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(8)]
    try:
        served = [_pid_over(conn) for conn in later]
        assert len(served) == 8 and victim not in served
    finally:
        for conn in first + later:
            conn.close()
