"""Calibrated intervals: the ensemble's spread made honest on held-out calibration pairs.

In the standardised log10 target space, per parameter j: the ensemble spread ``s_j(x)`` alone is
under-dispersed, so on a calibration split held out from training we set
``τ_j² = max(0, mean(e_j²) − mean(s_j²))`` (the residual variance the spread does not explain),
``σ_j(x) = sqrt(s_j(x)² + τ_j²)``, and a factor ``k_j`` so that exactly 80 % of the calibration
residuals satisfy ``|e_j| ≤ 1.2816·k_j·σ_j``. Then ``p10/p90 = mean ∓ 1.2816·k_j·σ_j``.

After refinement the band is the linearised posterior std at the refined model, scaled by a
factor ``refined_scale_j`` found the same way on refined calibration soundings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .misfit import chi as chi_of
from .misfit import default_sigma
from .observations import phase_mask, validate_noise_floor
from .results import model_vector

__all__ = [
    "N_REFINED_CAL",
    "Z90",
    "Predictive",
    "calibrate_intervals",
    "network_chi",
    "refined_scale",
]

#: calibration soundings refined at fit time to calibrate the post-refinement band
N_REFINED_CAL = 200
Z90 = 1.2815515655446004  # standard-normal 90th percentile


def calibrate_intervals(
    members: np.ndarray, y_cal: np.ndarray
) -> tuple[dict[str, Any], np.ndarray]:
    """``({"tau2", "scale", "z"}, residuals)`` from the members' predictions (m, n, p) of the
    calibration targets ``y_cal`` (n, p), standardised target space; residuals (n, p)."""
    mean, spread = members.mean(axis=0), members.std(axis=0)
    err = y_cal - mean
    tau2 = np.maximum(np.mean(err**2, axis=0) - np.mean(spread**2, axis=0), 0.0)
    sigma = np.sqrt(spread**2 + tau2)
    ratio = np.abs(err) / (Z90 * np.maximum(sigma, 1e-12))
    scale = np.quantile(ratio, 0.8, axis=0)
    return {"tau2": tau2.tolist(), "scale": scale.tolist(), "z": Z90}, err


def training_sigma(forward_model: Any, noise: Any) -> np.ndarray:
    """Standard errors (n_data,) of the training data: the training noise (``noise``: a
    NoiseModel or None) where it is set, else the default noise floor (fraction / degrees)."""
    levels = noise.to_dict() if noise is not None else {}
    floor = validate_noise_floor(None)
    return default_sigma(
        phase_mask(forward_model.data_kinds),
        float(levels.get("rho_a_rel") or floor["rho_a_rel"]),
        float(levels.get("phase_deg") or floor["phase_deg"]),
    )


def network_chi(forward_model: Any, noise: Any, models: np.ndarray, data: np.ndarray) -> np.ndarray:
    """χ (n,) of the network's ``models`` (n, n_params) against calibration ``data`` (n, n_data),
    with the training noise (``noise``: a NoiseModel or None) or the default noise floor."""
    is_phase = phase_mask(forward_model.data_kinds)
    sigma_d = training_sigma(forward_model, noise)
    pred = np.asarray(forward_model.forward(models, precision="double"), dtype=float)
    return chi_of(data, pred, is_phase, sigma_d)


def refined_scale(
    results: Sequence[Mapping[str, Any]], models_cal: np.ndarray, n_params: int
) -> list[float]:
    """Factors ``k_j`` (n_params,) so that, over the in-domain refined ``results`` of calibration
    soundings with true models ``models_cal`` (k, n_params), 80 % of the true parameters lie
    within refined ∓ 1.2816·k_j·std_j (log10); ones when fewer than 10 soundings qualify."""
    refined = np.array([model_vector(r["model"]) for r in results])
    std = np.array([model_vector(r["uncertainty"]["linearised_std_log10"]) for r in results])
    keep = np.array([r["in_domain"] for r in results]) & np.all(np.isfinite(std), axis=1)
    err = np.abs(np.log10(refined) - np.log10(models_cal))
    ratio = err / (Z90 * np.maximum(std, 1e-6))
    scale = np.quantile(ratio[keep], 0.8, axis=0) if keep.sum() >= 10 else np.ones(n_params)
    return scale.tolist()


class Predictive:
    """The calibrated predictive distribution of an ensemble.

    ``calibration``: the inverter's ``calibration_`` dict (``tau2``, ``scale``, optionally
    ``refined_scale``); ``param_transform``: the fitted ``ParameterTransform`` (standardised
    targets ⇄ physical models).
    """

    def __init__(self, calibration: Mapping[str, Any], param_transform: Any) -> None:
        self.calibration = calibration
        self.param_transform = param_transform

    def to_models(self, y: np.ndarray) -> np.ndarray:
        """Standardised targets (n, n_params) → positive physical models (n, n_params)."""
        return np.asarray(self.param_transform.inverse_transform(y), dtype=float)

    def mean_std(self, members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Calibrated predictive mean and std (n, n_params), standardised target space, from the
        member predictions (m, n, n_params)."""
        mean, spread = members.mean(axis=0), members.std(axis=0)
        tau2 = np.asarray(self.calibration["tau2"], dtype=float)
        scale = np.asarray(self.calibration["scale"], dtype=float)
        return mean, scale * np.sqrt(spread**2 + tau2)

    def intervals(self, members: np.ndarray) -> dict[str, np.ndarray]:
        """Calibrated p10/p50/p90 models (n, n_params), physical, from member predictions."""
        mean, std = self.mean_std(members)
        half = Z90 * std
        return {
            "p10": self.to_models(mean - half),
            "p50": self.to_models(mean),
            "p90": self.to_models(mean + half),
        }

    def restart_pool(self, members: np.ndarray, n_draws: int, seed: int) -> np.ndarray:
        """Restart candidates (n_members + n_draws, n, n_params) in physical units: the members'
        models and draws from the calibrated predictive distribution. The same standard-normal
        draws (generator seeded with ``seed``) serve every sounding, so a sounding's restarts do
        not depend on the other soundings of the batch."""
        mean, std = self.mean_std(members)
        rng = np.random.default_rng(seed)
        draws = mean + std * rng.standard_normal((n_draws, 1, mean.shape[1]))
        pool = np.concatenate([members, draws], axis=0)
        flat = self.to_models(pool.reshape(-1, pool.shape[-1]))
        return flat.reshape(pool.shape)

    def refined_band(
        self, model: np.ndarray, std_log10: np.ndarray
    ) -> dict[str, np.ndarray] | None:
        """Calibrated p10/p50/p90 (n_params,) around the refined ``model`` from its linearised
        log10 std; None when the calibration has no refined scale (older files)."""
        scale = self.calibration.get("refined_scale")
        if scale is None:
            return None
        half = Z90 * np.asarray(scale, dtype=float) * std_log10
        log_model = np.log10(model)
        return {"p10": 10 ** (log_model - half), "p50": model, "p90": 10 ** (log_model + half)}
