"""Data-parallel training on several CPU cores: worker processes that back-propagate part of
every batch.

Why processes, not threads: two threads in lock step serialise on the GIL around each of the ~15
NumPy calls of a half-batch, and each wake-up of a thread blocked on it costs tens of µs on a
virtual machine (measured: 2 threads ran 1.5× one, 2 processes 2×; docs/methods.md). Worker
processes have their own interpreters, and wait for the next batch by polling their socket for a
short while (:data:`SPIN_S`) before they block, so a training loop never pays a wake-up.

Protocol: the parent maps one shared file (``/dev/shm``) holding the training array
``[X | 1 | Y]``, ``theta``, and per worker a gradient vector, a row-index buffer and a loss slot.
Workers are ``python -m bpnet._worker_main FD`` subprocesses (no ``multiprocessing``: nothing
re-imports the caller's ``__main__``, and daemonic parents such as Celery's pool work too); each
gets a JSON spec, maps the file and answers ``R``; the parent then unlinks the file. Per batch the
parent sends each worker ``(mode, a, b, n_mean)`` (four int64: rows ``a:b`` of the training
array for ``mode`` 1, else the first ``b − a`` indices of its index buffer), back-propagates its
own part, and waits for each worker's ``D`` (or ``E`` + message). A dead worker closes its socket,
and the parent raises :class:`WorkerError` instead of waiting.
"""

from __future__ import annotations

import json
import logging
import mmap
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

SPIN_S = 0.002  # poll this long for the next message before blocking
START_TIMEOUT_S = 60.0
MESSAGE = struct.Struct("4q")  # mode, a, b, n_mean
ALIGN = 64


class WorkerError(RuntimeError):
    """A training worker process failed or died."""


def supported() -> bool:
    """Worker processes need Linux (``SOCK_SEQPACKET`` socket pairs, ``/dev/shm``)."""
    return sys.platform.startswith("linux")


def _recv(sock: socket.socket, size: int) -> bytes:
    """One message from ``sock``: polled without blocking for :data:`SPIN_S`, then waited for;
    ``b""`` when the other end has closed or gone."""
    deadline = time.perf_counter() + SPIN_S
    try:
        while time.perf_counter() < deadline:
            try:
                return sock.recv(size, socket.MSG_DONTWAIT)
            except BlockingIOError:
                pass
        return sock.recv(size)
    except ConnectionError:
        return b""


def _regions(spec: dict) -> tuple[dict[str, tuple[int, tuple[int, ...], str]], int]:
    """Name → (byte offset, shape, dtype) of every array in the shared file, and its size in
    bytes."""
    n, width = spec["train_shape"]
    k, size, rows = spec["workers"], spec["theta_size"], spec["shard_rows"]
    dtype = spec["dtype"]
    shapes = {
        "train": ((n, width), dtype),
        "theta": ((size,), dtype),
        "grads": ((k, size), dtype),
        "losses": ((k,), "float64"),
        "rows": ((k, rows), "int64"),
    }
    out, offset = {}, 0
    for name, (shape, dt) in shapes.items():
        out[name] = (offset, shape, dt)
        nbytes = int(np.prod(shape)) * np.dtype(dt).itemsize
        offset += -(-nbytes // ALIGN) * ALIGN
    return out, max(offset, ALIGN)


def _arrays(buffer: mmap.mmap, spec: dict) -> dict[str, np.ndarray]:
    """The shared arrays as NumPy views of ``buffer``."""
    views = {}
    for name, (offset, shape, dt) in _regions(spec)[0].items():
        count = int(np.prod(shape))
        views[name] = np.frombuffer(buffer, dtype=dt, count=count, offset=offset).reshape(shape)
    return views


class WorkerPool:
    """``workers`` helper processes for one fit, and the shared arrays they read and write.

    ``train (n, width)``, ``theta (size,)`` are the arrays the fit must use (copy data in before
    :meth:`start`); ``grads (workers, size)`` and ``losses (workers,)`` hold each worker's last
    result; ``rows (workers, shard_rows)`` its row indices.
    """

    def __init__(self, spec: dict) -> None:
        self.spec = spec
        self.workers = spec["workers"]
        nbytes = _regions(spec)[1]
        directory = "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()
        fd, self.path = tempfile.mkstemp(prefix="bpnet-", dir=directory)
        try:
            os.ftruncate(fd, nbytes)
            self.buffer = mmap.mmap(fd, nbytes)
        finally:
            os.close(fd)
        arrays = _arrays(self.buffer, spec)
        self.train, self.theta = arrays["train"], arrays["theta"]
        self.grads, self.losses, self.rows = arrays["grads"], arrays["losses"], arrays["rows"]
        self.procs: list[subprocess.Popen] = []
        self.socks: list[socket.socket] = []

    def start(self) -> None:
        """Start the workers and wait until each has mapped the shared file (then unlink it)."""
        package_root = str(Path(__file__).resolve().parent.parent)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = "1"
        try:
            for index in range(self.workers):
                parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
                with child:
                    cmd = [sys.executable, "-m", "bpnet._worker_main", str(child.fileno())]
                    proc = subprocess.Popen(cmd, pass_fds=[child.fileno()], env=env)
                self.procs.append(proc)
                self.socks.append(parent)
                message = dict(self.spec, path=self.path, index=index)
                parent.sendall(json.dumps(message).encode())
            for index, sock in enumerate(self.socks):
                sock.settimeout(START_TIMEOUT_S)
                try:
                    reply = sock.recv(65536)
                except TimeoutError as exc:
                    raise WorkerError(f"training worker {index} did not start") from exc
                sock.settimeout(None)
                self._check(index, reply, expected=b"R")
        except BaseException:
            self.close()
            raise
        finally:
            Path(self.path).unlink(missing_ok=True)

    def submit(self, index: int, rows: slice | np.ndarray, n_mean: int) -> None:
        """Ask worker ``index`` for the gradient over training rows ``rows`` (a slice, or
        indices that fit its buffer), scaled by the whole batch's ``n_mean`` rows."""
        if isinstance(rows, slice):
            message = MESSAGE.pack(1, rows.start, rows.stop, n_mean)
        else:
            k = rows.shape[0]
            self.rows[index, :k] = rows
            message = MESSAGE.pack(0, 0, k, n_mean)
        try:
            self.socks[index].send(message)
        except ConnectionError:
            self._check(index, b"", expected=b"D")

    def wait(self, index: int) -> float:
        """Wait for worker ``index``'s answer; returns its summed loss (its gradient is in
        ``grads[index]``)."""
        self._check(index, _recv(self.socks[index], 65536), expected=b"D")
        return float(self.losses[index])

    def _check(self, index: int, reply: bytes, expected: bytes) -> None:
        if reply == expected:
            return
        if reply.startswith(b"E"):
            raise WorkerError(f"training worker {index} failed: {reply[1:].decode()}")
        code = self.procs[index].poll()
        raise WorkerError(f"training worker {index} stopped (exit code {code})")

    def close(self) -> None:
        """Stop the workers (closing their sockets ends them) and reap them."""
        for sock in self.socks:
            sock.close()
        for proc in self.procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.socks, self.procs = [], []
        Path(self.path).unlink(missing_ok=True)


def _serve(sock: socket.socket) -> None:
    """Worker side: map the shared file, then answer gradient requests until EOF."""
    from . import _core
    from .activations import get_activation
    from .losses import get_loss

    spec = json.loads(sock.recv(65536))
    with open(spec["path"], "r+b") as f:
        buffer = mmap.mmap(f.fileno(), 0)  # the whole file
    arrays = _arrays(buffer, spec)
    index = spec["index"]
    n_in, hidden, n_out, bias = spec["layout"]
    layout = _core.Layout(n_in, hidden, n_out, bias)
    P = layout.training_views(arrays["theta"])
    G = layout.training_views(arrays["grads"][index])
    act, out_act = get_activation(spec["act"]), get_activation(spec["out_act"], output=True)
    loss = get_loss(spec["loss"])
    train, rows_buf, losses = arrays["train"], arrays["rows"][index], arrays["losses"]
    n_cols = layout.input_columns()
    ws = _core.Workspace(np, spec["shard_rows"], hidden, n_out, train.dtype, train.shape[1])
    np.seterr(over="ignore", invalid="ignore")  # the parent checks for non-finite results
    sock.send(b"R")
    while message := _recv(sock, MESSAGE.size):
        mode, a, b, n_mean = MESSAGE.unpack(message)
        try:
            rows = slice(a, b) if mode == 1 else rows_buf[: b - a]
            X, Y = _core.training_batch(np, train, rows, ws, n_cols)
            total = _core.loss_and_gradient(np, P, G, X, Y, act, out_act, loss, ws, n_mean)
            losses[index] = float(total)
        except Exception as exc:  # report, then stop: the parent raises WorkerError
            sock.send(b"E" + f"{type(exc).__name__}: {exc}".encode()[:60000])
            return
        sock.send(b"D")


def main() -> None:
    """Entry point of ``python -m bpnet._worker_main FD`` (FD: the inherited socket). Ctrl-C
    reaches the whole process group; the parent then closes the socket, which ends the worker."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with socket.socket(fileno=int(sys.argv[1])) as sock:
        _serve(sock)
