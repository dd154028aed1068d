"""ForwardModel: the abstract base of every 1D forward model (validation, spec, batching)."""

from __future__ import annotations

import abc
import os
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Any, ClassVar

import numpy as np

from . import _validate
from ._backend import get_array_module, to_numpy

PRECISIONS = ("auto", "single", "double")
_EXECUTOR: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    """One shared pool, created on first use (NumPy ufuncs and BLAS release the GIL)."""
    global _EXECUTOR
    if _EXECUTOR is None:
        _EXECUTOR = ThreadPoolExecutor(
            max_workers=max(1, os.cpu_count() or 1), thread_name_prefix="forward_models"
        )
    return _EXECUTOR


class ForwardModel(abc.ABC):
    """A layered-earth forward model: geometry (a JSON-safe spec) plus a batched solver.

    Model vectors are ``[rho_1 … rho_N (Ω·m), h_1 … h_{N−1} (m)]``; the last layer is a half-space.
    Subclasses set ``name``, ``axis_name`` and ``geometry_fields`` and implement
    ``_check_geometry``, ``_data_layout`` and ``_solve``.
    """

    name: ClassVar[str]
    axis_name: ClassVar[str]
    geometry_fields: ClassVar[tuple[str, ...]]
    #: rows per block when a NumPy batch is split across threads
    chunk_rows: ClassVar[int] = 1024
    #: precision used by ``forward(precision="auto")``: the faster one at the stated accuracy,
    #: unless it gains too little (each model class says why it picks its own)
    default_precision: ClassVar[str] = "single"
    #: precisions ``forward_and_jacobian`` and ``forward_and_vjp`` offer: double everywhere,
    #: single where the derivative recursion keeps the forward's float32 accuracy (MT)
    derivative_precisions: ClassVar[tuple[str, ...]] = ("double",)

    def __init__(self, n_layers: int = 3, **geometry: Any) -> None:
        self.n_layers = _validate.n_layers(n_layers)
        unknown = sorted(set(geometry) - set(self.geometry_fields))
        if unknown:
            raise ValueError(
                f"{unknown[0]}: not a geometry field of {self.name!r} "
                f"(expected {list(self.geometry_fields)})"
            )
        self._geometry = self._check_geometry(geometry)
        self._axis, self.data_kinds, self.data_names = self._data_layout()
        self._operators: dict[tuple[str, str], Any] = {}

    # -- subclass hooks -------------------------------------------------------------------------
    @abc.abstractmethod
    def _check_geometry(self, geometry: dict[str, Any]) -> dict[str, Any]:
        """Validate the geometry keywords; return the canonical values (arrays / floats / None)."""

    @abc.abstractmethod
    def _data_layout(self) -> tuple[np.ndarray, tuple[str, ...], list[str]]:
        """Return ``(axis_values (K,), data_kinds (n_data,), data_names (n_data,))``."""

    @abc.abstractmethod
    def _solve(self, models: Any, xp: ModuleType, dtype: Any) -> Any:
        """Validated float64 ``models (n, n_params)`` → ``(n, n_data)``, computed in ``dtype``."""

    # -- description ----------------------------------------------------------------------------
    @property
    def parameter_names(self) -> list[str]:
        """``["rho1", …, "rhoN", "h1", …, "h{N-1}"]``."""
        rho = [f"rho{i + 1}" for i in range(self.n_layers)]
        return rho + [f"h{i + 1}" for i in range(self.n_layers - 1)]

    @property
    def n_params(self) -> int:
        """Length of a model vector: ``2 * n_layers - 1``."""
        return 2 * self.n_layers - 1

    @property
    def n_data(self) -> int:
        """Number of data per model (columns returned by :meth:`forward`)."""
        return len(self.data_kinds)

    @property
    def axis_values(self) -> np.ndarray:
        """The abscissa of each curve, ``(K,)`` (spacings in m or periods in s)."""
        return self._axis.copy()

    @property
    def geometry(self) -> dict[str, Any]:
        """The geometry keywords as given to ``create`` (arrays copied, scalars and None as is)."""
        return {
            k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in self._geometry.items()
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe ``{"name", "n_layers", **geometry}``, inverted by ``from_dict``."""
        spec: dict[str, Any] = {"name": self.name, "n_layers": self.n_layers}
        for key, value in self._geometry.items():
            spec[key] = value.tolist() if isinstance(value, np.ndarray) else value
        return spec

    def with_geometry(self, **geometry: Any) -> ForwardModel:
        """A new forward model of the same kind and number of layers with new geometry keywords."""
        return type(self)(n_layers=self.n_layers, **geometry)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ForwardModel) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(repr(self.to_dict()))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(n_layers={self.n_layers}, {self.axis_name}=<{self._axis.size}>)"
        )

    # -- solving --------------------------------------------------------------------------------
    def check_models(self, models: Any, backend: str | None = None) -> Any:
        """Validate ``models`` and return them as a 2-D float64 array of the chosen module.

        Raises ``ValueError`` naming ``models`` and the bad column for wrong shapes and for
        non-finite or non-positive resistivities (``rhoI``) or thicknesses (``hI``).
        """
        xp = get_array_module(models, backend=backend)
        try:
            arr = xp.asarray(models, dtype=xp.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"models: expected an array of numbers ({exc})") from None
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2 or arr.shape[1] != self.n_params:
            raise ValueError(
                f"models: expected shape (n, {self.n_params}) or ({self.n_params},) for "
                f"{self.parameter_names}, got {tuple(np.shape(models))}"
            )
        ok = xp.isfinite(arr) & (arr > 0)
        if not bool(xp.all(ok)):
            row, col = (int(i) for i in np.argwhere(~to_numpy(ok))[0])
            what = "resistivity" if col < self.n_layers else "thickness"
            value = float(arr[row, col])
            raise ValueError(
                f"models[{row}, {col}] ({self.parameter_names[col]}): {what} must be positive "
                f"and finite, got {value}"
            )
        return arr

    def forward(self, models: Any, backend: str | None = None, precision: str = "auto") -> Any:
        """Apparent resistivities (and MT phases) for a batch of layered models.

        ``models``: ``(n, n_params)`` or ``(n_params,)`` — ``[rho (Ω·m) …, h (m) …]``.
        ``backend``: ``None``/``"auto"`` (the input's array module), ``"numpy"`` or ``"cupy"``.
        ``precision``: ``"single"`` computes in float32 (within 5e-4 of double for the DC
        models, whose risky rows are redone in float64, and 3e-4 / 0.002° for MT over six
        decades of resistivity, see docs/methods.md), ``"double"`` in float64, and
        ``"auto"`` (default) in the faster of the two for this model (``default_precision``,
        measured in bench/forward.py: double for the DC models, single for MT).
        Returns ``(n, n_data)`` float64 in the same array module as the input.
        """
        if precision not in PRECISIONS:
            raise ValueError(f"precision: must be one of {PRECISIONS}, got {precision!r}")
        xp = get_array_module(models, backend=backend)
        arr = self.check_models(models, backend=backend)
        if precision == "auto":
            precision = self.default_precision
        dtype = xp.float32 if precision == "single" else xp.float64
        if xp is not np or arr.shape[0] <= self.chunk_rows:
            return xp.asarray(self._solve(arr, xp, dtype), dtype=xp.float64)
        (out,) = self._in_chunks(lambda rows: (self._solve(rows, np, dtype),), arr)
        return out

    def _in_chunks(self, solve: Any, arr: np.ndarray) -> tuple[np.ndarray, ...]:
        """``solve(rows)`` → tuple of arrays with ``len(rows)`` leading rows, run on blocks of
        ``chunk_rows`` models of ``arr (n, n_params)`` across the shared thread pool and stacked
        into float64 outputs of ``n`` rows (NumPy only)."""
        n = arr.shape[0]
        outs: list[np.ndarray] = []

        def run(start: int) -> None:
            parts = solve(arr[start : start + self.chunk_rows])
            if not outs:  # shapes come from the first block; the others wait for it below
                outs.extend(np.empty((n, *p.shape[1:])) for p in parts)
            for out, part in zip(outs, parts, strict=True):
                out[start : start + part.shape[0]] = part

        starts = list(range(0, n, self.chunk_rows))
        run(starts[0])
        for future in [_executor().submit(run, s) for s in starts[1:]]:
            future.result()
        return tuple(outs)

    def derivative_dtype(self, precision: str, xp: ModuleType = np) -> Any:
        """The float dtype of ``forward_and_jacobian``/``forward_and_vjp`` at ``precision``
        (one of ``derivative_precisions``; ValueError otherwise)."""
        if precision not in self.derivative_precisions:
            raise ValueError(
                f"precision: {self.name} derivatives come in {list(self.derivative_precisions)}, "
                f"got {precision!r}"
            )
        return xp.float32 if precision == "single" else xp.float64

    def _checked(
        self, models: Any, backend: str | None, precision: str = "double"
    ) -> tuple[ModuleType, Any]:
        """The array module and the checked models ``(n, n_params)`` in the dtype of the
        derivatives' ``precision``."""
        xp = get_array_module(models, backend=backend)
        dtype = self.derivative_dtype(precision, xp)
        return xp, self.check_models(models, backend=backend).astype(dtype, copy=False)

    def _cotangent(self, cotangent: Any, n: int, xp: ModuleType, dtype: Any) -> Any:
        """A vector–Jacobian product's cotangent as ``dtype`` ``(n, n_data)``, checked."""
        c = xp.asarray(cotangent, dtype=xp.float64)
        if c.shape != (n, self.n_data):
            raise ValueError(
                f"cotangent: expected shape ({n}, {self.n_data}) (one per datum), got {c.shape}"
            )
        if not bool(xp.all(xp.isfinite(c))):
            raise ValueError("cotangent: values must be finite")
        return c.astype(dtype, copy=False)

    def _blocked_data_and_jacobian(
        self, models: Any, backend: str | None, precision: str = "double"
    ) -> tuple[Any, Any]:
        """``(data (n, K), jac (n, K, n_params))`` filled by the subclass's
        ``_data_and_jacobian_block(rows, data, jac, xp)`` (rows, data and jac in the dtype of
        ``precision``): in one call for a small batch or a non-NumPy array module, else
        ``chunk_rows`` models per task on the shared thread pool, each in blocks of
        ``jacobian_block_rows`` written straight into the outputs."""
        xp, arr = self._checked(models, backend, precision)
        n = arr.shape[0]
        data = xp.empty((n, self.n_data), dtype=arr.dtype)
        jac = xp.empty((n, self.n_data, self.n_params), dtype=arr.dtype)
        block_rows = self.jacobian_block_rows
        if xp is not np or n <= block_rows:
            self._data_and_jacobian_block(arr, data, jac, xp)
            return data, jac
        block = self._data_and_jacobian_block
        self._in_blocks(lambda r: block(arr[r], data[r], jac[r], np), n, block_rows)
        return data, jac

    def _blocked_data_and_vjp(
        self, models: Any, backend: str | None, precision: str = "double"
    ) -> tuple[Any, Any]:
        """``(data (n, K), vjp)`` from the subclass's ``_data_and_vjp_block(rows, xp)`` →
        ``(data, pullback)`` (rows, data and cotangents in the dtype of ``precision``): in one
        call for a small batch or a non-NumPy array module, else in blocks of
        ``jacobian_block_rows`` on the shared thread pool (as the Jacobian), each block keeping
        its own intermediates; ``vjp(cotangent (n, K))`` pulls each block's rows back the same
        way."""
        xp, arr = self._checked(models, backend, precision)
        n = arr.shape[0]
        block_rows = self.jacobian_block_rows
        if xp is not np or n <= block_rows:
            data, pullback = self._data_and_vjp_block(arr, xp)

            def vjp_one(cotangent: Any) -> Any:
                return pullback(self._cotangent(cotangent, n, xp, arr.dtype))

            return data, vjp_one
        data = np.empty((n, self.n_data), dtype=arr.dtype)
        pullbacks: dict[int, Any] = {}

        def forward_block(rows: slice) -> None:
            data[rows], pullbacks[rows.start] = self._data_and_vjp_block(arr[rows], np)

        self._in_blocks(forward_block, n, block_rows)

        def vjp(cotangent: Any) -> Any:
            c = self._cotangent(cotangent, n, np, arr.dtype)
            grad = np.empty((n, self.n_params), dtype=arr.dtype)

            def pull_block(rows: slice) -> None:
                grad[rows] = pullbacks[rows.start](c[rows])

            self._in_blocks(pull_block, n, block_rows)
            return grad

        return data, vjp

    def _in_blocks(self, block: Any, n: int, block_rows: int) -> None:
        """Run ``block(rows)`` for consecutive row slices of at most ``block_rows`` covering
        ``range(n)``, ``chunk_rows`` rows per task on the shared thread pool (NumPy only).
        ``block`` writes its results itself (straight into the caller's outputs)."""

        def run(start: int) -> None:
            stop = min(start + self.chunk_rows, n)
            for first in range(start, stop, block_rows):
                block(slice(first, min(first + block_rows, stop)))

        starts = range(0, n, self.chunk_rows)
        futures = [_executor().submit(run, start) for start in starts[1:]]
        run(0)
        for future in futures:
            future.result()

    def _operator(self, xp: ModuleType, dtype: Any, build: Any) -> Any:
        """Cache per (array module, dtype) of geometry-only arrays built by ``build()`` (NumPy)."""
        key = (xp.__name__, np.dtype(dtype).name)
        if key not in self._operators:
            self._operators[key] = tuple(xp.asarray(a, dtype=dtype) for a in build())
        return self._operators[key]
