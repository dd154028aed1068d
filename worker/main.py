"""``geobp worker``: run a Celery worker (and optionally beat) for the configured broker.

    python -m worker.main [--beat] [--queues geobp,train] [celery worker options…]

The Celery app is found by reference (``GEOBP_CELERY_APP``, default
``service.celery_entry:celery``), so this package imports nothing from the service.
"""

from __future__ import annotations

import logging
import os
import sys

from worker.queues import DEFAULT_QUEUE, GPU_QUEUE, TRAIN_QUEUE

log = logging.getLogger(__name__)

DEFAULT_APP = "service.celery_entry:celery"


def default_queues() -> list[str]:
    """``geobp`` and ``train``, plus ``gpu`` when this machine has CuPy and a GPU."""
    from bpnet import gpu_available

    queues = [DEFAULT_QUEUE, TRAIN_QUEUE]
    if gpu_available():
        queues.append(GPU_QUEUE)
    return queues


def worker_argv(argv: list[str]) -> list[str]:
    """Translate ``geobp worker`` arguments into ``celery`` CLI arguments."""
    args = list(argv)
    app_ref = os.environ.get("GEOBP_CELERY_APP", DEFAULT_APP)
    beat = False
    queues: str | None = None
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in ("-B", "--beat"):
            beat = True
        elif arg in ("-Q", "--queues") and i + 1 < len(args):
            queues = args[i + 1]
            i += 1
        elif arg.startswith("--queues="):
            queues = arg.split("=", 1)[1]
        elif arg in ("-A", "--app") and i + 1 < len(args):
            app_ref = args[i + 1]
            i += 1
        else:
            rest.append(arg)
        i += 1
    out = ["-A", app_ref, "worker", "-Q", queues or ",".join(default_queues())]
    if beat:
        out.append("-B")
    if not any(a.startswith(("-l", "--loglevel")) for a in rest):
        out += ["--loglevel", "INFO"]
    return out + rest


def run_worker(argv: list[str] | None = None) -> int:
    """Run a Celery worker in this process until it is stopped; returns the exit status."""
    from celery.bin.celery import celery as celery_cli

    args = worker_argv(list(sys.argv[1:] if argv is None else argv))
    log.info("celery %s", " ".join(args))
    try:
        celery_cli.main(args=args, prog_name="geobp worker", standalone_mode=False)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


if __name__ == "__main__":
    sys.exit(run_worker())
