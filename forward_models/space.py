"""ModelSpace: per-parameter bounds sampled log-uniformly, an optional total-depth limit, and
reproducible samplers (``random``, ``lhs``, ``sobol`` from ``scipy.stats.qmc``).

Row i of a seed's sample sequence never depends on how many rows are asked for at once:
``sample(n, start=s)`` returns rows ``[s, s + n)`` of the same sequence, so chunks generated
independently concatenate to the one-shot result.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from . import _validate
from .base import ForwardModel

SAMPLERS = ("sobol", "lhs", "random")
#: rows per independently seeded block of the ``random`` sampler and per Sobol draw
BLOCK_ROWS = 4096
#: give up when fewer than this fraction of candidate rows satisfy the depth limit
MIN_ACCEPTANCE = 1e-3


def _is_thickness(name: str) -> bool:
    return name.startswith("h") and name[1:].isdigit()


class ModelSpace:
    """Box of layered models: ``bounds[name] = (low, high)``, all positive; log-uniform sampling.

    ``parameter_names``: e.g. ``["rho1", "rho2", "rho3", "h1", "h2"]``; ``max_depth_m``: optional
    limit on the sum of the thickness parameters (``h1``, ``h2``, …) in m.
    """

    def __init__(
        self,
        parameter_names: Sequence[str],
        bounds: Mapping[str, Sequence[float]],
        max_depth_m: float | None = None,
    ) -> None:
        names = list(parameter_names)
        if not names or not all(isinstance(n, str) for n in names):
            raise ValueError("parameter_names: expected a non-empty list of strings")
        if len(set(names)) != len(names):
            raise ValueError("parameter_names: names must be unique")
        if not isinstance(bounds, Mapping):
            raise ValueError("bounds: expected a mapping of parameter name to [low, high]")
        extra = sorted(set(bounds) - set(names))
        if extra:
            raise ValueError(f"bounds: {extra[0]!r} is not one of the parameters {names}")
        missing = [n for n in names if n not in bounds]
        if missing:
            raise ValueError(f"bounds: missing [low, high] for {missing[0]!r}")
        pairs = [_validate.bounds_pair(f"bounds[{n!r}]", bounds[n]) for n in names]
        self.parameter_names = names
        self.lower = np.array([p[0] for p in pairs])
        self.upper = np.array([p[1] for p in pairs])
        self._thickness = np.array([_is_thickness(n) for n in names])
        self.max_depth_m: float | None = None
        if max_depth_m is not None:
            self.max_depth_m = _validate.positive_number("max_depth_m", max_depth_m)
            if not self._thickness.any():
                raise ValueError("max_depth_m: the space has no thickness parameters (h1, h2, …)")
            least = float(self.lower[self._thickness].sum())
            if least > self.max_depth_m:
                raise ValueError(
                    f"max_depth_m: {self.max_depth_m} is below the smallest possible total "
                    f"thickness {least} (sum of the thickness lower bounds)"
                )

    @classmethod
    def for_forward_model(
        cls,
        fm: ForwardModel,
        rho_ohmm: Sequence[Any] = (1.0, 5000.0),
        thickness_m: Sequence[Any] = (0.5, 100.0),
        max_depth_m: float | None = None,
    ) -> ModelSpace:
        """Bounds for ``fm``'s parameters: one ``(low, high)`` pair for every resistivity (Ω·m)
        and thickness (m), or a list of pairs, one per layer (per thickness)."""
        bounds: dict[str, Any] = {}
        n = fm.n_layers
        rho_pairs = _per_layer("rho_ohmm", rho_ohmm, n)
        thk_pairs = _per_layer("thickness_m", thickness_m, n - 1)
        for i in range(n):
            bounds[f"rho{i + 1}"] = rho_pairs[i]
        for i in range(n - 1):
            bounds[f"h{i + 1}"] = thk_pairs[i]
        return cls(fm.parameter_names, bounds, max_depth_m=max_depth_m)

    @property
    def n_params(self) -> int:
        """Number of parameters."""
        return len(self.parameter_names)

    def contains(self, models: Any) -> np.ndarray:
        """``(n,)`` bool: rows of ``models (n, n_params)`` inside the bounds and depth limit."""
        arr = np.atleast_2d(np.asarray(models, dtype=float))
        if arr.ndim != 2 or arr.shape[1] != self.n_params:
            raise ValueError(f"models: expected shape (n, {self.n_params}), got {np.shape(models)}")
        ok = np.all((arr >= self.lower) & (arr <= self.upper), axis=1)
        if self.max_depth_m is not None:
            ok &= arr[:, self._thickness].sum(axis=1) <= self.max_depth_m
        return ok

    def from_unit(self, unit: np.ndarray) -> np.ndarray:
        """Map ``unit (n, n_params)`` in [0, 1) to models, log-uniformly between the bounds."""
        log_lo, log_hi = np.log(self.lower), np.log(self.upper)
        return np.exp(log_lo + unit * (log_hi - log_lo))

    def sample(
        self,
        n: int,
        sampler: str = "sobol",
        seed: int = 0,
        start: int = 0,
        n_total: int | None = None,
    ) -> np.ndarray:
        """Rows ``[start, start + n)`` of the seed's sample sequence, ``(n, n_params)``.

        ``sampler``: ``"sobol"`` (scrambled Sobol'), ``"lhs"`` (Latin hypercube over a design of
        ``n_total`` rows, default ``start + n``) or ``"random"`` (uniform). With ``max_depth_m``
        the sequence keeps, in order, the candidates that satisfy the limit.
        """
        n = _count("n", n)
        start = _count("start", start, allow_zero=True)
        if sampler not in SAMPLERS:
            raise ValueError(f"sampler: must be one of {SAMPLERS}, got {sampler!r}")
        seed = _seed(seed)
        if n_total is None:
            n_total = start + n
        n_total = _count("n_total", n_total)
        if sampler == "lhs" and start + n > n_total:
            raise ValueError(f"n_total: {n_total} is smaller than start + n = {start + n}")
        stream = _UnitStream(sampler, seed, self.n_params, n_total)
        if self.max_depth_m is None:
            return self.from_unit(stream.rows(start, start + n))
        return self._sample_constrained(stream, start, n)

    def _sample_constrained(self, stream: _UnitStream, start: int, n: int) -> np.ndarray:
        kept: list[np.ndarray] = []
        n_kept = 0
        position = 0
        step = max(BLOCK_ROWS, start + n)
        while n_kept < start + n:
            models = self.from_unit(stream.rows(position, position + step))
            position += step
            accepted = models[self.contains(models)]
            kept.append(accepted)
            n_kept += accepted.shape[0]
            if n_kept < MIN_ACCEPTANCE * position:
                raise ValueError(
                    f"max_depth_m: only {n_kept} of {position} candidate models satisfy the "
                    f"limit {self.max_depth_m}; relax it or narrow the thickness bounds"
                )
        return np.concatenate(kept)[start : start + n]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe ``{"parameter_names", "bounds": {name: [lo, hi]}, "max_depth_m"}``."""
        return {
            "parameter_names": list(self.parameter_names),
            "bounds": {
                n: [float(lo), float(hi)]
                for n, lo, hi in zip(self.parameter_names, self.lower, self.upper, strict=True)
            },
            "max_depth_m": self.max_depth_m,
        }

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> ModelSpace:
        """Inverse of :meth:`to_dict`."""
        if not isinstance(spec, Mapping):
            raise ValueError(f"spec: expected a mapping, got {type(spec).__name__}")
        for key in ("parameter_names", "bounds"):
            if key not in spec:
                raise ValueError(f"{key}: missing from the model-space spec")
        return cls(spec["parameter_names"], spec["bounds"], spec.get("max_depth_m"))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ModelSpace) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"ModelSpace({self.to_dict()})"


class _UnitStream:
    """Deterministic rows of unit-cube samples for one (sampler, seed, dimension)."""

    def __init__(self, sampler: str, seed: int, dim: int, n_total: int) -> None:
        self.sampler, self.seed, self.dim, self.n_total = sampler, seed, dim, n_total

    def rows(self, begin: int, end: int) -> np.ndarray:
        if self.sampler == "sobol":
            return self._sobol(begin, end)
        if self.sampler == "random":
            return self._blocks(begin, end, BLOCK_ROWS, self._random_block)
        return self._blocks(begin, end, self.n_total, self._lhs_block)

    def _sobol(self, begin: int, end: int) -> np.ndarray:
        from scipy.stats import qmc  # here, not at the top: scipy.stats takes 1–2 s to import

        engine = qmc.Sobol(self.dim, scramble=True, rng=np.random.default_rng(self.seed))
        first = (begin // BLOCK_ROWS) * BLOCK_ROWS
        if first:
            engine.fast_forward(first)
        blocks = math.ceil((end - first) / BLOCK_ROWS)
        with warnings.catch_warnings():
            # Draws come in power-of-two blocks; scipy warns about the running total only.
            warnings.filterwarnings(
                "ignore", message=".*balance properties.*", category=UserWarning
            )
            draw = np.concatenate([engine.random(BLOCK_ROWS) for _ in range(blocks)])
        return draw[begin - first : end - first]

    def _random_block(self, index: int, size: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, 0x72616E64, index])
        return rng.random((size, self.dim))

    def _lhs_block(self, index: int, size: int) -> np.ndarray:
        from scipy.stats import qmc  # here, not at the top: scipy.stats takes 1–2 s to import

        rng = np.random.default_rng([self.seed, 0x6C6873, index])
        return qmc.LatinHypercube(self.dim, rng=rng).random(size)

    @staticmethod
    def _blocks(begin: int, end: int, size: int, make: Any) -> np.ndarray:
        first, last = begin // size, (end - 1) // size
        parts = [make(b, size) for b in range(first, last + 1)]
        out = np.concatenate(parts)
        offset = first * size
        return out[begin - offset : end - offset]


def _per_layer(name: str, value: Any, count: int) -> list[tuple[float, float]]:
    if count == 0:
        return []
    arr = np.asarray(value, dtype=object)
    if arr.ndim == 1 and len(value) == 2 and not isinstance(value[0], (Sequence, np.ndarray)):
        pair = _validate.bounds_pair(name, value)
        return [pair] * count
    if len(value) != count:
        raise ValueError(
            f"{name}: expected one [low, high] pair or {count} pairs, got {len(value)}"
        )
    return [_validate.bounds_pair(f"{name}[{i}]", v) for i, v in enumerate(value)]


def _count(name: str, value: Any, allow_zero: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name}: expected an integer, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name}: must be {'≥ 0' if allow_zero else 'positive'}, got {value}")
    return int(value)


def _seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed: expected a non-negative integer, got {seed!r}")
    return int(seed)
