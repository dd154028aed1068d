"""A served network: one method and one layer count, any geometry in the served range.

The network maps a sounding's canonical features (:func:`inversion.served.frame.features`) to
its canonical model (log10 ρ/ρ_ref, log10 h/L_ref). It is trained on synthetic soundings drawn
in the canonical frame (:func:`synthetic`): random layered models, random windows of the grid
(spans from ``MIN_SPAN_DECADES`` to the whole grid), relative ρa noise and absolute phase noise.
Saved as one checksummed ``.npz`` (:mod:`bpnet.io`, no pickle) with kind ``geobp.served``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import forward_models
from bpnet import BPEnsemble, IntegrityError
from bpnet import io as bpnet_io

from .frame import (
    METHODS,
    SKIN_M,
    MethodSpec,
    features_batch,
    frame_batch,
    grid_log10,
    to_canonical,
)
from .physics import CanonicalMisfitLoss
from .tem import prior_depth_range, synthetic_tem

__all__ = [
    "FORMAT",
    "ServedNetwork",
    "TrainingSettings",
    "prior_draws",
    "synthetic",
    "train_served",
]

FORMAT = "geobp.served"
MIN_SPAN_DECADES = {"ves-schlumberger": 1.0, "ves-wenner": 1.0, "mt-1d": 1.5}
#: TEM forward models cost ~100× a VES one: fewer soundings keep the starter set within minutes
SAMPLES_BY_METHOD = {"tem-central-loop": 3000, "tem-coincident-loop": 3000}
#: Cauchy scale (χ² units) of the physics term per method: for the Schlumberger set (60 000
#: soundings) the robust term lowered the pooled model error from 0.449 to 0.414 and the median
#: network-only χ from 2.68 to 2.54; for MT it traded χ for model error, so MT keeps χ²
#: (docs/benchmarks.md, "A robust physics term for VES")
MISFIT_CAUCHY_SCALE = {"ves-schlumberger": 2.0, "ves-wenner": 2.0}
LOG_RHO_CONTRAST = 4.0  # canonical layer resistivities: log10 ρ uniform in [0, 4]


@dataclass
class TrainingSettings:
    """How a served network is trained: ``n_samples`` synthetic soundings (at most
    ``method_samples`` for the methods listed there), ``noise`` (ρa and TEM −dBz/dt relative,
    phase degrees), ensemble size and ``BPNetwork`` keywords, one ``seed``;
    ``data_misfit_weight``: weight of the masked data misfit of the network's own answer
    (:class:`inversion.served.physics.CanonicalMisfitLoss`) beside the parameter MSE, VES and
    MT only (0: parameter MSE alone); ``misfit_cauchy_scale``: per method, the Cauchy scale c
    that makes that term ``c ln(1 + χ²/c)`` per sounding instead of χ² (methods not listed: χ²)."""

    n_samples: int = 40000
    rho_a_rel: float = 0.03
    phase_deg: float = 1.0
    n_members: int = 3
    network: dict[str, Any] = field(
        default_factory=lambda: {"hidden": 64, "max_epochs": 60, "learning_rate": 3e-3}
    )
    seed: int = 0
    method_samples: dict[str, int] = field(default_factory=lambda: dict(SAMPLES_BY_METHOD))
    data_misfit_weight: float = 0.0
    misfit_cauchy_scale: dict[str, float] = field(default_factory=lambda: dict(MISFIT_CAUCHY_SCALE))

    def __post_init__(self) -> None:
        weight = float(self.data_misfit_weight)
        if not (math.isfinite(weight) and weight >= 0):
            raise ValueError(f"data_misfit_weight: must be a finite number >= 0, got {weight}")
        if not isinstance(self.misfit_cauchy_scale, Mapping):
            raise ValueError("misfit_cauchy_scale: must map method names to scales")
        for method, scale in self.misfit_cauchy_scale.items():
            if method not in METHODS or METHODS[method].is_tem:
                known = sorted(m for m, spec in METHODS.items() if not spec.is_tem)
                raise ValueError(f"misfit_cauchy_scale: {method!r} is not one of {known}")
            number = isinstance(scale, int | float) and not isinstance(scale, bool)
            if not (number and math.isfinite(scale) and scale > 0):
                raise ValueError(
                    f"misfit_cauchy_scale[{method!r}]: must be a finite number > 0, got {scale!r}"
                )

    def samples_for(self, method: str) -> int:
        """Number of synthetic soundings for ``method``."""
        return int(min(self.n_samples, self.method_samples.get(method, self.n_samples)))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe copy."""
        return {
            "method_samples": dict(self.method_samples),
            "n_samples": self.n_samples,
            "rho_a_rel": self.rho_a_rel,
            "phase_deg": self.phase_deg,
            "n_members": self.n_members,
            "network": dict(self.network),
            "seed": self.seed,
            "data_misfit_weight": self.data_misfit_weight,
            "misfit_cauchy_scale": dict(self.misfit_cauchy_scale),
        }


def _canonical_models(
    spec: MethodSpec, n_layers: int, span: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Random models (n, 2N−1) Ω·m / m for soundings whose first abscissa is 1 (m or s) and
    which span ``span`` (n,) decades: interface depths log-uniform over what the window sees."""
    n = span.size
    log_rho = rng.uniform(0.0, LOG_RHO_CONTRAST, (n, n_layers))
    if spec.has_phase:  # depths in skin depths of the layers' geometric-mean resistivity
        log_skin = np.log10(SKIN_M) + 0.5 * log_rho.mean(axis=1)
        lo, hi = log_skin - 1.0, log_skin + 0.5 * span - 0.2
    else:
        lo, hi = np.full(n, -0.5), span - 0.3
    u = np.sort(rng.uniform(size=(n, n_layers - 1)), axis=1)
    depths = 10.0 ** (lo[:, None] + u * (hi - lo)[:, None])
    thickness = np.diff(np.concatenate([np.zeros((n, 1)), depths], axis=1), axis=1)
    return np.hstack([10.0**log_rho, np.maximum(thickness, 1e-3 * depths[:, :1])])


def synthetic(
    method: str, n_layers: int, n: int, settings: TrainingSettings, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` noisy synthetic soundings on random windows of the canonical grid:
    features (n, n_features) and canonical models (n, 2N−1)."""
    spec = METHODS[method]
    if spec.is_tem:
        return synthetic_tem(spec, n_layers, n, settings.rho_a_rel, rng)
    grid = grid_log10(spec)
    span = rng.uniform(MIN_SPAN_DECADES[method], spec.decades, n)
    models = _canonical_models(spec, n_layers, span, rng)
    fm = forward_models.create(method, n_layers=n_layers, **{spec.axis: 10.0**grid})
    data = np.asarray(fm.forward(models), dtype=float)
    g = grid.size
    rho_a = data[:, :g] * (1.0 + settings.rho_a_rel * rng.standard_normal((n, g)))
    rho_a = np.maximum(rho_a, 1e-3 * data[:, :g])
    phase = None
    if spec.has_phase:
        phase = data[:, g:] + settings.phase_deg * rng.standard_normal((n, g))
    inside = grid[None, :] <= span[:, None] + 1e-9
    log_rho_ref, log_length_ref = frame_batch(spec, np.zeros(n), np.log10(rho_a), inside)
    x = features_batch(spec, np.log10(rho_a), phase, inside, log_rho_ref)
    return x, to_canonical(models, n_layers, log_rho_ref, log_length_ref)


@dataclass
class ServedNetwork:
    """A fitted served network: ``method``, ``n_layers``, the ensemble, the feature and target
    standardisation (``x_mean``/``x_std`` (n_features,), ``y_mean``/``y_std`` (2N−1,)), the
    training ``settings`` and held-out ``metrics``."""

    method: str
    n_layers: int
    ensemble: Any
    x_mean: np.ndarray
    x_std: np.ndarray
    y_mean: np.ndarray
    y_std: np.ndarray
    settings: dict[str, Any]
    metrics: dict[str, Any]

    @property
    def spec(self) -> MethodSpec:
        """The method's canonical grid and served range."""
        return METHODS[self.method]

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Member predictions (n_members, n, 2N−1) canonical models for features (n, n_features)."""
        xs = (np.atleast_2d(x) - self.x_mean) / self.x_std
        members = np.asarray(self.ensemble.predict(xs, return_members=True), dtype=float)
        return members * self.y_std + self.y_mean

    def record(self) -> dict[str, Any]:
        """JSON-safe record of everything but the weights."""
        return {
            "kind": FORMAT,
            "version": 1,
            "method": self.method,
            "n_layers": self.n_layers,
            "x_mean": self.x_mean.tolist(),
            "x_std": self.x_std.tolist(),
            "y_mean": self.y_mean.tolist(),
            "y_std": self.y_std.tolist(),
            "settings": self.settings,
            "metrics": self.metrics,
        }

    def save(self, path: str, metadata: Mapping[str, Any] | None = None) -> None:
        """Write to ``path`` (``.npz``, checksummed; ``metadata`` kept under ``"user"``)."""
        bpnet_io.save(self.ensemble, path, metadata={**self.record(), "user": dict(metadata or {})})

    @classmethod
    def load(cls, path: str) -> ServedNetwork:
        """Read a file written by :meth:`save`; ``bpnet.IntegrityError`` for any other file."""
        ensemble = bpnet_io.load(path)
        doc = getattr(ensemble, "metadata_", {}) or {}
        if doc.get("kind") != FORMAT or doc.get("method") not in METHODS:
            raise IntegrityError(f"{path}: not a served network (kind {doc.get('kind')!r})")
        return cls(
            method=doc["method"],
            n_layers=int(doc["n_layers"]),
            ensemble=ensemble,
            x_mean=np.asarray(doc["x_mean"], float),
            x_std=np.asarray(doc["x_std"], float),
            y_mean=np.asarray(doc["y_mean"], float),
            y_std=np.asarray(doc["y_std"], float),
            settings=dict(doc["settings"]),
            metrics=dict(doc["metrics"]),
        )


def train_served(
    method: str,
    n_layers: int,
    settings: TrainingSettings | None = None,
    callback: Callable[[dict], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> ServedNetwork:
    """Train the served network of ``method`` with ``n_layers`` (2…6) on synthetic canonical
    soundings (with the data-misfit term when ``settings.data_misfit_weight`` > 0, VES and
    MT); 10 % of them are held out for ``metrics["val_rmse_log10"]``; ``metrics`` also give
    each member's epochs and stop reason (``max_epochs``, ``early_stopping``, …)."""
    if method not in METHODS:
        raise ValueError(f"method: {method!r} is not served; choose one of {sorted(METHODS)}")
    if not 2 <= int(n_layers) <= 6:
        raise ValueError(f"n_layers: served networks have 2 to 6 layers, got {n_layers}")
    settings = settings or TrainingSettings()
    rng = np.random.default_rng(settings.seed)
    x, y = synthetic(method, n_layers, settings.samples_for(method), settings, rng)
    n_val = max(int(0.1 * x.shape[0]), 10)
    x_mean, x_std = x[n_val:].mean(axis=0), x[n_val:].std(axis=0) + 1e-6
    y_mean, y_std = y[n_val:].mean(axis=0), y[n_val:].std(axis=0) + 1e-6
    physics = None
    if settings.data_misfit_weight > 0 and not METHODS[method].is_tem:
        physics = CanonicalMisfitLoss(
            METHODS[method],
            int(n_layers),
            x_mean,
            x_std,
            y_mean,
            y_std,
            y[n_val:].min(axis=0),
            y[n_val:].max(axis=0),
            settings.rho_a_rel,
            settings.phase_deg,
            settings.data_misfit_weight,
            settings.misfit_cauchy_scale.get(method),
        )
    ensemble = BPEnsemble(n_members=settings.n_members, seed=settings.seed, **settings.network)
    xs, ys = (x[n_val:] - x_mean) / x_std, (y[n_val:] - y_mean) / y_std
    ensemble.fit(xs, ys, callback, should_stop, physics)
    net = ServedNetwork(
        method, int(n_layers), ensemble, x_mean, x_std, y_mean, y_std, settings.to_dict(), {}
    )
    err = net.predict(x[:n_val]).mean(axis=0) - y[:n_val]
    members = getattr(ensemble, "members_", [])
    net.metrics = {
        "val_rmse_log10": float(np.sqrt(np.mean(err**2))),
        "n_validation": int(n_val),
        "stop_reason": str(getattr(ensemble, "stop_reason_", "completed")),
        # per member: epochs run and why they ended (early stopping at a tenth of max_epochs
        # is visible here, not only in the logs)
        "member_epochs": [len(m.history_) for m in members],
        "member_stop_reasons": [str(m.stop_reason_) for m in members],
    }
    return net


def prior_draws(
    spec: MethodSpec, n_layers: int, span_decades: float, n: int, rng: np.random.Generator
) -> np.ndarray:
    """``n`` random canonical models (n, 2N−1) (log10 ρ/ρ_ref, log10 h/L_ref) of a sounding
    spanning ``span_decades``: the served networks' prior, centred on the sounding's frame."""
    log_rho = rng.uniform(-LOG_RHO_CONTRAST / 2, LOG_RHO_CONTRAST / 2, (n, n_layers))
    if spec.is_tem:
        lo, hi = prior_depth_range(span_decades)
    elif spec.has_phase:
        lo, hi = -1.0, 0.5 * span_decades - 0.2
    else:
        lo, hi = -0.5, span_decades - 0.3
    u = np.sort(rng.uniform(size=(n, n_layers - 1)), axis=1)
    depths = 10.0 ** (lo + u * (hi - lo))
    thickness = np.diff(np.concatenate([np.zeros((n, 1)), depths], axis=1), axis=1)
    return np.hstack([log_rho, np.log10(np.maximum(thickness, 1e-3 * 10.0**lo))])
