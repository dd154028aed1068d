"""Induced polarisation (IP) in TEM soundings: a layered earth with one Cole–Cole layer.

A central- or coincident-loop transient over a non-polarisable layered earth decays
monotonically (Weidelt 1982, Geophysics 47(9), 1325); polarisable ground (clays, graphite,
permafrost) adds a current of opposite sign that steepens the late decay and can reverse it
(Flis, Newman & Hohmann 1989, Geophysics 54(4), 514; Kozhevnikov & Antonov 2008 fitted TEM-FAST
coincident-loop data with one polarisable layer). Where the served layered search leaves a TEM
sounding above ``IP_TRIGGER_CHI``, each layered fit of 1…``IP_MAX_LAYERS`` layers is refined again
with one of its layers polarisable (Pelton's Cole–Cole model, :mod:`forward_models.cole_cole`),
each layer in turn: ``scipy.optimize.least_squares`` (trust region reflective, bounded) on
ln ρ_0, ln h, m, ln τ and c, with forward-difference Jacobians evaluated as one batch of models.
The best of those fits by BIC (the Cole–Cole parameters counted) is reported beside the layered
answer, and preferred when its BIC is lower.

Residuals are linear, (f − d)/(σ|d|), so that a model whose transient reverses sign stays
defined, and the gates after a sign reversal, which the layered fit leaves out
(``ServedSounding.reversed_gates``), are fitted too. χ and BIC are reported on the gates the
layered fit used, in the served measure (log ratio over σ, equal to the linear one to first
order), so that the two answers compare; the reversed gates get their own χ.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import least_squares

import forward_models

from ..calibration import Z90
from ..layers import bic
from ..misfit import chi as chi_of
from ..misfit import rms_percent
from ..results import finite, model_dict
from .results import Candidate

__all__ = ["IP_MAX_LAYERS", "IP_TRIGGER_CHI", "PolarisableFit", "fit_polarisable"]

#: layered χ above which the polarisable fits are tried: the field-data target of issue 17
IP_TRIGGER_CHI = 1.5
#: largest layer count given a polarisable layer (10 parameters at 4 layers against the 20–45
#: gates of a TEM-FAST or terraTEM sounding). With the reversed gates fitted too, 3 left
#: Hengstberg P08-25 at χ 1.61 (m at its bound); 4 reaches 0.44 with m 0.88 inside its band
#: (docs/benchmarks.md)
IP_MAX_LAYERS = 4
#: bounds of the Cole–Cole parameters: chargeability, time constant (s), exponent
CHARGEABILITY_RANGE = (0.0, 0.95)
TAU_RANGE_S = (1e-7, 1.0)
C_RANGE = (0.1, 1.0)
#: start of every polarisable layer: m, c (τ starts at the geometric mean of the gate times)
START_CHARGEABILITY, START_C = 0.5, 0.5
#: relative step of the forward differences in the transformed parameters
FD_STEP = 1e-6
#: least-squares evaluations per start (each Jacobian is one batched evaluation)
MAX_EVALUATIONS = 60
#: share of a parameter's (transformed) range within which it counts as at its bound
AT_BOUND = 1e-3


@dataclass(frozen=True)
class PolarisableFit:
    """One layered earth with one Cole–Cole layer fitted to a sounding: ``model`` (2N−1,) ρ_0
    (Ω·m) then thicknesses (m), ``layer`` the polarisable layer (0-based) with its
    ``chargeability``, ``tau_s`` and ``c``; ``predicted`` (K,) data; ``chi`` in the served
    measure; ``bic`` with 2N − 1 + 3 free parameters; ``at_bounds`` the parameters that ended at
    a search bound (``rho1``…, ``h1``…, ``chargeability``, ``tau_s``, ``c``): not bounded by the
    data; ``p10``/``p90`` (2N − 1 + 3,) the linearised 10th/90th percentiles of every parameter
    in that order (physical units), from the Gauss–Newton covariance (JᵀJ)⁻¹ in the fitted
    coordinates scaled by χ² when χ > 1, clipped to the bounds; ``reversed_predicted`` (R,) and
    ``reversed_chi`` (RMS of (f − d)/(σ|d|)) on the sounding's gates after a sign reversal,
    which the fit includes (None without them)."""

    n_layers: int
    layer: int
    model: np.ndarray
    chargeability: float
    tau_s: float
    c: float
    predicted: np.ndarray
    chi: float
    rms_percent: float
    bic: float
    at_bounds: tuple[str, ...]
    p10: np.ndarray
    p90: np.ndarray
    reversed_predicted: np.ndarray | None = None
    reversed_chi: float | None = None

    def as_dict(self, layered_bic: float) -> dict[str, Any]:
        """The result's ``ip`` entry: the model with per-layer Cole–Cole arrays (m = 0 where a
        layer does not polarise), misfit, BIC against the layered answer's, and ``preferred``."""
        zeros = [0.0] * self.n_layers
        m, tau, c = list(zeros), list(zeros), list(zeros)
        m[self.layer], tau[self.layer], c[self.layer] = self.chargeability, self.tau_s, self.c
        return {
            "model": {
                **model_dict(self.model, self.n_layers),
                "chargeability": m,
                "tau_s": tau,
                "c": c,
            },
            "n_layers": self.n_layers,
            "polarisable_layer": self.layer + 1,
            "misfit": {"chi": finite(self.chi), "rms_percent": finite(self.rms_percent)},
            "predicted": self.predicted.tolist(),
            "bic": finite(self.bic),
            "layered_bic": finite(layered_bic),
            "preferred": bool(self.bic < layered_bic),
            "at_bounds": list(self.at_bounds),
            "uncertainty": self._bands(),
            "reversed_gates": None
            if self.reversed_predicted is None
            else {
                "predicted": self.reversed_predicted.tolist(),
                "chi": finite(self.reversed_chi),
            },
        }

    def _bands(self) -> dict[str, dict[str, Any]]:
        """``{"rho_ohmm", "thickness_m": {"p10": [...], "p90": [...]}, "chargeability",
        "tau_s", "c": {"p10": x, "p90": x}}`` (the Cole–Cole ones of the polarisable layer)."""
        n = self.n_layers
        spans = {"rho_ohmm": slice(0, n), "thickness_m": slice(n, 2 * n - 1)}
        out: dict[str, dict[str, Any]] = {
            key: {"p10": self.p10[cut].tolist(), "p90": self.p90[cut].tolist()}
            for key, cut in spans.items()
        }
        for offset, key in enumerate(("chargeability", "tau_s", "c")):
            j = 2 * n - 1 + offset
            out[key] = {"p10": float(self.p10[j]), "p90": float(self.p90[j])}
        return out

    def warning(self, layered_n_layers: int, layered_chi: float, preferred: bool) -> str:
        """The result's warning: the polarisable fit against the chosen layered one's χ."""
        earth = (
            "a half-space"
            if self.n_layers == 1
            else f"{self.n_layers} layers with layer {self.layer + 1}"
        )
        polarisable = (
            f"{earth} polarisable (Cole–Cole m {self.chargeability:.2f}, τ {self.tau_s:.2g} s, "
            f"c {self.c:.2f})"
        )
        layered = f"{layered_n_layers}-layer non-polarisable χ {layered_chi:.2f}"
        if not preferred:
            return (
                f"a polarisable earth does not explain the misfit: the best, {polarisable}, "
                f"reaches χ {self.chi:.2f} against the {layered}, and BIC does not prefer it"
            )
        bounds = (
            f"; {', '.join(self.at_bounds)} ended at the search bounds (not bounded by the data)"
            if self.at_bounds
            else ""
        )
        if self.reversed_predicted is not None:
            bounds += (
                f"; the {self.reversed_predicted.size} gates after the sign reversal are fitted "
                f"too (χ {self.reversed_chi:.2f} there)"
            )
        return (
            f"induced polarisation: {polarisable} fits to χ {self.chi:.2f} against the "
            f'{layered}, and BIC prefers it (see "ip"); the layered model, its bands and the '
            "smooth model ignore IP. A single sounding constrains the Cole–Cole parameters "
            f"weakly: they trade off with each other and with the layering{bounds}"
        )


class _Problem:
    """One polarisable-layer fit: transformed parameters x = [ln ρ_0 (N), ln h (N−1), m, ln τ, c]
    → linear weighted residuals (K,), with a batched forward-difference Jacobian."""

    def __init__(
        self, fm: Any, data: np.ndarray, sigma_rel: np.ndarray, layer: int, high: np.ndarray
    ) -> None:
        self.fm, self.layer, self.n, self.high = fm, layer, fm.n_layers, high
        self.data, self.scale = data, sigma_rel * np.abs(data)

    def predict(self, xs: np.ndarray) -> np.ndarray:
        """Data ``(n, K)`` of transformed parameter rows ``xs (n, p)``."""
        p_earth = 2 * self.n - 1
        rows = xs.shape[0]
        m, tau, c = np.zeros((rows, self.n)), np.ones((rows, self.n)), np.ones((rows, self.n))
        m[:, self.layer] = xs[:, p_earth]
        tau[:, self.layer] = np.exp(xs[:, p_earth + 1])
        c[:, self.layer] = xs[:, p_earth + 2]
        return self.fm.forward_cole_cole(np.exp(xs[:, :p_earth]), m, tau, c)

    def residuals(self, x: np.ndarray) -> np.ndarray:
        return (self.predict(x[None])[0] - self.data) / self.scale

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        """Forward differences, backward where a step would leave the bounds (``self.high``)."""
        step = FD_STEP * np.maximum(1.0, np.abs(x))
        step = np.where(x + step > self.high, -step, step)
        rows = np.vstack([x, x + np.diag(step)])
        pred = self.predict(rows) / self.scale
        return (pred[1:] - pred[0]).T / step


def _bounds(candidate: Candidate) -> tuple[np.ndarray, np.ndarray]:
    low, high = (np.log(np.asarray(b, dtype=float)) for b in candidate.bounds)
    return (
        np.r_[low, CHARGEABILITY_RANGE[0], np.log(TAU_RANGE_S[0]), C_RANGE[0]],
        np.r_[high, CHARGEABILITY_RANGE[1], np.log(TAU_RANGE_S[1]), C_RANGE[1]],
    )


def _gates(sounding: Any) -> tuple[dict[str, Any], np.ndarray, np.ndarray, np.ndarray]:
    """``(forward-model geometry, data (K + R,), σ relative (K + R,), indices (K,) of the
    fitted gates)`` over the fitted gates and those after a sign reversal, by time."""
    obs, rev = sounding.obs, sounding.reversed_gates
    if rev is None:
        return obs.geometry, obs.data, obs.sigma, np.arange(obs.data.size)
    times = np.concatenate([obs.axis_values, rev.times_s])
    order = np.argsort(times)
    kept = np.flatnonzero(order < obs.data.size)
    data = np.concatenate([obs.data, rev.data])[order]
    sigma = np.concatenate([obs.sigma, rev.sigma])[order]
    return {**obs.geometry, "times_s": times[order]}, data, sigma, kept


def _refine(
    sounding: Any, candidate: Candidate, layer: int, fm: Any, gates: tuple[Any, ...]
) -> PolarisableFit:
    """``candidate`` refined with its layer ``layer`` polarisable, on the forward model ``fm``
    of the gates ``gates`` (:func:`_gates`: data, σ, indices of the fitted gates)."""
    obs = sounding.obs
    data, sigma, kept = gates
    low, high = _bounds(candidate)
    problem = _Problem(fm, data, sigma, layer, high)
    tau0 = float(np.sqrt(obs.axis_values[0] * obs.axis_values[-1]))
    x0 = np.r_[np.log(candidate.best.model), START_CHARGEABILITY, np.log(tau0), START_C]
    span = high - low
    x0 = np.clip(x0, low + 1e-6 * span, high - 1e-6 * span)
    fit = least_squares(
        problem.residuals,
        x0,
        jac=problem.jacobian,
        bounds=(low, high),
        x_scale="jac",
        max_nfev=MAX_EVALUATIONS,
    )
    p_earth = 2 * candidate.n_layers - 1
    names = candidate.names + ["chargeability", "tau_s", "c"]
    edge = AT_BOUND * span
    at_bounds = tuple(
        name
        for name, x, lo, hi, e in zip(names, fit.x, low, high, edge, strict=True)
        if x <= lo + e or x >= hi - e
    )
    predicted_all = data + fit.fun * problem.scale  # fit.fun: the residuals at fit.x
    predicted = predicted_all[kept]
    reversed_at = np.setdiff1d(np.arange(data.size), kept)
    reversed_predicted, reversed_chi = None, None
    if reversed_at.size:
        reversed_predicted = predicted_all[reversed_at]
        reversed_chi = float(np.sqrt(np.mean(fit.fun[reversed_at] ** 2)))
    is_phase = np.zeros(predicted.size, dtype=bool)
    chi = float(chi_of(obs.data, predicted, is_phase, obs.sigma))
    cov = np.linalg.pinv(fit.jac.T @ fit.jac) * max(1.0, chi * chi)
    std = np.sqrt(np.maximum(np.diag(cov), 0.0))
    p10, p90 = (_physical(np.clip(fit.x + z * std, low, high), p_earth) for z in (-Z90, Z90))
    return PolarisableFit(
        n_layers=candidate.n_layers,
        layer=layer,
        model=np.exp(fit.x[:p_earth]),
        chargeability=float(fit.x[p_earth]),
        tau_s=float(np.exp(fit.x[p_earth + 1])),
        c=float(fit.x[p_earth + 2]),
        predicted=predicted,
        chi=chi,
        rms_percent=float(rms_percent(obs.data, predicted, is_phase)),
        bic=bic(chi, obs.data.size, p_earth + 3),
        at_bounds=at_bounds,
        p10=p10,
        p90=p90,
        reversed_predicted=reversed_predicted,
        reversed_chi=reversed_chi,
    )


def _physical(x: np.ndarray, p_earth: int) -> np.ndarray:
    """Fitted coordinates (ln ρ_0, ln h, m, ln τ, c) → physical values (ρ_0, h, m, τ, c)."""
    out = np.exp(x)
    out[p_earth] = x[p_earth]
    out[p_earth + 2] = x[p_earth + 2]
    return out


def fit_polarisable(sounding: Any, candidates: Sequence[Candidate]) -> PolarisableFit | None:
    """The best polarisable fit by BIC over every layered ``candidates`` entry of at most
    ``IP_MAX_LAYERS`` layers and each of its layers (None when no fit has a finite χ)."""
    geometry, *gates = _gates(sounding)
    fits = []
    for cand in candidates:
        if cand.n_layers > IP_MAX_LAYERS:
            continue
        fm = forward_models.create(sounding.spec.name, n_layers=cand.n_layers, **geometry)
        fits += [_refine(sounding, cand, layer, fm, gates) for layer in range(cand.n_layers)]
    fits = [f for f in fits if np.isfinite(f.chi)]
    return min(fits, key=lambda f: f.bic) if fits else None
