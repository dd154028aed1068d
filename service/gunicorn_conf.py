"""gunicorn settings shared by ``geobp serve`` and docker-compose (``gunicorn -c
python:service.gunicorn_conf``).

``post_fork`` puts each HTTP worker process under Linux's ``SCHED_BATCH`` policy (its threads
inherit it). Under ``SCHED_BATCH`` a thread that wakes does not preempt the running one: when a
request thread hands a result to the threads waiting on it (the inversion micro-batcher, the
gthread pool), the waker keeps its core instead of ping-ponging with a thread that would only
block on the GIL. With 16 concurrent clients on 2 cores this lowered the median latency by about
15 % (docs/benchmarks.md). Elsewhere (no ``SCHED_BATCH``) it does nothing.
"""

from __future__ import annotations

import logging
import os
from typing import Any

worker_class = "gthread"
accesslog = None
timeout = 120
control_socket_disable = True

logger = logging.getLogger(__name__)


def use_batch_scheduling() -> bool:
    """Switch the calling thread (and the threads it starts later) to ``SCHED_BATCH``; returns
    whether the policy is now in force."""
    policy = getattr(os, "SCHED_BATCH", None)
    if policy is None or not hasattr(os, "sched_setscheduler"):
        return False
    try:
        os.sched_setscheduler(0, policy, os.sched_param(0))
    except OSError as exc:
        logger.warning("SCHED_BATCH not available for the HTTP worker: %s", exc)
        return False
    return True


def post_fork(server: Any, worker: Any) -> None:
    """gunicorn hook, in each new worker process before its threads start."""
    use_batch_scheduling()
