"""``BPNetwork``: a three-layer back-propagation network shaped like scikit-learn's estimators.

``__init__`` only stores keyword arguments; ``fit`` checks them against ``HYPERPARAMETERS`` (the
one declarative table), draws every random number from one ``np.random.Generator(seed)``
(initial weights, validation split, shuffling) and leaves fitted state in attributes ending
with ``_``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from . import _core, archive
from ._params import Spec, validate
from ._training import Loop, Problem, TrainingDivergedError, first_order_epoch
from .activations import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS, get_activation
from .backend import get_array_module, to_numpy
from .initializers import INITIALIZERS, initialize
from .levenberg import LevenbergMarquardt
from .losses import LOSSES, get_loss
from .optimizers import OPTIMIZER_NAMES, make_optimizer
from .schedules import SCHEDULES, make_schedule

logger = logging.getLogger(__name__)

HYPERPARAMETERS: dict[str, Spec] = {
    "hidden": Spec(64, "int", low=1, doc="hidden units"),
    "activation": Spec("tanh", "choice", choices=tuple(HIDDEN_ACTIVATIONS)),
    "output_activation": Spec("linear", "choice", choices=tuple(OUTPUT_ACTIVATIONS)),
    "bias": Spec(True, "bool"),
    "init": Spec("xavier", "choice", choices=tuple(INITIALIZERS)),
    "loss": Spec("mse", "choice", choices=tuple(LOSSES)),
    "l2": Spec(0.0, "float", low=0.0, doc="L2 weight decay: adds l2/2·Σw² (weights only)"),
    "optimizer": Spec("adam", "choice", choices=OPTIMIZER_NAMES),
    "learning_rate": Spec(1e-3, "float", low=0.0, low_open=True),
    "optimizer_params": Spec(None, "dict", none_ok=True),
    "schedule": Spec(None, "choice", choices=tuple(SCHEDULES), none_ok=True),
    "schedule_params": Spec(None, "dict", none_ok=True),
    "batch_size": Spec(256, "int", low=1),
    "max_epochs": Spec(200, "int", low=1),
    "early_stopping": Spec(True, "bool"),
    "validation_fraction": Spec(0.15, "float", low=0.0, high=1.0, high_open=True),
    "patience": Spec(20, "int", low=1),
    "max_time_s": Spec(None, "float", low=0.0, low_open=True, none_ok=True),
    "seed": Spec(0, "int", low=0, none_ok=True),
    "device": Spec("auto", "choice", choices=("auto", "cpu", "gpu")),
    "n_jobs": Spec(
        1,
        "int",
        low=1,
        none_ok=True,
        doc="CPU processes in fit, one BLAS thread each (large batches split by rows; Linux); "
        "None: all cores",
    ),
    "dtype": Spec("float32", "choice", choices=("float32", "float64")),
    "progress": Spec(False, "bool"),
}


RENAMED = {"threads": "n_jobs"}  # old name → new, for files and job specs written before


def upgrade_params(params: dict[str, Any]) -> dict[str, Any]:
    """A copy of saved ``BPNetwork`` keywords with renamed hyperparameters under their new names."""
    return {RENAMED.get(key, key): value for key, value in params.items()}


def _stepper(
    hp: dict[str, Any], problem: Problem, rng: np.random.Generator, dtype: Any
) -> tuple[Callable[[], tuple[float, bool]], Any, Any]:
    """``(step, optimizer, schedule)`` for a fit: ``step()`` runs one epoch and returns
    ``(train_loss, converged)``; Levenberg–Marquardt has no optimiser or schedule object."""
    if hp["optimizer"] == "lm":
        lm = LevenbergMarquardt(**(hp["optimizer_params"] or {}))
        return (lambda: lm.epoch(problem)), None, None
    optimizer = make_optimizer(hp["optimizer"], hp["learning_rate"], hp["optimizer_params"])
    optimizer.setup(problem.xp, problem.layout.size, dtype)
    schedule = make_schedule(hp["schedule"], hp["max_epochs"], hp["schedule_params"])
    return (lambda: (first_order_epoch(problem, optimizer, rng), False)), optimizer, schedule


class NotFittedError(ValueError, AttributeError):
    """``predict``/``save`` called before ``fit``."""


class BPNetwork:
    """Three-layer (input → hidden → output) back-propagation network for regression.

    ``X (n_samples, n_features)`` and ``Y (n_samples, n_outputs)`` are plain float arrays in
    whatever (transformed) units the caller chose; the network standardises nothing itself.
    See ``HYPERPARAMETERS`` for allowed values; ``optimizer_params``/``schedule_params`` take the
    chosen optimiser's/schedule's own parameters (e.g. ``{"beta_1": 0.9}`` for Adam).
    Fitted attributes: ``weights_`` (dict of NumPy arrays W1 (n_in, h), W2 (h, m), b1, b2),
    ``history_`` (per-epoch dicts), ``n_features_in_``, ``n_outputs_``, ``best_epoch_``,
    ``stop_reason_``, ``device_``, ``dtype_``, ``fit_time_s_``.
    """

    def __init__(
        self,
        hidden: int = 64,
        activation: str = "tanh",
        output_activation: str = "linear",
        bias: bool = True,
        init: str = "xavier",
        loss: str = "mse",
        l2: float = 0.0,
        optimizer: str = "adam",
        learning_rate: float = 1e-3,
        optimizer_params: dict | None = None,
        schedule: str | None = None,
        schedule_params: dict | None = None,
        batch_size: int = 256,
        max_epochs: int = 200,
        early_stopping: bool = True,
        validation_fraction: float = 0.15,
        patience: int = 20,
        max_time_s: float | None = None,
        seed: int | None = 0,
        device: str = "auto",
        n_jobs: int | None = 1,
        dtype: str = "float32",
        progress: bool = False,
    ) -> None:
        self.hidden = hidden
        self.activation = activation
        self.output_activation = output_activation
        self.bias = bias
        self.init = init
        self.loss = loss
        self.l2 = l2
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.optimizer_params = optimizer_params
        self.schedule = schedule
        self.schedule_params = schedule_params
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.max_time_s = max_time_s
        self.seed = seed
        self.device = device
        self.n_jobs = n_jobs
        self.dtype = dtype
        self.progress = progress

    # -- scikit-learn style parameter access ------------------------------------------------
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor keyword arguments as a dict."""
        return {name: getattr(self, name) for name in HYPERPARAMETERS}

    def set_params(self, **params: Any) -> BPNetwork:
        """Set constructor keyword arguments (checked at the next ``fit``); returns self."""
        for name, value in params.items():
            if name not in HYPERPARAMETERS:
                raise ValueError(f"{name}: unknown parameter; allowed: {sorted(HYPERPARAMETERS)}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.get_params().items() if v != HYPERPARAMETERS[k].default}
        args = ", ".join(f"{k}={v!r}" for k, v in changed.items())
        return f"BPNetwork({args})"

    # -- training ----------------------------------------------------------------------------
    def fit(
        self,
        X: Any,
        Y: Any,
        callback: Callable[[dict], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        output_loss: _core.OutputLoss | None = None,
    ) -> BPNetwork:
        """Train on ``X (n, n_features)``, ``Y (n, n_outputs)`` (or ``(n,)``); returns self.

        ``callback(info)`` runs after every epoch with ``epoch, max_epochs, train_loss,
        val_loss, elapsed_s, samples_per_s, learning_rate, best_epoch``; ``should_stop()`` is
        polled before every epoch and ends training early (best weights kept when
        ``early_stopping``). ``output_loss(inputs (k, n_features), outputs (k, n_outputs))``
        → ``(Σ over the k rows, gradient (k, n_outputs))`` adds a loss on the network's own
        outputs to the element loss (both divided by k · n_outputs per batch; the training and
        validation losses include it); it runs in this process, so the fit then uses one
        process whatever ``n_jobs`` says, and the ``lm`` optimiser does not take it. Raises
        ``ValueError`` for bad hyperparameters or data and ``TrainingDivergedError`` (a
        ``ValueError``) when weights become non-finite.
        """
        hp = self._checked_params()
        if output_loss is not None and hp["optimizer"] == "lm":
            raise ValueError("output_loss: optimizer 'lm' fits the element loss only")
        for name, fn in (
            ("callback", callback),
            ("should_stop", should_stop),
            ("output_loss", output_loss),
        ):
            if fn is not None and not callable(fn):
                raise ValueError(f"{name}: must be callable or None, got {type(fn).__name__}")
        X, Y = check_xy(X, Y)
        if hp["output_activation"] == "sigmoid" and (Y.min() < 0 or Y.max() > 1):
            raise ValueError("Y: output_activation='sigmoid' needs targets in [0, 1]")
        rng = np.random.default_rng(hp["seed"])
        xp, device = get_array_module(hp["device"])
        train_idx, val_idx = _split(X.shape[0], hp["validation_fraction"], rng)
        n_in, n_out = X.shape[1], Y.shape[1]
        is_lm = hp["optimizer"] == "lm"
        dtype = np.float64 if is_lm else np.dtype(hp["dtype"])
        layout = _core.Layout(n_in, hp["hidden"], n_out, hp["bias"])
        theta = layout.pack(initialize(hp["init"], rng, n_in, hp["hidden"], n_out), xp, dtype)

        def dev(a: np.ndarray) -> Any:
            return xp.asarray(np.ascontiguousarray(a, dtype=dtype))

        act = get_activation(hp["activation"])
        out_act = get_activation(hp["output_activation"], output=True)
        problem = Problem(
            xp,
            layout,
            theta,
            (
                dev(X[train_idx]),
                dev(Y[train_idx]),
                dev(X[val_idx]) if len(val_idx) else None,
                dev(Y[val_idx]) if len(val_idx) else None,
            ),
            act,
            out_act,
            get_loss(hp["loss"]),
            hp["l2"],
            hp["batch_size"],
            n_jobs=1 if is_lm else hp["n_jobs"] or os.cpu_count() or 1,
            output_loss=output_loss,
        )
        step, optimizer, schedule = _stepper(hp, problem, rng, dtype)
        t0 = time.perf_counter()
        try:
            with threadpool_limits(limits=1, user_api="blas"):
                history, best_epoch, reason = Loop(hp, callback, should_stop).run(
                    problem, step, optimizer, schedule
                )
        finally:
            problem.close()
        weights = {k: to_numpy(v).copy() for k, v in layout.views(problem.theta).items()}
        if not all(np.isfinite(w).all() for w in weights.values()):
            raise TrainingDivergedError("training ended with non-finite weights")
        self.weights_ = weights
        self.history_ = history
        self.n_features_in_ = n_in
        self.n_outputs_ = n_out
        self.best_epoch_ = best_epoch
        self.stop_reason_ = reason
        self.device_ = device
        self.dtype_ = np.dtype(dtype).name
        self.n_train_samples_ = len(train_idx)
        self.fit_time_s_ = time.perf_counter() - t0
        return self

    def _checked_params(self) -> dict[str, Any]:
        hp = validate(HYPERPARAMETERS, self.get_params())
        if hp["optimizer"] == "lm":
            if hp["loss"] != "mse":
                raise ValueError("loss: optimizer 'lm' (Levenberg–Marquardt) needs loss='mse'")
            if hp["schedule"] is not None:
                raise ValueError("schedule: does not apply to optimizer 'lm' (it adapts μ)")
            LevenbergMarquardt(**(hp["optimizer_params"] or {}))
        else:
            make_optimizer(hp["optimizer"], hp["learning_rate"], hp["optimizer_params"])
            make_schedule(hp["schedule"], hp["max_epochs"], hp["schedule_params"])
        return hp

    # -- inference -----------------------------------------------------------------------------
    def _check_fitted(self, what: str) -> None:
        if not hasattr(self, "weights_"):
            raise NotFittedError(f"{what}: this BPNetwork is not fitted yet; call fit(X, Y) first")

    def predict(self, X: Any) -> np.ndarray:
        """Network output ``(n, n_outputs_)`` float64 for ``X (n, n_features_in_)`` (on the CPU)."""
        self._check_fitted("predict")
        X = check_array("X", X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X: has {X.shape[1]} features, but the network was fitted with "
                f"{self.n_features_in_}"
            )
        dtype = np.dtype(self.dtype_)
        P = {k: v.astype(dtype, copy=False) for k, v in self.weights_.items()}
        act = get_activation(self.activation)
        out_act = get_activation(self.output_activation, output=True)
        with np.errstate(over="ignore"):  # exp overflow to inf is the intended saturation
            out = _core.predict(np, P, X.astype(dtype, copy=False), act, out_act)
        return out.astype(np.float64, copy=False)

    def save(self, path: str, metadata: dict | None = None) -> None:
        """Write the fitted network to ``path`` (.npz + JSON metadata, checksummed, atomic)."""
        user = archive.check_metadata(metadata)
        arrays, state = network_state(self)
        archive.save_document(path, arrays, {"kind": "BPNetwork", **state}, user)
        self.metadata_ = user


def check_array(name: str, A: Any, allow_1d: bool = False) -> np.ndarray:
    """``A`` as a finite, non-empty float64 2-D NumPy array (1-D → one column if allowed)."""
    A = to_numpy(A)
    try:
        A = np.asarray(A, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: must be a numeric array ({exc})") from None
    if A.ndim == 1 and allow_1d:
        A = A[:, None]
    if A.ndim != 2:
        hint = "; pass one sample as X[None, :]" if A.ndim == 1 else ""
        raise ValueError(f"{name}: must be 2-D (n_samples, n_columns), got shape {A.shape}{hint}")
    if A.shape[0] == 0 or A.shape[1] == 0:
        raise ValueError(f"{name}: is empty (shape {A.shape})")
    if not np.isfinite(A).all():
        bad = np.argwhere(~np.isfinite(A))[0]
        raise ValueError(
            f"{name}: contains NaN or infinite values (first at row {bad[0]}, column {bad[1]})"
        )
    return A


def check_xy(X: Any, Y: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validated training arrays ``X (n, n_features)``, ``Y (n, n_outputs)``."""
    X = check_array("X", X)
    Y = check_array("Y", Y, allow_1d=True)
    if X.shape[0] != Y.shape[0]:
        raise ValueError(f"X, Y: different numbers of samples ({X.shape[0]} and {Y.shape[0]})")
    return X, Y


def _split(n: int, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Random (train, validation) index split; validation gets round(n·fraction) ≥ 1 rows."""
    if fraction == 0:
        return np.arange(n), np.arange(0)
    n_val = max(1, int(round(n * fraction)))
    if n_val >= n:
        raise ValueError(f"validation_fraction: {fraction} of {n} samples leaves none for training")
    idx = rng.permutation(n)
    return np.sort(idx[n_val:]), np.sort(idx[:n_val])


def network_state(net: Any, prefix: str = "") -> tuple[dict[str, np.ndarray], dict]:
    """A fitted ``BPNetwork`` as ``(arrays keyed prefix+W1…, JSON-safe dict)``."""
    net._check_fitted("save")
    arrays = {prefix + k: np.asarray(v) for k, v in net.weights_.items()}
    state = {
        "hyperparameters": net.get_params(),
        "architecture": {
            "n_features": net.n_features_in_,
            "hidden": net.hidden,
            "n_outputs": net.n_outputs_,
            "bias": net.bias,
        },
        "fitted": {
            "history": net.history_,
            "best_epoch": net.best_epoch_,
            "stop_reason": net.stop_reason_,
            "device": net.device_,
            "dtype": net.dtype_,
            "n_train_samples": net.n_train_samples_,
            "fit_time_s": net.fit_time_s_,
        },
    }
    return arrays, state


def network_from_state(arrays: dict[str, np.ndarray], state: dict, prefix: str = "") -> BPNetwork:
    """Rebuild a fitted ``BPNetwork`` from :func:`network_state` output."""
    net = BPNetwork(**upgrade_params(state["hyperparameters"]))
    arch, fitted = state["architecture"], state["fitted"]
    keys = ("W1", "W2", "b1", "b2") if arch["bias"] else ("W1", "W2")
    try:
        net.weights_ = {k: np.array(arrays[prefix + k]) for k in keys}
    except KeyError as exc:
        raise archive.IntegrityError(f"arrays: missing {exc.args[0]!r}") from None
    n_in, h, m = arch["n_features"], arch["hidden"], arch["n_outputs"]
    expected = {"W1": (n_in, h), "W2": (h, m), "b1": (h,), "b2": (m,)}
    for k, w in net.weights_.items():
        if w.shape != expected[k]:
            raise archive.IntegrityError(
                f"arrays: {prefix + k} has shape {w.shape}, expected {expected[k]}"
            )
    net.n_features_in_, net.n_outputs_ = n_in, m
    net.history_ = fitted["history"]
    net.best_epoch_ = fitted["best_epoch"]
    net.stop_reason_ = fitted["stop_reason"]
    net.device_ = "cpu"
    net.dtype_ = fitted["dtype"]
    net.n_train_samples_ = fitted["n_train_samples"]
    net.fit_time_s_ = fitted["fit_time_s"]
    return net
