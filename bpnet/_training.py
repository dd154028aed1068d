"""The epoch loop: mini-batch/full-batch updates, validation, early stopping, callbacks."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Any

import numpy as np

from . import _core
from .activations import Activation
from .backend import take_rows, to_scalar
from .losses import Loss

logger = logging.getLogger(__name__)

EVAL_ROWS = 16384
MIN_SHARD_ROWS = 1024  # a CPU batch is split across threads only when each gets this many rows
PATIENCE_REL_TOL = 1e-4  # an epoch counts as progress when it beats the best by this fraction


class TrainingDivergedError(ValueError):
    """Training produced non-finite weights or losses (learning rate too large?)."""


class Problem:
    """Everything one fit needs on the device: parameters, data, buffers, components."""

    def __init__(
        self,
        xp: ModuleType,
        layout: _core.Layout,
        theta: Any,
        data: tuple[Any, Any, Any, Any],
        act: Activation,
        out_act: Activation,
        loss: Loss,
        l2: float,
        batch_rows: int,
        threads: int = 1,
    ) -> None:
        self.xp, self.layout, self.theta = xp, layout, theta
        self.X, self.Y, self.Xval, self.Yval = data
        self.act, self.out_act, self.loss, self.l2 = act, out_act, loss, l2
        self.P = layout.views(theta)
        self.grad = xp.zeros_like(theta)
        self.G = layout.views(self.grad)
        self.tmp = xp.zeros_like(theta)
        n, m = self.Y.shape
        self.n_train, self.n_out = n, m
        dtype = theta.dtype
        self.ws = _core.Workspace(
            xp, max(1, min(batch_rows, n)), layout.n_hidden, m, dtype, layout.n_in
        )
        rows = min(EVAL_ROWS, max(n, 0 if self.Xval is None else self.Xval.shape[0]))
        self.eval_ws = _core.Workspace(xp, max(1, rows), layout.n_hidden, m, dtype)
        self.shards = _make_shards(xp, layout, self.ws.rows, m, dtype, threads, theta)
        self.pool = ThreadPoolExecutor(len(self.shards) - 1) if self.shards else None

    def close(self) -> None:
        """Stop the shard threads (if any)."""
        if self.pool is not None:
            self.pool.shutdown()
            self.pool = None

    def _loss_gradient(self, rows: slice | Any) -> Any:
        """Gradient of the mean loss (no L2) into ``self.grad`` over the training rows
        ``rows``: a slice (used in place) or an index array (gathered into the workspace);
        returns Σ losses. With shards, each thread gathers and back-propagates a part of the
        rows in its own buffers, scaled by the whole batch's size, and the parts' gradients are
        summed."""
        xp, n = self.xp, _count(rows)
        if not self.shards or n < len(self.shards) * MIN_SHARD_ROWS:
            X, Y = self._batch(rows, self.ws)
            return _core.loss_and_gradient(
                xp, self.P, self.G, X, Y, self.act, self.out_act, self.loss, self.ws
            )
        k = len(self.shards)
        bounds = [n * i // k for i in range(k + 1)]

        def run(i: int) -> Any:
            ws, G, _ = self.shards[i]
            X, Y = self._batch(_part(rows, bounds[i], bounds[i + 1]), ws)
            return _core.loss_and_gradient(
                xp, self.P, G, X, Y, self.act, self.out_act, self.loss, ws, n
            )

        futures = [self.pool.submit(run, i) for i in range(1, len(self.shards))]
        total = run(0)
        for future in futures:
            total = total + future.result()
        xp.add(self.shards[0][2], self.shards[1][2], out=self.grad)
        for _, _, grad in self.shards[2:]:
            xp.add(self.grad, grad, out=self.grad)
        return total

    def _batch(self, rows: slice | Any, ws: _core.Workspace) -> tuple[Any, Any]:
        """``(X, Y)`` of the training rows ``rows``: views for a slice, else gathered into
        ``ws.Xb``, ``ws.Yb``."""
        if isinstance(rows, slice):
            return self.X[rows], self.Y[rows]
        k = rows.shape[0]
        take_rows(self.xp, self.X, rows, ws.Xb[:k])
        take_rows(self.xp, self.Y, rows, ws.Yb[:k])
        return ws.Xb[:k], ws.Yb[:k]

    def add_l2(self) -> None:
        """grad[W] += l2 · theta[W] (weights only, not biases)."""
        if self.l2 > 0:
            nw, xp = self.layout.n_weights, self.xp
            xp.multiply(self.theta[:nw], self.l2, out=self.tmp[:nw])
            xp.add(self.grad[:nw], self.tmp[:nw], out=self.grad[:nw])

    def batch_gradient(self, rows: slice | Any) -> Any:
        """Gradient of the mean loss (+L2) on the training rows ``rows`` (a slice or an index
        array) into ``self.grad``; returns Σ losses."""
        total = self._loss_gradient(rows)
        self.add_l2()
        return total

    def full_gradient(self) -> Any:
        """Gradient of the mean training loss (+L2) over all samples, accumulated in chunks."""
        xp, n = self.xp, self.n_train
        rows = self.ws.rows
        if rows >= n:
            return self.batch_gradient(slice(0, n))
        acc = xp.zeros_like(self.grad)
        total = xp.zeros((), dtype=self.theta.dtype)
        for start in range(0, n, rows):
            chunk = slice(start, min(start + rows, n))
            total = total + self._loss_gradient(chunk)
            xp.multiply(self.grad, _count(chunk) / n, out=self.grad)
            xp.add(acc, self.grad, out=acc)
        self.grad[...] = acc
        self.add_l2()
        return total

    def mean_loss(self, X: Any, Y: Any) -> float:
        """Mean element loss of the current network on ``X``, ``Y`` (synchronises)."""
        total = _core.summed_loss(
            self.xp, self.P, X, Y, self.act, self.out_act, self.loss, self.eval_ws
        )
        return to_scalar(total) / (X.shape[0] * Y.shape[1])


def _count(rows: slice | Any) -> int:
    """Number of rows in a slice (with explicit start/stop) or an index array."""
    return rows.stop - rows.start if isinstance(rows, slice) else int(rows.shape[0])


def _part(rows: slice | Any, a: int, b: int) -> slice | Any:
    """Rows ``a:b`` of a slice or an index array."""
    return slice(rows.start + a, rows.start + b) if isinstance(rows, slice) else rows[a:b]


def _make_shards(
    xp: ModuleType,
    layout: _core.Layout,
    rows: int,
    n_out: int,
    dtype: Any,
    threads: int,
    theta: Any,
) -> list[tuple[_core.Workspace, dict, Any]]:
    """Per-thread ``(workspace, gradient views, gradient vector)`` for data-parallel batches on
    the CPU; empty (no sharding) on the GPU, for one thread, or for batches too small to split."""
    if xp is not np or threads < 2 or rows < threads * MIN_SHARD_ROWS:
        return []
    shard_rows = -(-rows // threads)
    shards = []
    for _ in range(threads):
        grad = xp.zeros_like(theta)
        ws = _core.Workspace(xp, shard_rows, layout.n_hidden, n_out, dtype, layout.n_in)
        shards.append((ws, layout.views(grad), grad))
    return shards


def first_order_epoch(problem: Problem, optimizer: Any, rng: np.random.Generator) -> float:
    """One epoch of (mini-)batch updates; returns the mean training loss seen during it."""
    xp, n = problem.xp, problem.n_train
    if optimizer.full_batch:
        total = problem.full_gradient()
        optimizer.update(problem.theta, problem.grad)
        return to_scalar(total) / (n * problem.n_out)
    perm = xp.asarray(rng.permutation(n))
    rows = problem.ws.rows
    total = 0.0
    for start in range(0, n, rows):
        total = total + problem.batch_gradient(perm[start : start + rows])
        optimizer.update(problem.theta, problem.grad)
    return to_scalar(total) / (n * problem.n_out)


class Loop:
    """Runs epochs with schedule, validation, early stopping, budget, callbacks and a bar."""

    def __init__(self, hp: dict, callback: Callable | None, should_stop: Callable | None) -> None:
        self.hp, self.callback, self.should_stop = hp, callback, should_stop

    def run(
        self,
        problem: Problem,
        step: Callable[[], tuple[float, bool]],
        optimizer: Any,
        schedule: Any,
    ) -> tuple[list[dict], int, str]:
        """Train; returns ``(history, best_epoch, stop_reason)``; ``theta`` ends at the best
        weights when early stopping is on."""
        hp, xp = self.hp, problem.xp
        history: list[dict] = []
        best, progress_best, bad = math.inf, math.inf, 0
        best_epoch, best_theta = 0, problem.theta.copy()
        monitored = math.nan
        reason = "max_epochs"
        bar = _progress_bar(hp) if hp["progress"] else None
        t0 = time.perf_counter()
        # overflow is detected below (non-finite weights raise), so NumPy need not warn
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                for epoch in range(hp["max_epochs"]):
                    if self.should_stop is not None and self.should_stop():
                        reason = "cancelled"
                        break
                    if optimizer is not None:
                        factor = schedule.factor(epoch, monitored)
                        optimizer.learning_rate = hp["learning_rate"] * factor
                    t_epoch = time.perf_counter()
                    train_loss, converged = step()
                    val_loss = (
                        problem.mean_loss(problem.Xval, problem.Yval)
                        if problem.Xval is not None
                        else None
                    )
                    now = time.perf_counter()
                    _check_finite(xp, problem.theta, train_loss, val_loss, epoch + 1)
                    monitored = val_loss if val_loss is not None else train_loss
                    if monitored < best:
                        best, best_epoch = monitored, epoch + 1
                        best_theta[...] = problem.theta
                    if monitored < progress_best * (1.0 - PATIENCE_REL_TOL):
                        progress_best, bad = monitored, 0
                    else:
                        bad += 1
                    info = {
                        "epoch": epoch + 1,
                        "max_epochs": hp["max_epochs"],
                        "train_loss": train_loss,
                        "val_loss": val_loss,
                        "elapsed_s": now - t0,
                        "samples_per_s": problem.n_train / max(now - t_epoch, 1e-12),
                        "learning_rate": None if optimizer is None else optimizer.learning_rate,
                        "best_epoch": best_epoch,
                    }
                    history.append(info)
                    if self.callback is not None:
                        self.callback(dict(info))
                    if bar is not None:
                        bar.set_postfix(
                            train=f"{train_loss:.4g}", val=_fmt(val_loss), refresh=False
                        )
                        bar.update(1)
                    if converged:
                        reason = "converged"
                        break
                    if hp["early_stopping"] and bad >= hp["patience"]:
                        reason = "early_stopping"
                        break
                    if hp["max_time_s"] is not None and now - t0 >= hp["max_time_s"]:
                        reason = "max_time"
                        break
        finally:
            if bar is not None:
                bar.close()
        if hp["early_stopping"] and best_epoch > 0:
            problem.theta[...] = best_theta
        logger.info(
            "trained %d epochs in %.2f s (%s); best epoch %d, loss %.4g",
            len(history),
            time.perf_counter() - t0,
            reason,
            best_epoch,
            best,
        )
        return history, best_epoch, reason


def _check_finite(
    xp: ModuleType, theta: Any, train_loss: float, val_loss: float | None, epoch: int
) -> None:
    values = [train_loss] + ([] if val_loss is None else [val_loss])
    if not all(math.isfinite(v) for v in values) or not bool(xp.isfinite(theta).all()):
        raise TrainingDivergedError(
            f"training diverged at epoch {epoch}: non-finite weights or loss "
            "(try a smaller learning_rate)"
        )


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _progress_bar(hp: dict) -> Any:
    from tqdm import tqdm

    return tqdm(total=hp["max_epochs"], unit="epoch", desc="training", leave=True)
