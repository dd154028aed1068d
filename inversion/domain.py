"""Training-domain statistics and out-of-domain tests on transformed features.

A network only knows the part of feature space it was trained on. :class:`TrainingDomain` keeps,
from the (noisy, transformed) training features:

* the per-feature envelope ``[min − m·range, max + m·range]`` (``m = envelope_margin``);
* a principal-component model (mean, eigenvectors, eigenvalues of the covariance) and the
  ``percentile``-th percentile of the training points' Mahalanobis distances.

A new feature vector is *out of domain* when any feature leaves the envelope or its Mahalanobis
distance exceeds that threshold. (The inverter adds the misfit after inversion.)

The bound test (:func:`bound_test_setup`, :func:`bound_test_reasons`) works on refined models: a
likelihood-ratio test of "the model lies inside the training bounds" for soundings whose model
touches a bound, screened by its linearised (score) version so that only few need the two
extra fits.
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


@dataclass
class BoundTest:
    """Soundings whose refined model touches the training bounds, and the relaxed bounds.

    ``rows`` (k,) indices of the tested soundings in the batch; ``lower``/``upper`` (k, p) the
    relaxed bounds in physical units (each parameter within ``margin_log10`` of a bound gets
    that bound moved ``relax_log10`` decades outwards); ``n_relaxed`` (k,) how many moved.
    """

    rows: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    n_relaxed: np.ndarray

    @classmethod
    def empty(cls, n_params: int) -> BoundTest:
        """No sounding to test."""
        return cls(np.zeros(0, int), np.zeros((0, n_params)), np.zeros((0, n_params)), np.zeros(0))


def _explained(jac: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """‖P r‖² (k,), the part of Σr² that a Gauss–Newton step removes, and that step (k, p).

    ``jac`` (k, n_data, p), ``r`` (k, n_data, 1); P projects onto the columns of ``jac`` (zero
    columns take no part)."""
    step = -np.linalg.pinv(jac, rcond=1e-10) @ r
    return np.sum((jac @ step) ** 2, axis=(1, 2)), step[:, :, 0]


def bound_test_setup(
    models: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    free: np.ndarray,
    jacobian: np.ndarray,
    residuals: np.ndarray,
    alpha: float,
    margin_log10: float = 0.05,
    relax_log10: float = 2.0,
) -> BoundTest:
    """Select the soundings worth a likelihood-ratio test, and their relaxed bounds.

    ``models`` (n, p) refined, physical; ``lower``/``upper`` (p,) the training bounds; ``free``
    (n, p) bool, not fixed; ``jacobian`` (n, n_data, p) and ``residuals`` (n, n_data) of the
    error-weighted data at ``models`` (d r/d log10 m). A sounding is a candidate when a free
    parameter lies within ``margin_log10`` decades of a bound AND the linearised (score) test
    says that moving it across could matter: with P the projection onto the columns of J, the
    Gauss–Newton reduction of Σr² bought by the at-bound parameters, ‖P r‖² − ‖P₋ r‖² (P₋
    without their columns), must reach half the test's critical value, with the Gauss–Newton
    step pointing outwards for one of them. Most in-bounds soundings at a bound fail this
    screen, so only few need the two extra fits.
    """
    x = np.log10(models)
    at_low = free & (x - np.log10(lower) < margin_log10)
    at_high = free & (np.log10(upper) - x < margin_log10)
    near = at_low | at_high
    rows = np.flatnonzero(near.any(axis=1))
    if not rows.size:
        return BoundTest.empty(x.shape[1])
    sel, r = near[rows], residuals[rows][:, :, None]
    full, step = _explained(jacobian[rows], r)
    without, _ = _explained(jacobian[rows] * ~sel[:, None, :], r)
    outward = (at_high[rows] & (step > 0)) | (at_low[rows] & (step < 0))
    from scipy.stats import chi2  # here: scipy.stats takes 1–2 s to import (CLI start-up)

    limit = chi2.ppf(1.0 - alpha, sel.sum(axis=1))
    rows = rows[outward.any(axis=1) & (full - without > 0.5 * limit)]
    factor = 10.0**relax_log10
    return BoundTest(
        rows=rows,
        lower=np.where(at_low[rows], lower / factor, lower),
        upper=np.where(at_high[rows], upper * factor, upper),
        n_relaxed=near[rows].sum(axis=1),
    )


def bound_test_reasons(
    test: BoundTest,
    chi_inside: np.ndarray,
    chi_relaxed: np.ndarray,
    models_relaxed: np.ndarray,
    n_data: int,
    names: list[str],
    lower: np.ndarray,
    upper: np.ndarray,
    alpha: float,
) -> list[list[str]]:
    """Likelihood-ratio test per tested sounding; reasons (one list per row of ``test``).

    ``chi_inside``/``chi_relaxed`` (k,) χ of the best fits (no prior) within the training bounds
    and within the relaxed bounds, ``models_relaxed`` (k, p) the latter's model. For Gaussian
    errors Δ = n_data·(χ_inside² − χ_relaxed²) is −2 ln of the likelihood ratio; with the truth
    inside the bounds it is at most a χ² variable with ``n_relaxed`` degrees of freedom (fewer
    when the truth sits on the bound), so Δ above that distribution's 1 − ``alpha`` quantile
    rejects "the model lies inside the training bounds" at significance ``alpha``. A reason names
    each parameter the relaxed fit moved beyond a bound.
    """
    out: list[list[str]] = []
    delta = n_data * (np.asarray(chi_inside) ** 2 - np.asarray(chi_relaxed) ** 2)
    from scipy.stats import chi2

    limit = chi2.ppf(1.0 - alpha, np.maximum(test.n_relaxed, 1))
    for i in range(test.rows.size):
        beyond = np.flatnonzero(
            (models_relaxed[i] > upper * (1 + 1e-9)) | (models_relaxed[i] < lower * (1 - 1e-9))
        )
        if not (delta[i] > limit[i] and beyond.size):
            out.append([])
            continue
        parts = []
        for j in beyond:
            kind, unit = (
                ("resistivity", "Ω·m") if names[j].startswith("rho") else ("thickness", "m")
            )
            side = "above" if models_relaxed[i, j] > upper[j] else "below"
            value = float(models_relaxed[i, j])
            shown = f"{value:.0f}" if value >= 1000 else f"{value:.3g}"
            parts.append(
                f"{kind} {names[j]} ≈ {shown} {unit}, {side} the training range "
                f"{lower[j]:g}–{upper[j]:g} {unit}"
            )
        out.append(
            [
                "the data prefer a model outside the training bounds: "
                + "; ".join(parts)
                + f" (fits better by Δχ² = {delta[i]:.1f} > {limit[i]:.1f}, likelihood-ratio "
                f"test at the {100 * alpha:g} % level)"
            ]
        )
    return out
