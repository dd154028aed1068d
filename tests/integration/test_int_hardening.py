"""Hardening (issue 14) against a real ``geobp serve`` on loopback: slow clients cannot starve the
API, one database connection per process (PostgreSQL + Redis); the embedded worker is supervised
(SQLite + embedded broker)."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from served import TOKEN, Served, wait_until

from service import registry
from service.app import create_app
from service.config import load_settings
from service.supervisor import read_state

pytestmark = pytest.mark.integration

HEADER_TIMEOUT_S = 3
MAX_BODY_BYTES = 1 << 20


@pytest.fixture(scope="module")
def pg_server(postgres_url, redis_url, tmp_path_factory):
    """``geobp serve`` on PostgreSQL + Redis, with short read timeouts for the slow-client test."""
    server = Served(
        tmp_path_factory.mktemp("hardening-pg") / "var",
        {
            "GEOBP_DATABASE_URL": postgres_url,
            "GEOBP_BROKER_URL": redis_url,
            "GEOBP_HEADER_TIMEOUT_S": str(HEADER_TIMEOUT_S),
            "GEOBP_BODY_TIMEOUT_S": str(HEADER_TIMEOUT_S),
            "GEOBP_MAX_CONTENT_LENGTH": str(MAX_BODY_BYTES),
        },
    )
    server.start()
    yield server
    server.stop()


def _slow_clients(port: int, n: int) -> list[socket.socket]:
    """``n`` connections, half stuck in their headers, half in a 1000-byte body."""
    socks = []
    for i in range(n):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        if i % 2:
            sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n")
        else:
            sock.sendall(
                b"POST /api/v1/forward-models/ves-schlumberger/forward HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
            )
        socks.append(sock)
    return socks


def _dribble(socks: list[socket.socket], stop: threading.Event) -> None:
    """One header line (or body byte) per connection every 0.2 s until ``stop``."""
    k = 0
    while not stop.wait(0.2):
        k += 1
        for i, sock in enumerate(socks):
            try:
                sock.sendall(b" " if i % 2 == 0 else f"X-Slow-{k}: y\r\n".encode())
            except OSError:
                pass


def test_32_slow_clients_leave_health_answering_within_a_second(pg_server):
    socks = _slow_clients(pg_server.port, 32)
    stop = threading.Event()
    dribbler = threading.Thread(target=_dribble, args=(socks, stop), daemon=True)
    dribbler.start()
    try:
        time.sleep(0.5)  # every slow request is now being read by the server
        for _ in range(3):
            status, body = pg_server.request("GET", "/health", timeout_s=1.0)
            assert status == 200 and json.loads(body)["status"] == "ok"
    finally:
        stop.set()
        dribbler.join()
        for sock in socks:
            sock.close()


@pytest.mark.parametrize("stuck_in", ["headers", "body"])
def test_a_client_too_slow_gets_a_json_408_and_is_closed(pg_server, stuck_in):
    body_client, header_client = _slow_clients(pg_server.port, 2)
    sock = header_client if stuck_in == "headers" else body_client
    (body_client if stuck_in == "headers" else header_client).close()
    sock.settimeout(HEADER_TIMEOUT_S + 10)
    received = b""
    with sock:
        while chunk := sock.recv(4096):  # ends when the server closes the connection
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), received
    error = json.loads(body)["error"]
    assert error["code"] == "request_timeout" and stuck_in in error["message"]


def _raw_exchange(port: int, request: bytes) -> tuple[bytes, dict]:
    """Send ``request`` as is; the status line and the JSON body of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in head.lower(), received[:300]
    return head.split(b"\r\n")[0], json.loads(body)


def _chunked(payload: bytes, size: int = 65536) -> bytes:
    pieces = [payload[i : i + size] for i in range(0, len(payload), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        (b"GARBAGE\r\n\r\n", b"400", "bad_request"),
        (b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", b"414", "uri_too_long"),
        (b"GET / HTTP/1.1\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n", b"431", "headers_too_large"),
        (
            b"POST /api/v1/forward-models/ves-schlumberger/forward HTTP/1.1\r\nHost: x\r\n"
            b"Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n"
            + _chunked(b" " * (MAX_BODY_BYTES + 100_000)),
            b"413",
            "payload_too_large",
        ),
    ],
    ids=["bad-request-line", "uri-too-long", "header-too-large", "chunked-over-the-limit"],
)
def test_errors_gunicorn_answers_itself_are_json(pg_server, request_bytes, status, code):
    status_line, body = _raw_exchange(pg_server.port, request_bytes)
    assert status_line.split()[1] == status
    assert body["error"]["code"] == code and body["error"]["message"]


def test_a_client_expecting_100_continue_gets_it_before_sending_its_body(pg_server):
    body = json.dumps({"config": {"n_layers": 2, "ab2_m": [1, 2]}, "models": [[10, 100, 5]]})
    head = (
        "POST /api/v1/forward-models/ves-schlumberger/forward HTTP/1.1\r\nHost: x\r\n"
        "Content-Type: application/json\r\nExpect: 100-continue\r\nConnection: close\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", pg_server.port), timeout=10) as sock:
        sock.sendall(head.encode())
        assert sock.recv(4096) == b"HTTP/1.1 100 Continue\r\n\r\n"  # before any body byte
        sock.sendall(body.encode())
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    assert received.startswith(b"HTTP/1.1 200") and b"100 Continue" not in received


def test_right_after_a_restart_16_x_10_database_requests_all_succeed(pg_server):
    pg_server.stop()
    pg_server.start()

    def ten_requests(i: int) -> list[tuple[int, bytes]]:
        paths = ["/networks", "/training-jobs", "/health", "/schedules"]
        return [pg_server.request("GET", paths[(i + k) % 4]) for k in range(10)]

    with ThreadPoolExecutor(16) as pool:
        answers = [a for batch in pool.map(ten_requests, range(16)) for a in batch]
    errors = [(status, body[:200]) for status, body in answers if status != 200]
    assert len(answers) == 160 and not errors, (errors, pg_server.log_tail())


@pytest.fixture(scope="module")
def embedded_server(tmp_path_factory):
    """``geobp serve`` on the embedded default, its registry seeded with one network so that it
    does not train the default one."""
    var_dir = tmp_path_factory.mktemp("hardening-embedded") / "var"
    app = create_app({"GEOBP": load_settings(env={}, var_dir=var_dir, api_token=TOKEN)})
    record = {
        "name": "seeded",
        "forward_model": {"name": "ves-schlumberger", "n_layers": 2, "ab2_m": [1.0, 2.0]},
        "domain": {},
        "noise": {},
        "network_config": {},
        "metrics": {},
        "job_id": None,
        "seed": 0,
        "n_samples": 100,
        "code_version": "test",
    }
    registry.register_network(
        app.extensions["geobp_db"],
        app.extensions["geobp_artifacts"],
        record,
        lambda path: path.write_bytes(b"x"),
    )
    app.extensions["geobp_db"].dispose()
    server = Served(var_dir, {})
    server.start()
    yield server
    worker = read_state(var_dir)
    if worker and worker["ok"]:  # nothing to finish gracefully in a test
        os.killpg(worker["pid"], signal.SIGKILL)
    server.stop()


def _json(server, method, path, body=None, auth=False):
    status, raw = server.request(method, path, body, auth=auth)
    return status, json.loads(raw) if raw else None


TRAINING_SPEC = {
    "name": "supervised",
    "forward_model": {"name": "ves-schlumberger", "n_layers": 2, "ab2_m": [1, 2, 5, 10, 20]},
    "n_samples": 2000,
    "n_test": 100,
    "network": {"hidden": 32, "max_epochs": 4000, "n_members": 1, "early_stopping": False},
}


def _submit_and_wait_for_epochs(server) -> str:
    status, job = _json(server, "POST", "/training-jobs", TRAINING_SPEC, auth=True)
    assert status == 202, job
    path = f"/training-jobs/{job['id']}"
    wait_until(
        "training under way",
        lambda: (_json(server, "GET", path)[1]["progress"].get("epoch") or 0) >= 2,
        120,
    )
    return path


def _busiest_child(pid: int) -> int:
    """The child process of ``pid`` that has used the most CPU (the pool process training)."""
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as handle:
                    fields = handle.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                children.append((int(fields[11]) + int(fields[12]), int(entry)))
    return max(children)[1]


def test_the_embedded_worker_is_restarted_and_reported_and_its_job_finishes(embedded_server):
    server = embedded_server
    health = wait_until(
        "embedded worker running",
        lambda: (
            (h := _json(server, "GET", "/health")[1])["broker"].get("worker", {}).get("ok") and h
        ),
        60,
    )
    worker = health["broker"]["worker"]
    assert worker["restarts"] == 0 and health["status"] == "ok"
    path = _submit_and_wait_for_epochs(server)
    os.killpg(worker["pid"], signal.SIGKILL)  # the worker's whole process group

    restarted = wait_until(
        "a restarted worker in /health",
        lambda: (
            (w := _json(server, "GET", "/health")[1]["broker"]["worker"])["restarts"] == 1
            and w["ok"]
            and w
        ),
        60,
    )
    assert restarted["pid"] != worker["pid"]
    final = wait_until(
        "the job finished",
        lambda: (j := _json(server, "GET", path)[1])["status"] in ("succeeded", "failed") and j,
        180,
    )
    assert final["status"] == "succeeded" and final["attempts"] == 2, final


def test_a_killed_training_process_is_counted_with_its_reason(embedded_server):
    server = embedded_server
    worker = wait_until(
        "embedded worker running",
        lambda: (w := _json(server, "GET", "/health")[1]["broker"]["worker"])["ok"] and w,
        60,
    )
    path = _submit_and_wait_for_epochs(server)
    os.kill(_busiest_child(worker["pid"]), signal.SIGKILL)  # Celery redelivers the task
    final = wait_until(
        "the job finished",
        lambda: (j := _json(server, "GET", path)[1])["status"] in ("succeeded", "failed") and j,
        180,
    )
    assert final["status"] == "succeeded", final
    assert [r for r in final["retry_reasons"] if "the process training it died" in r], final


def test_a_token_from_the_environment_is_not_printed(embedded_server):
    log = embedded_server.log_path.read_text("utf-8", "replace")
    assert "API token: in GEOBP_API_TOKEN" in log and TOKEN not in log


def _register_on(server, name: str, held_out_loss: float) -> str:
    """Register a (dummy-file) network on ``server``'s registry, as its worker would."""
    env = {k: v for k, v in server.env.items() if k.startswith("GEOBP_")}
    app = create_app({"GEOBP": load_settings(env=env)})
    record = {
        "name": name,
        "forward_model": {"name": "ves-schlumberger", "n_layers": 2, "ab2_m": [1.0, 2.0]},
        "domain": {},
        "noise": {},
        "network_config": {},
        "metrics": {"held_out_loss": held_out_loss},
        "job_id": None,
        "seed": 0,
        "n_samples": 100,
        "code_version": "test",
    }
    try:
        return registry.register_network(
            app.extensions["geobp_db"],
            app.extensions["geobp_artifacts"],
            record,
            lambda path: path.write_bytes(b"x"),
        )
    finally:
        app.extensions["geobp_db"].dispose()


def _at_once(*calls):
    """Run the calls in threads released together; their results in order."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


@pytest.mark.parametrize("mode", ["pg_server", "embedded_server"])
def test_alias_moves_racing_deletes_keep_production_and_deletes_give_one_204(request, mode):
    server = request.getfixturevalue(mode)
    for round_ in range(6):
        name = f"race-{mode[:2]}-{round_}"
        v1 = _register_on(server, name, held_out_loss=0.1)
        _register_on(server, name, held_out_loss=0.9)  # worse: production stays on v1
        move, *deletes = _at_once(
            lambda n=name: server.request(
                "POST", f"/networks/{n}@2/aliases", {"alias": "production"}, auth=True
            ),
            *[lambda n=name: server.request("DELETE", f"/networks/{n}@2", auth=True)] * 3,
        )
        assert move[0] in (200, 404), move
        assert sorted(status for status, _ in deletes) == [204, 404, 404], deletes
        status, body = server.request("GET", f"/networks/{name}?alias=production")
        assert status == 200 and json.loads(body)["id"] == v1, body
