"""gunicorn settings shared by ``geobp serve`` and docker-compose (``gunicorn -c
python:service.gunicorn_conf``).

* ``post_fork`` puts each HTTP worker process under Linux's ``SCHED_BATCH`` policy (its threads
  inherit it). Under ``SCHED_BATCH`` a thread that wakes does not preempt the running one: when a
  request thread hands a result to the threads waiting on it (the inversion micro-batcher, the
  gthread pool), the waker keeps its core. Elsewhere (no ``SCHED_BATCH``) it does nothing.
* ``worker_class`` is :class:`BalancedThreadWorker`: gunicorn's gthread worker, except that a
  worker holding more open connections than its least-loaded sibling stops accepting new ones
  until the sibling catches up. Plain gthread workers take connections by who accepts first, so
  16 keep-alive clients may split 11 : 5, and the clients of the busier process (held to one
  core by the GIL) wait about twice as long. It also reads each request whole in its event loop
  before a thread runs it (:mod:`service.request_buffering`), so slow clients cannot hold the
  threads; ``GEOBP_HEADER_TIMEOUT_S`` and ``GEOBP_BODY_TIMEOUT_S`` bound them (408).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from typing import Any

from gunicorn import util as gunicorn_util
from gunicorn.workers.gthread import ThreadWorker

from service.config import positive_number
from service.request_buffering import RequestBufferingMixin, write_json_error

worker_class = "service.gunicorn_conf.BalancedThreadWorker"
accesslog = None
timeout = 120
control_socket_disable = True

logger = logging.getLogger(__name__)

_MAX_WORKERS = 256
_HELD_BACK_WAIT_S = 0.005  # event wait of a worker that is not accepting
# Shared by the master and the workers it forks: a slot per worker, its pid (0: free) and its
# open connections.
_slot_lock = multiprocessing.Lock()
_slot_pids = multiprocessing.Array("q", _MAX_WORKERS, lock=False)
_slot_conns = multiprocessing.Array("q", _MAX_WORKERS, lock=False)
_slots_used = multiprocessing.Value("q", 0, lock=False)  # slots below this have been claimed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _claim_slot(pid: int) -> int | None:
    """A free slot (or one left by a dead worker) for ``pid``; None when all are taken."""
    with _slot_lock:
        for slot in range(_MAX_WORKERS):
            owner = _slot_pids[slot]
            if owner == 0 or not _alive(owner):
                _slot_pids[slot] = pid
                _slot_conns[slot] = 0
                _slots_used.value = max(_slots_used.value, slot + 1)
                return slot
    return None


def accepts(own_connections: int, sibling_connections: list[int]) -> bool:
    """Whether a worker holding ``own_connections`` may accept another, given its siblings'
    counts: only while none of them holds fewer."""
    return not sibling_connections or own_connections <= min(sibling_connections)


class BalancedThreadWorker(RequestBufferingMixin, ThreadWorker):
    """gthread worker that accepts only while it holds no more connections than its least-loaded
    live sibling (so keep-alive clients spread evenly over the processes), and that hands each
    request to a thread only once it has been read whole."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._slot: int | None = None
        self._limit = 0
        env = dict(os.environ)
        self.header_timeout_s = positive_number(env, "GEOBP_HEADER_TIMEOUT_S", 15.0)
        self.body_timeout_s = positive_number(env, "GEOBP_BODY_TIMEOUT_S", 30.0)
        self.max_body_bytes = int(positive_number(env, "GEOBP_MAX_CONTENT_LENGTH", 8 * 1024 * 1024))
        super().__init__(*args, **kwargs)

    def init_process(self) -> None:
        self._slot = _claim_slot(os.getpid())
        # gunicorn's own error answers (400, 414, 431…) in the API's JSON shape, not HTML:
        # ``util.write_error`` is the one place they are written (this worker process only)
        gunicorn_util.write_error = write_json_error
        super().init_process()

    def _ahead(self) -> bool:
        """Publish this worker's open connections; True when a live sibling holds fewer. A
        killed sibling's slot is freed on the way."""
        conns = getattr(self, "nr_conns", 0)
        if self._slot is None:
            return False
        _slot_conns[self._slot] = conns
        while True:
            used = _slots_used.value
            pids, counts = _slot_pids[:used], _slot_conns[:used]
            siblings = [
                (counts[slot], pids[slot], slot)
                for slot in range(used)
                if slot != self._slot and pids[slot] != 0
            ]
            if accepts(conns, [count for count, _, _ in siblings]):
                return False
            _, pid, slot = min(siblings)
            if _alive(pid):
                return True
            with _slot_lock:
                if _slot_pids[slot] == pid:
                    _slot_pids[slot] = 0

    def accept(self, listener: Any) -> None:
        """Accept a connection unless a sibling holds fewer (it will take this one); the new
        count is published at once, so siblings never see a count lower than the real one."""
        if self._ahead():
            return
        super().accept(listener)
        if self._slot is not None:
            _slot_conns[self._slot] = self.nr_conns

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        """gthread's event wait, shortened to a few ms while this worker does not accept: when a
        sibling overtakes it, it must take up accepting again without sleeping out gthread's
        one-second wait (meanwhile new connections would wait in the backlog)."""
        if not self._accepting:
            timeout = min(timeout, _HELD_BACK_WAIT_S)
        super().wait_for_and_dispatch_events(timeout)

    @property
    def worker_connections(self) -> int:
        """gthread's connection cap, read by its event loop before each wait: lowered to the
        current count (no accepting) while a live sibling holds fewer connections."""
        if self._ahead():
            return min(getattr(self, "nr_conns", 0), self._limit)
        return self._limit

    @worker_connections.setter
    def worker_connections(self, value: int) -> None:
        self._limit = value


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
