"""Browser end-to-end fixtures: the real app (Werkzeug, threaded) and a real Celery worker on the
embedded broker over a fresh temporary SQLite database, driven by Debian's headless Chromium.

Screenshots go to ``test-artifacts/browser/`` at the repository root (gitignored).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from service.serve import stop_process_group

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "browser"
CHROMIUM = os.environ.get("GEOBP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TOKEN = "browser-test-token"
#: geometry of the small network every test shares (AB/2 in m)
AB2_M = [1.0, 1.5, 2.2, 3.2, 4.6, 6.8, 10.0, 15.0, 22.0, 32.0, 46.0, 68.0, 100.0, 150.0, 220.0]
NETWORK_SPEC: dict[str, Any] = {
    "name": "browser-ves-3l",
    "forward_model": {"name": "ves-schlumberger", "n_layers": 3, "ab2_m": AB2_M, "mn2_m": None},
    "bounds": {"rho_ohmm": [1.0, 5000.0], "thickness_m": [0.5, 100.0]},
    "n_samples": 3000,
    "seed": 3,
    "network": {"hidden": 32, "max_epochs": 40, "n_members": 2, "patience": 10},
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _interrupt(signum: int, frame: Any) -> None:
    """SIGTERM → KeyboardInterrupt, so pytest still runs the fixture teardown that stops the
    server and the worker (a plain SIGTERM would leave them running)."""
    raise KeyboardInterrupt(f"signal {signum}")


@dataclass
class LiveServer:
    """The running service: base URL, token and small JSON helpers over urllib."""

    url: str
    token: str
    var_dir: Path
    logs: list[Path] = field(default_factory=list)

    def request(self, method: str, path: str, body: Any = None, auth: bool = False) -> Any:
        """Call ``/api/v1<path>``; return the parsed JSON (None for 204)."""
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if auth:
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(
            f"{self.url}/api/v1{path}", data=data, headers=headers, method=method
        )
        with urllib.request.urlopen(req, timeout=30) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def wait_job(self, job_id: str, timeout_s: float = 150.0) -> dict[str, Any]:
        """Poll a training job until it finishes; return its final resource."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            job = self.request("GET", f"/training-jobs/{job_id}")
            if job["status"] in ("succeeded", "failed", "cancelled"):
                return job
            time.sleep(0.5)
        tails = "\n".join(p.read_text(errors="replace")[-3000:] for p in self.logs if p.exists())
        raise AssertionError(f"job {job_id} did not finish in {timeout_s} s\n{tails}")


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app on a free port plus one Celery worker (with beat), fresh var dir and database."""
    var_dir = tmp_path_factory.mktemp("geobp-var")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEOBP_")}
    env.update(
        GEOBP_VAR_DIR=str(var_dir),
        GEOBP_API_TOKEN=TOKEN,
        GEOBP_PROGRESS_INTERVAL_S="0.2",
        PYTHONPATH=str(REPO) + os.pathsep + env.get("PYTHONPATH", ""),
    )
    app_code = (
        "from service.app import create_app; "
        f"create_app().run(host='127.0.0.1', port={port}, threaded=True, use_reloader=False)"
    )
    server_log = var_dir / "server.log"
    worker_log = var_dir / "worker.log"
    with open(server_log, "wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-c", app_code],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    live = LiveServer(
        url=f"http://127.0.0.1:{port}", token=TOKEN, var_dir=var_dir, logs=[server_log, worker_log]
    )
    worker = None
    previous_handler = signal.signal(signal.SIGTERM, _interrupt)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{live.url}/api/v1/forward-models", timeout=5).read()
                break
            except (urllib.error.URLError, ConnectionError):
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "the app did not start:\n" + server_log.read_text(errors="replace")
                    ) from None
                time.sleep(0.3)
        # started after the app migrated the database, so the two never race on it
        with open(worker_log, "wb") as out:
            worker = subprocess.Popen(
                [sys.executable, "-m", "worker.main", "--beat", "--concurrency", "1"],
                cwd=REPO,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        yield live
    finally:
        if worker is not None:
            stop_process_group(worker)
        stop_process_group(server)
        signal.signal(signal.SIGTERM, previous_handler)


@pytest.fixture(scope="session")
def trained_network(live_server: LiveServer) -> dict[str, Any]:
    """A small Schlumberger network trained by the real worker through the API."""
    job = live_server.request("POST", "/training-jobs", NETWORK_SPEC, auth=True)
    final = live_server.wait_job(job["id"])
    assert final["status"] == "succeeded", final
    return live_server.request("GET", f"/networks/{final['network_id']}")


MT_PERIODS_S = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0]
MT_NETWORK_SPEC: dict[str, Any] = {
    "name": "browser-mt-2l",
    "forward_model": {"name": "mt-1d", "n_layers": 2, "periods_s": MT_PERIODS_S},
    "bounds": {"rho_ohmm": [1.0, 5000.0], "thickness_m": [10.0, 5000.0]},
    "n_samples": 2000,
    "seed": 4,
    "network": {"hidden": 32, "max_epochs": 30, "n_members": 2, "patience": 10},
}


@pytest.fixture(scope="session")
def trained_mt_network(live_server: LiveServer) -> dict[str, Any]:
    """A small two-layer MT network, trained like :func:`trained_network`."""
    job = live_server.request("POST", "/training-jobs", MT_NETWORK_SPEC, auth=True)
    final = live_server.wait_job(job["id"])
    assert final["status"] == "succeeded", final
    return live_server.request("GET", f"/networks/{final['network_id']}")


#: tiny served networks (as tests/service/test_svc_invert_served.py): well under a second to train
SERVED_TINY = {
    "n_samples": 3000,
    "n_members": 2,
    "network": {"hidden": 16, "max_epochs": 8, "learning_rate": 3e-3},
}


@pytest.fixture(scope="session")
def served_networks(live_server: LiveServer) -> Path:
    """Tiny Schlumberger served networks (every layer count) written where the live server reads
    them (``GEOBP_ARTIFACT_DIR/served``); the API reloads the set when its files change."""
    from inversion.served import TrainingSettings, save_set, train_set

    folder = live_server.var_dir / "artifacts" / "served"
    save_set(train_set(("ves-schlumberger",), TrainingSettings(**SERVED_TINY)), folder)
    return folder


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, through Playwright (no browser download)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(
            f"{CHROMIUM} is missing: install Debian's chromium (scripts/ensure-test-tools.sh)"
        )
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@dataclass
class Tab:
    """A page plus the console errors and uncaught exceptions it produced."""

    page: Any
    errors: list[str]

    def screenshot(self, name: str) -> Path:
        """Save a full-page screenshot under ``test-artifacts/browser/``."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture(scope="session")
def browser_context(browser: Any) -> Iterator[Any]:
    """One browser context for the session, so the 4.6 MB ``plotly.min.js`` is fetched once and
    then served from the HTTP cache; each test still opens its own tabs (own sessionStorage)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(20_000)
    yield context
    context.close()


@pytest.fixture
def open_tab(browser_context: Any, live_server: LiveServer) -> Iterator[Callable[..., Tab]]:
    """``open_tab(path, width=1280, height=800, setup=None)`` → a :class:`Tab` (a new page) at
    ``path``; ``setup(page)`` runs before navigation (e.g. to add a route)."""
    pages = []

    def _open(
        path: str,
        width: int = 1280,
        height: int = 800,
        setup: Callable[[Any], None] | None = None,
    ) -> Tab:
        page = browser_context.new_page()
        page.set_viewport_size({"width": width, "height": height})
        pages.append(page)
        errors: list[str] = []
        page.on(
            "console",
            lambda msg: (
                errors.append(f"console.{msg.type}: {msg.text}") if msg.type == "error" else None
            ),
        )
        page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
        if setup is not None:
            setup(page)
        page.goto(live_server.url + path)
        return Tab(page=page, errors=errors)

    yield _open
    for page in pages:
        page.close()
