"""The epoch loop: mini-batch/full-batch updates, validation, early stopping, callbacks."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from . import _core, _workers
from .activations import Activation
from .backend import to_scalar
from .losses import Loss

logger = logging.getLogger(__name__)

EVAL_ROWS = 16384
MIN_SHARD_ROWS = 1024  # a CPU batch is split across processes only when each gets this many rows
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
        n_jobs: int = 1,
        output_loss: _core.OutputLoss | None = None,
    ) -> None:
        self.xp, self.layout, self.theta = xp, layout, theta
        self.output_loss = output_loss
        X, Y, self.Xval, self.Yval = data
        self.act, self.out_act, self.loss, self.l2 = act, out_act, loss, l2
        # the training rows as one array [X | 1 | Y] (the ones column with biases): one gather
        # per batch fetches inputs and targets, and the ones carry b1 through the first product
        n, m = Y.shape
        self.n_train, self.n_out = n, m
        self.n_cols = layout.input_columns()
        dtype = theta.dtype
        width = self.n_cols + m
        self.ws = _core.Workspace(xp, max(1, min(batch_rows, n)), layout.n_hidden, m, dtype, width)
        # the extra loss is a callable of the caller's process: it cannot run in the workers
        self.jobs = 1 if output_loss is not None else _jobs(xp, n_jobs, self.ws.rows)
        self.pool = None
        if self.jobs > 1:  # train and theta live in memory shared with the worker processes
            components = (act, out_act, loss)
            self.pool = _start_pool(layout, (n, width), theta, self.jobs, self.ws.rows, components)
            self.train, self.theta = self.pool.train, self.pool.theta
            self.theta[...] = theta
        else:
            self.train = xp.empty((n, width), dtype=dtype)
        self.train[:, : layout.n_in] = X
        if layout.bias:
            self.train[:, layout.n_in] = 1
        self.train[:, self.n_cols :] = Y
        self.X, self.Y = self.train[:, : layout.n_in], self.train[:, self.n_cols :]
        self.P = layout.training_views(self.theta)
        self.grad = xp.zeros_like(self.theta)
        self.G = layout.training_views(self.grad)
        self.tmp = xp.zeros_like(self.theta)
        rows = min(EVAL_ROWS, max(n, 0 if self.Xval is None else self.Xval.shape[0]))
        self.eval_ws = _core.Workspace(xp, max(1, rows), layout.n_hidden, m, dtype)

    def close(self) -> None:
        """Stop the worker processes (if any); ``theta`` stays readable."""
        if self.pool is not None:
            self.theta = self.theta.copy()
            self.P = self.layout.training_views(self.theta)
            self.pool.close()
            self.pool = None

    def _loss_gradient(self, rows: slice | Any) -> Any:
        """Gradient of the mean loss (no L2) into ``self.grad`` over the training rows
        ``rows``: a slice (used in place) or an index array (gathered into the workspace);
        returns Σ losses. With worker processes and enough rows, each worker back-propagates
        a part of the rows (scaled by the whole batch's size) while this process does the
        first part, and the parts' gradients are summed."""
        xp, n = self.xp, _count(rows)
        k = self.jobs if n >= self.jobs * MIN_SHARD_ROWS else 1
        bounds = [n * i // k for i in range(k + 1)]
        for i in range(1, k):
            self.pool.submit(i - 1, _part(rows, bounds[i], bounds[i + 1]), n)
        X, Y = _core.training_batch(xp, self.train, _part(rows, 0, bounds[1]), self.ws, self.n_cols)
        total = _core.loss_and_gradient(
            xp,
            self.P,
            self.G,
            X,
            Y,
            self.act,
            self.out_act,
            self.loss,
            self.ws,
            n,
            self.output_loss,
        )
        for i in range(1, k):
            total = total + self.pool.wait(i - 1)
            xp.add(self.grad, self.pool.grads[i - 1], out=self.grad)
        return total

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
            self.xp,
            self.P,
            X,
            Y,
            self.act,
            self.out_act,
            self.loss,
            self.eval_ws,
            self.output_loss,
        )
        return to_scalar(total) / (X.shape[0] * Y.shape[1])


def _count(rows: slice | Any) -> int:
    """Number of rows in a slice (with explicit start/stop) or an index array."""
    return rows.stop - rows.start if isinstance(rows, slice) else int(rows.shape[0])


def _part(rows: slice | Any, a: int, b: int) -> slice | Any:
    """Rows ``a:b`` of a slice or an index array."""
    return slice(rows.start + a, rows.start + b) if isinstance(rows, slice) else rows[a:b]


def _jobs(xp: ModuleType, n_jobs: int, batch_rows: int) -> int:
    """Processes that share each batch: ``n_jobs`` on the CPU under Linux when a batch gives
    each at least :data:`MIN_SHARD_ROWS` rows, else 1 (the GPU, one job, small batches)."""
    if xp is not np or n_jobs < 2 or batch_rows < n_jobs * MIN_SHARD_ROWS:
        return 1
    if not _workers.supported():
        logger.info("n_jobs=%d: worker processes need Linux; training in one process", n_jobs)
        return 1
    return n_jobs


def _start_pool(
    layout: _core.Layout,
    train_shape: tuple[int, int],
    theta: Any,
    jobs: int,
    batch_rows: int,
    components: tuple[Activation, Activation, Loss],
) -> _workers.WorkerPool:
    """``jobs − 1`` started worker processes for a fit with batches of up to ``batch_rows``
    rows, and their shared arrays (``components``: hidden and output activations, loss)."""
    act, out_act, loss = components
    spec = {
        "workers": jobs - 1,
        "layout": [layout.n_in, layout.n_hidden, layout.n_out, layout.bias],
        "train_shape": list(train_shape),
        "theta_size": int(theta.size),
        "shard_rows": -(-batch_rows // jobs),
        "dtype": theta.dtype.name,
        "act": act.name,
        "out_act": out_act.name,
        "loss": loss.name,
    }
    pool = _workers.WorkerPool(spec)
    pool.start()
    return pool


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
