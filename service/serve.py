"""``geobp serve``: the API (gunicorn, or Werkzeug where gunicorn is missing) and, on the embedded
default, a Celery worker process (with beat) on the embedded broker; when the registry is empty a
default 3-layer Schlumberger network is trained so inversion works right away.

    python -m service.serve [--host 127.0.0.1] [--port 8000]
"""

from __future__ import annotations

import argparse
import atexit
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
from flask import Flask
from kombu.exceptions import OperationalError as KombuOperationalError
from sqlalchemy import func, select

from service.app import create_app
from service.config import TOKEN_FILE_NAME, Settings, load_settings
from service.starter import queue_starter_set, queue_upgrade
from service.supervisor import Supervisor

log = logging.getLogger(__name__)

DEFAULT_NETWORK_NAME = "schlumberger-3l"


def default_job_spec() -> dict[str, Any]:
    """The job trained on first start: 3-layer Schlumberger (ideal MN), 19 AB/2 from 1 to 300 m,
    30,000 samples, a 3-member ensemble — a few minutes at most on 2 cores."""
    ab2_m = [round(float(x), 2) for x in np.logspace(0, np.log10(300.0), 19)]
    return {
        "name": DEFAULT_NETWORK_NAME,
        "forward_model": {"name": "ves-schlumberger", "n_layers": 3, "ab2_m": ab2_m, "mn2_m": None},
        "bounds": {"rho_ohmm": [1.0, 5000.0], "thickness_m": [0.5, 100.0]},
        "n_samples": 30_000,
        "noise": {"rho_a_rel": 0.03, "phase_deg": 1.0},
        "seed": 1,
        "network": {"hidden": 64, "max_epochs": 300, "n_members": 3, "patience": 20},
    }


def ensure_default_network(app: Flask) -> str | None:
    """Submit the default training job when no network and no unfinished job exist; return its
    id (None when nothing was submitted)."""
    from service import schemas
    from service.api.training_jobs import submit_new_job
    from service.extensions import get_db
    from service.models import Network, TrainingJob
    from service.training_spec import check_training_spec

    with app.app_context():
        with get_db().session() as session:
            n_networks = session.scalar(select(func.count(Network.id)))
            n_open = session.scalar(
                select(func.count(TrainingJob.id)).where(
                    TrainingJob.status.in_(("queued", "running"))
                )
            )
        if n_networks or n_open:
            return None
        spec = check_training_spec(schemas.TrainingJobCreate.model_validate(default_job_spec()))
        job = submit_new_job(spec)
        log.info("registry empty: submitted default training job %s", job.id)
        return job.id


def worker_env(settings: Settings) -> dict[str, str]:
    """The environment for child processes: the same settings, resolved."""
    env = dict(os.environ)
    env.update(
        GEOBP_VAR_DIR=str(settings.var_dir),
        GEOBP_DATABASE_URL=settings.database_url,
        GEOBP_BROKER_URL=settings.broker_url,
        GEOBP_ARTIFACT_DIR=str(settings.artifact_dir),
        GEOBP_API_TOKEN=settings.api_token,
    )
    return env


def start_embedded_worker(settings: Settings, concurrency: int = 2) -> Supervisor:
    """Start ``python -m worker.main --beat`` (a real Celery worker + beat) as a child process in
    its own process group, restarted whenever it dies (:class:`service.supervisor.Supervisor`);
    it is stopped when this process exits."""
    log_path = settings.var_dir / "worker.log"
    owner = os.getpid()

    def _start() -> subprocess.Popen:
        return _popen_worker(settings, concurrency, log_path)

    supervisor = Supervisor(_start, stop_process_group, settings.var_dir)
    proc = supervisor.run()
    log.info("embedded worker pid %d, log %s", proc.pid, log_path)

    def _stop() -> None:
        if os.getpid() == owner:  # not in a forked HTTP worker exiting: not ours to stop
            supervisor.shutdown()

    atexit.register(_stop)
    return supervisor


def _popen_worker(settings: Settings, concurrency: int, log_path: Path) -> subprocess.Popen:
    with open(log_path, "ab") as handle:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            _worker_command(concurrency),
            env=worker_env(settings),
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _worker_command(concurrency: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "worker.main",
        "--beat",
        "--concurrency",
        str(concurrency),
        "--hostname",
        "embedded@%h",
    ]


def stop_process_group(proc: subprocess.Popen, timeout_s: float = 20) -> None:
    """End ``proc``, started in its own session, with its children: SIGTERM to its process
    group, then SIGKILL if it has not ended within ``timeout_s``; reaps ``proc``."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


def _run_http(app: Flask, host: str, port: int, workers: int, threads: int) -> None:
    try:
        from gunicorn.app.base import BaseApplication
    except ImportError:  # e.g. Windows: Werkzeug's threaded server
        app.run(host=host, port=port, threaded=True, use_reloader=False)
        return

    from . import gunicorn_conf

    class _Gunicorn(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            for name, value in vars(gunicorn_conf).items():  # as `gunicorn -c python:…` does
                if name in self.cfg.settings:
                    self.cfg.set(name, value)

        def load(self) -> Flask:
            return app

    _Gunicorn().run()


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 2, threads: int = 8) -> None:
    """Run the service until interrupted: migrate, start the embedded worker (embedded broker),
    train the default network if the registry is empty, queue the missing served networks and
    their physics-guided upgrade (any broker), print URL and token, serve HTTP."""
    settings = load_settings()
    app = create_app({"GEOBP": settings})
    if settings.embedded_broker:
        start_embedded_worker(settings)
        job_id = ensure_default_network(app)
        if job_id:
            print(f"training the default network {DEFAULT_NETWORK_NAME!r}: job {job_id}")
    served = settings.artifact_dir / "served"  # on Redis too: a `geobp worker` trains them
    celery = app.extensions["geobp_celery"]
    try:
        if queue_starter_set(celery, served):
            print(f"training the served networks into {served} (GET /api/v1/served)", flush=True)
        if settings.served_upgrade and queue_upgrade(celery, served):
            print(
                "then upgrading the VES and MT networks to physics-guided ones, one at a time "
                "(GEOBP_SERVED_UPGRADE=0 turns this off)",
                flush=True,
            )
    except KombuOperationalError as exc:  # Redis down: serve anyway; the next start queues them
        log.warning("could not queue the served networks' training: %s", exc)
    url = f"http://{host}:{port}"
    print(f"geobp serving on {url}  (API {url}/api/v1, docs {url}/api/v1/docs)", flush=True)
    print(_token_line(settings), flush=True)
    app.extensions["geobp_db"].dispose()  # the HTTP workers open their own connections
    _run_http(app, host, port, workers, threads)


def _token_line(settings: Settings) -> str:
    """The token itself only on the start that generated it; afterwards where it is kept."""
    stored = settings.var_dir / TOKEN_FILE_NAME
    if settings.token_generated:
        return f"API token: {settings.api_token}  (stored in {stored}; shown this once)"
    where = "GEOBP_API_TOKEN" if os.environ.get("GEOBP_API_TOKEN") else str(stored)
    return f"API token: in {where}"


def main(argv: list[str] | None = None) -> int:
    """``python -m service.serve``."""
    parser = argparse.ArgumentParser(prog="geobp serve", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=2, help="HTTP worker processes")
    parser.add_argument("--threads", type=int, default=8, help="threads per HTTP worker")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    serve(args.host, args.port, args.workers, args.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
