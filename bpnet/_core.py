"""Pure numerical kernels of the three-layer network (no validation; array-module agnostic).

All parameters live in one flat vector ``theta``: ``[W2 (h·m), W1 (n_in·h), b1 (h), b2 (m)]``
(row-major; biases omitted when ``bias=False``). Weight blocks come first so L2 decay is one
slice, and b1 follows W1 so that ``[W1; b1]`` is one ``(n_in + 1, h)`` matrix: training appends
a column of ones to the inputs and the hidden bias rides in the first product (one elementwise
pass and one reduction fewer per batch). ``Layout.views`` returns reshaped views, so updating
``theta`` updates the matrices.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from .activations import Activation
from .backend import take_rows
from .losses import Loss

#: An extra loss on the network's outputs: ``(inputs (k, n_in), outputs (k, m)) → (Σ over the
#: rows of the extra loss, its gradient ∂/∂outputs (k, m))``, arrays of the fit's array module.
OutputLoss = Callable[[Any, Any], tuple[Any, Any]]


class Layout:
    """Where each weight block sits in the flat parameter vector."""

    def __init__(self, n_in: int, n_hidden: int, n_out: int, bias: bool) -> None:
        self.n_in, self.n_hidden, self.n_out, self.bias = n_in, n_hidden, n_out, bias
        shapes = [("W2", (n_hidden, n_out)), ("W1", (n_in, n_hidden))]
        if bias:
            shapes += [("b1", (n_hidden,)), ("b2", (n_out,))]
        self.blocks: dict[str, tuple[int, int, tuple]] = {}
        offset = 0
        for name, shape in shapes:
            size = int(np.prod(shape))
            self.blocks[name] = (offset, offset + size, shape)
            offset += size
        self.size = offset
        self.n_weights = n_in * n_hidden + n_hidden * n_out

    def views(self, flat: Any) -> dict[str, Any]:
        """Reshaped views of ``flat`` (length ``size``) keyed W1, W2[, b1, b2]."""
        return {k: flat[a:b].reshape(shape) for k, (a, b, shape) in self.blocks.items()}

    def training_views(self, flat: Any) -> dict[str, Any]:
        """:meth:`views` plus, with biases, ``W1b``: ``[W1; b1]`` as one ``(n_in + 1, h)`` view."""
        views = self.views(flat)
        if self.bias:
            start = self.blocks["W1"][0]
            stop = self.blocks["b1"][1]
            views["W1b"] = flat[start:stop].reshape(self.n_in + 1, self.n_hidden)
        return views

    def input_columns(self) -> int:
        """Columns of a training input row: ``n_in``, plus a column of ones with biases."""
        return self.n_in + int(self.bias)

    def pack(self, weights: dict[str, np.ndarray], xp: ModuleType, dtype: Any) -> Any:
        """A new flat ``xp`` vector from a dict of NumPy blocks."""
        flat = np.empty(self.size, dtype=np.float64)
        for k, view in self.views(flat).items():
            view[...] = weights[k]
        return xp.asarray(flat.astype(dtype, copy=False))


class Workspace:
    """Preallocated activations/gradients for up to ``rows`` samples (plus, with
    ``batch_cols``, a buffer ``batch (rows, batch_cols)`` to gather shuffled training rows into)."""

    def __init__(
        self,
        xp: ModuleType,
        rows: int,
        n_hidden: int,
        n_out: int,
        dtype: Any,
        batch_cols: int | None = None,
    ) -> None:
        self.rows = rows
        if batch_cols is not None:
            self.batch = xp.empty((rows, batch_cols), dtype=dtype)
        self.H = xp.empty((rows, n_hidden), dtype=dtype)
        self.dH = xp.empty((rows, n_hidden), dtype=dtype)
        self.tH = xp.empty((rows, n_hidden), dtype=dtype)
        self.O = xp.empty((rows, n_out), dtype=dtype)
        self.dO = xp.empty((rows, n_out), dtype=dtype)
        self.tO = xp.empty((rows, n_out), dtype=dtype)
        self.ones = xp.ones(rows, dtype=dtype)  # bias gradients as BLAS gemv: 1ᵀ dZ


def training_batch(
    xp: ModuleType, train: Any, rows: slice | Any, ws: Workspace, n_cols: int
) -> tuple[Any, Any]:
    """``(inputs (k, n_cols), Y (k, m))`` of rows ``rows`` of the training array
    ``train = [X | 1 | Y]`` (the ones column with biases; ``n_cols`` its input columns), as
    :func:`loss_and_gradient` takes them: views for a slice, else gathered into ``ws.batch``."""
    if isinstance(rows, slice):
        batch = train[rows]
    else:
        batch = ws.batch[: rows.shape[0]]
        take_rows(xp, train, rows, batch)
    return batch[:, :n_cols], batch[:, n_cols:]


def forward(
    xp: ModuleType, P: dict, X: Any, act: Activation, out_act: Activation, ws: Workspace
) -> tuple[Any, Any]:
    """Forward pass for ``X (n, n_in)`` or, in training, ``(n, n_in + 1)`` with a last column of
    ones (b1 then rides in the product with ``P["W1b"]``); n ≤ ws.rows; returns views
    ``(H (n,h), O (n,m))``."""
    n = X.shape[0]
    H, O = ws.H[:n], ws.O[:n]
    if X.shape[1] == P["W1"].shape[0]:
        xp.matmul(X, P["W1"], out=H)
        act.forward_(xp, H, P.get("b1"), ws.tH[:n])
    else:
        xp.matmul(X, P["W1b"], out=H)
        act.forward_(xp, H, None, ws.tH[:n])
    xp.matmul(H, P["W2"], out=O)
    out_act.forward_(xp, O, P.get("b2"), ws.tO[:n])
    return H, O


def loss_and_gradient(
    xp: ModuleType,
    P: dict,
    G: dict,
    X: Any,
    Y: Any,
    act: Activation,
    out_act: Activation,
    loss: Loss,
    ws: Workspace,
    n_mean: int | None = None,
    output_loss: OutputLoss | None = None,
) -> Any:
    """Forward + back-propagation on one batch; fills the gradient views ``G`` of the batch's
    summed loss divided by ``n_mean · m`` (default ``n_mean``: the batch's rows, i.e. the *mean*
    batch loss; a shard of a larger batch passes the whole batch's rows), without L2, and
    returns the batch's summed element loss (xp scalar). ``output_loss`` (optional) adds its
    value and gradient to the element loss's, with the same scaling.

    ``P``, ``G``: :meth:`Layout.training_views`. ``X``: ``(n, n_in + 1)`` with a last column of
    ones when the network has biases (b1 then comes with ``P["W1b"]``), else ``(n, n_in)``;
    ``Y (n, m)``. Both may be strided views (e.g. columns of one gathered buffer)."""
    n, m = Y.shape
    H, O = forward(xp, P, X, act, out_act, ws)
    dO, dH = ws.dO[:n], ws.dH[:n]
    xp.subtract(O, Y, out=dO)
    scale = 1.0 / ((n_mean or n) * m)
    total = loss.grad_(xp, dO, ws.tO[:n], scale)
    if output_loss is not None:
        value, grad = output_loss(X[:, : P["W1"].shape[0]], O)
        dO += xp.asarray(grad, dtype=dO.dtype) * scale
        total = total + value
    if out_act.name != "linear":
        out_act.backward_(xp, O, dO, ws.tO[:n])
    xp.matmul(H.T, dO, out=G["W2"])
    xp.matmul(dO, P["W2"].T, out=dH)
    act.backward_(xp, H, dH, ws.tH[:n])
    if "b1" in G:
        xp.matmul(X.T, dH, out=G["W1b"])  # ∂W1 and, from the ones column, ∂b1
        xp.matmul(ws.ones[:n], dO, out=G["b2"])
    else:
        xp.matmul(X.T, dH, out=G["W1"])
    return total


def predict(
    xp: ModuleType,
    P: dict,
    X: Any,
    act: Activation,
    out_act: Activation,
    chunk_rows: int = 16384,
) -> Any:
    """Network output for ``X (n, n_in)`` as a new ``(n, m)`` array, in row chunks."""
    n = X.shape[0]
    m = P["W2"].shape[1]
    dtype = P["W2"].dtype
    out = xp.empty((n, m), dtype=dtype)
    ws = Workspace(xp, max(1, min(n, chunk_rows)), P["W1"].shape[1], m, dtype)
    for start in range(0, n, ws.rows):
        _, O = forward(xp, P, X[start : start + ws.rows], act, out_act, ws)
        out[start : start + ws.rows] = O
    return out


def summed_loss(
    xp: ModuleType,
    P: dict,
    X: Any,
    Y: Any,
    act: Activation,
    out_act: Activation,
    loss: Loss,
    ws: Workspace,
    output_loss: OutputLoss | None = None,
) -> Any:
    """Σ of element losses (plus ``output_loss``'s values) over ``X (n, n_in)``, ``Y (n, m)``
    in chunks of ``ws.rows`` (xp scalar, no synchronisation)."""
    total = xp.zeros((), dtype=ws.O.dtype)
    for start in range(0, X.shape[0], ws.rows):
        xb, yb = X[start : start + ws.rows], Y[start : start + ws.rows]
        _, O = forward(xp, P, xb, act, out_act, ws)
        r = ws.dO[: xb.shape[0]]
        xp.subtract(O, yb, out=r)
        total = total + loss.grad_(xp, r, ws.tO[: xb.shape[0]], 1.0)
        if output_loss is not None:
            total = total + output_loss(xb, O)[0]
    return total
