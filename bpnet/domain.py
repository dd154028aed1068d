"""Training-domain statistics and out-of-domain tests on transformed features.

A network only knows the part of feature space it was trained on. :class:`TrainingDomain` keeps,
from the (noisy, transformed) training features:

* the per-feature envelope ``[min − m·range, max + m·range]`` (``m = envelope_margin``);
* a principal-component model (mean, eigenvectors, eigenvalues of the covariance) and the
  ``percentile``-th percentile of the training points' Mahalanobis distances.

A new feature vector is *out of domain* when any feature leaves the envelope or its Mahalanobis
distance exceeds that threshold. (The inverter adds a third test, the misfit after inversion.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class DomainCheck:
    """Result of :meth:`TrainingDomain.check` for n feature vectors.

    ``in_domain`` (n,) bool; ``outside_envelope`` (n, n_features) bool; ``mahalanobis`` (n,)
    distance in units of training standard deviations; ``threshold`` the distance limit.
    """

    in_domain: np.ndarray
    outside_envelope: np.ndarray
    mahalanobis: np.ndarray
    threshold: float

    def reasons(self, i: int, feature_names: list[str]) -> list[str]:
        """Human-readable reasons why row ``i`` is out of domain (empty when in domain)."""
        out: list[str] = []
        bad = np.flatnonzero(self.outside_envelope[i])
        if bad.size:
            names = ", ".join(feature_names[j] for j in bad[:5])
            more = f" and {bad.size - 5} more" if bad.size > 5 else ""
            out.append(f"data outside the training envelope: {names}{more}")
        if self.mahalanobis[i] > self.threshold:
            out.append(
                f"unusual data for this network: Mahalanobis distance {self.mahalanobis[i]:.1f} "
                f"above the training data's limit {self.threshold:.1f}"
            )
        return out


class TrainingDomain:
    """Envelope + PCA/Mahalanobis model of the training features.

    ``percentile``: percentile of training distances used as threshold (default 99.5);
    ``envelope_margin``: fraction of each feature's training range added on both sides.
    """

    def __init__(self, percentile: float = 99.5, envelope_margin: float = 0.02) -> None:
        if not 50.0 <= float(percentile) < 100.0:
            raise ValueError(f"percentile must lie in [50, 100), got {percentile}")
        if not 0.0 <= float(envelope_margin) <= 1.0:
            raise ValueError(f"envelope_margin must lie in [0, 1], got {envelope_margin}")
        self.percentile = float(percentile)
        self.envelope_margin = float(envelope_margin)

    def fit(self, features: np.ndarray) -> TrainingDomain:
        """Learn the domain from training features ``(n, n_features)`` (transformed units)."""
        x = np.asarray(features, dtype=float)
        if x.ndim != 2 or x.shape[0] < x.shape[1] + 2:
            raise ValueError(
                f"features must have shape (n, n_features) with n > n_features + 1, got {x.shape}"
            )
        if not np.all(np.isfinite(x)):
            raise ValueError("features contain non-finite values")
        lo, hi = x.min(axis=0), x.max(axis=0)
        pad = self.envelope_margin * np.maximum(hi - lo, 1e-12)
        self.lower_ = lo - pad
        self.upper_ = hi + pad
        self.mean_ = x.mean(axis=0)
        cov = np.cov(x - self.mean_, rowvar=False)
        eigval, eigvec = np.linalg.eigh(np.atleast_2d(cov))
        keep = eigval > max(float(eigval.max()), 1e-300) * 1e-10
        self.eigenvalues_ = eigval[keep]
        self.components_ = eigvec[:, keep]
        self.threshold_ = float(np.percentile(self.mahalanobis(x), self.percentile))
        return self

    def mahalanobis(self, features: np.ndarray) -> np.ndarray:
        """Mahalanobis distance (n,) of features ``(n, n_features)`` from the training mean."""
        z = (np.atleast_2d(np.asarray(features, dtype=float)) - self.mean_) @ self.components_
        return np.sqrt(np.sum(z * z / self.eigenvalues_, axis=1))

    def check(self, features: np.ndarray) -> DomainCheck:
        """Envelope and Mahalanobis tests for features ``(n, n_features)``."""
        x = np.atleast_2d(np.asarray(features, dtype=float))
        outside = (x < self.lower_) | (x > self.upper_) | ~np.isfinite(x)
        distance = self.mahalanobis(np.where(np.isfinite(x), x, self.mean_))
        distance = np.where(np.all(np.isfinite(x), axis=1), distance, np.inf)
        in_domain = ~outside.any(axis=1) & (distance <= self.threshold_)
        return DomainCheck(in_domain, outside, distance, self.threshold_)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe description of the fitted domain."""
        return {
            "percentile": self.percentile,
            "envelope_margin": self.envelope_margin,
            "lower": self.lower_.tolist(),
            "upper": self.upper_.tolist(),
            "mean": self.mean_.tolist(),
            "eigenvalues": self.eigenvalues_.tolist(),
            "components": self.components_.tolist(),
            "threshold": self.threshold_,
        }

    @classmethod
    def from_dict(cls, spec: dict[str, Any]) -> TrainingDomain:
        """Rebuild a fitted domain from :meth:`to_dict` output."""
        domain = cls(spec["percentile"], spec["envelope_margin"])
        domain.lower_ = np.asarray(spec["lower"], dtype=float)
        domain.upper_ = np.asarray(spec["upper"], dtype=float)
        domain.mean_ = np.asarray(spec["mean"], dtype=float)
        domain.eigenvalues_ = np.asarray(spec["eigenvalues"], dtype=float)
        n_features = domain.mean_.size
        domain.components_ = np.asarray(spec["components"], dtype=float).reshape(n_features, -1)
        domain.threshold_ = float(spec["threshold"])
        return domain
