"""docker-compose's reverse proxy, run for real: Debian's nginx with ``deploy/nginx.conf`` (only
the upstream address, the listening port and the pid file changed) in front of a real
``geobp serve`` on loopback. Slow clients are held by nginx, compute endpoints are rate limited
and nginx's own refusals come in the API's error shape."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from served import ROOT, Served, free_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def api(postgres_url, redis_url, tmp_path_factory):
    server = Served(
        tmp_path_factory.mktemp("nginx-api") / "var",
        {"GEOBP_DATABASE_URL": postgres_url, "GEOBP_BROKER_URL": redis_url},
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def proxy_port(api, tmp_path_factory):
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    assert Path(nginx).exists(), "nginx is missing: scripts/ensure-test-tools.sh installs it"
    work = tmp_path_factory.mktemp("nginx")
    port = free_port()
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    for old, new in (
        ("server api:8000;", f"server 127.0.0.1:{api.port};"),
        ("listen 8080;", f"listen 127.0.0.1:{port};"),
        ("pid /tmp/nginx.pid;", f"pid {work}/nginx.pid;"),
    ):
        assert old in conf, old
        conf = conf.replace(old, new)
    (work / "nginx.conf").write_text(conf)
    (work / "logs").mkdir()
    proc = subprocess.Popen(
        [nginx, "-p", str(work), "-c", str(work / "nginx.conf"), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.05)
    yield port
    proc.terminate()
    proc.wait(timeout=10)


def _request(port: int, method: str, path: str, body: bytes | None = None, timeout_s=5.0):
    """``(status, parsed JSON body)`` of one request through the proxy."""
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1{path}",
        data=body,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_the_proxy_passes_requests_to_the_api(proxy_port):
    status, body = _request(proxy_port, "GET", "/health")
    assert status == 200 and body["status"] == "ok"


def test_32_slow_clients_at_the_proxy_leave_health_answering_within_a_second(proxy_port):
    socks = []
    for i in range(32):
        sock = socket.create_connection(("127.0.0.1", proxy_port), timeout=5)
        sock.sendall(
            b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n"
            if i % 2
            else b"POST /api/v1/forward-models/ves-schlumberger/forward HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
        )
        socks.append(sock)
    stop = threading.Event()

    def dribble() -> None:
        while not stop.wait(0.2):
            for i, sock in enumerate(socks):
                try:
                    sock.sendall(b" " if i % 2 == 0 else b"X-Slow: y\r\n")
                except OSError:
                    pass

    thread = threading.Thread(target=dribble, daemon=True)
    thread.start()
    try:
        time.sleep(0.5)
        for _ in range(3):
            status, body = _request(proxy_port, "GET", "/health", timeout_s=1.0)
            assert status == 200 and body["status"] == "ok"
    finally:
        stop.set()
        thread.join()
        for sock in socks:
            sock.close()


def test_compute_endpoints_are_rate_limited_with_a_json_429(proxy_port):
    body = json.dumps(
        {"config": {"n_layers": 2, "ab2_m": [1, 2, 5]}, "models": [[10, 100, 5]]}
    ).encode()
    statuses, refusals = [], []
    for _ in range(80):  # bursts of 40 pass at 10/s: 80 at once must meet the limit
        status, answer = _request(
            proxy_port, "POST", "/forward-models/ves-schlumberger/forward", body
        )
        statuses.append(status)
        if status == 429:
            refusals.append(answer)
    assert 200 in statuses and refusals, statuses
    assert refusals[0]["error"]["code"] == "too_many_requests"
    status, _ = _request(proxy_port, "GET", "/health")
    assert status == 200  # other endpoints are not limited


def test_a_body_over_the_proxy_limit_gets_a_json_413(proxy_port):
    # a path outside the rate-limited ones, so the test does not depend on the one above
    status, answer = _request(proxy_port, "POST", "/training-jobs", b"[" + b" " * (9 << 20) + b"]")
    assert status == 413 and answer["error"]["code"] == "payload_too_large"
