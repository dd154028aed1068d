"""The data misfit of a network's own answer, as a training loss (physics-guided BP inversion).

A network trained on parameter MSE alone predicts the mean of the models compatible with the
data; where models are equivalent (the S or T of a thin layer) that mean fits no data. Adding
the misfit of the forward response of the network's own output, ‖(f(NN(d)) − d)/σ‖², pulls the
answer towards models that explain the data — the physics-guided networks of Liu et al. (2022,
PhyDNN, Remote Sens. 14:3218) and Liu, Yang & Zhang (2024, Front. Earth Sci.,
10.3389/feart.2024.1510962). :class:`DataMisfitLoss` is that term as bpnet's ``output_loss``:
a callable on plain arrays (bpnet knows no geophysics).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .calibration import training_sigma
from .misfit import weighted_residuals
from .observations import phase_mask
from .transforms import DataTransform, ParameterTransform

#: decades beyond the training bounds within which the forward model is evaluated; outputs
#: further out are clipped there and get no misfit gradient (an untrained network's outputs)
CLIP_DECADES = 1.0


def loss_precision(forward_model: Any) -> str:
    """The precision of the loss's ``forward_and_vjp``: ``"single"`` where the forward model
    offers float32 derivatives (MT: data within 2·10⁻⁴ of float64, far below the training
    noise, at ~0.6× the cost; docs/benchmarks.md), else ``"double"``."""
    return "single" if "single" in getattr(forward_model, "derivative_precisions", ()) else "double"


class DataMisfitLoss:
    """``weight · Σ_d r_d² / n_data`` per row, r the error-weighted residuals of
    :func:`inversion.misfit.weighted_residuals` between the data the row's features stand for
    and the forward response of the model its outputs stand for.

    ``forward_model``: with ``forward_and_vjp`` (VES and MT); ``data_transform``,
    ``param_transform``: the fitted feature/target transforms; ``sigma`` (n_data,): standard
    errors (fraction for ρa, degrees for phase); ``lower``, ``upper`` (n_params,): training
    bounds (Ω·m / m); ``weight``: the term's weight beside the parameter MSE (per element).
    """

    def __init__(
        self,
        forward_model: Any,
        data_transform: DataTransform,
        param_transform: ParameterTransform,
        sigma: np.ndarray,
        lower: np.ndarray,
        upper: np.ndarray,
        weight: float,
    ) -> None:
        if not hasattr(forward_model, "forward_and_vjp"):
            raise ValueError(
                f"data_misfit_weight: {forward_model.name} has no exact vector–Jacobian product "
                "(forward_and_vjp), which the data-misfit loss needs"
            )
        self.forward_model = forward_model
        self.data_transform = data_transform
        self.param_transform = param_transform
        self.sigma = np.asarray(sigma, dtype=float)
        self.is_phase = phase_mask(forward_model.data_kinds)
        self.log_low = np.log10(np.asarray(lower, dtype=float)) - CLIP_DECADES
        self.log_high = np.log10(np.asarray(upper, dtype=float)) + CLIP_DECADES
        self.weight = float(weight)
        # outputs are standardised log10 parameters: log10 m = output · std + mean
        self.log_mean = np.asarray(param_transform.mean_, dtype=float)
        self.log_std = np.asarray(param_transform.std_, dtype=float)
        self.dlnm_doutput = math.log(10.0) * self.log_std
        self.precision = loss_precision(forward_model)

    def __call__(self, inputs: Any, outputs: Any) -> tuple[float, np.ndarray]:
        """``(Σ over rows of the loss, ∂/∂outputs (k, n_params))`` for features ``inputs
        (k, n_data)`` and standardised log10 model outputs ``outputs (k, n_params)``."""
        observed = self.data_transform.inverse_transform(np.asarray(inputs, dtype=float))
        log_m = np.asarray(outputs, dtype=float) * self.log_std + self.log_mean
        inside = (log_m > self.log_low) & (log_m < self.log_high)
        models = 10.0 ** np.clip(log_m, self.log_low, self.log_high)
        predicted, vjp = self.forward_model.forward_and_vjp(models, precision=self.precision)
        weights = self.weight / self.is_phase.size
        values, grad_lnm = weighted_misfit(
            observed, predicted, vjp, self.is_phase, self.sigma, weights
        )
        grad = np.where(inside, grad_lnm * self.dlnm_doutput, 0.0)
        value = float(values.sum())
        return value, grad


def cauchy(chi2: np.ndarray, scale: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Per row the robust misfit c · ln(1 + χ²/c) and its derivative 1/(1 + χ²/c) with
    respect to χ² (both (k,)), for χ² (k,) and the Cauchy scale c (χ² units); ``(χ², 1)``
    when ``scale`` is None. Near a fit it is χ²; a row far from fitting pulls with a weight
    falling as c/χ², so the soundings no answer of the network fits do not dominate the
    term (docs/methods.md, "Physics-guided training")."""
    if scale is None:
        return chi2, np.ones_like(chi2)
    c = float(scale)
    return c * np.log1p(chi2 / c), 1.0 / (1.0 + chi2 / c)


def weighted_misfit(
    observed: np.ndarray,
    predicted: np.ndarray,
    vjp: Callable[[np.ndarray], np.ndarray],
    is_phase: np.ndarray,
    sigma: np.ndarray,
    weights: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """Per row Σ_d w_d r_d² (k,) and its gradient with respect to ln m (k, p): r the
    error-weighted residuals (:func:`inversion.misfit.weighted_residuals`) of ``predicted``
    (k, n_data) against ``observed`` (physical units); ``vjp``: the forward model's
    vector–Jacobian product of ``predicted`` (``forward_and_vjp``), cotangent (k, n_data) →
    Σ_d c_d ∂data_d/∂ln m (k, p); ``weights`` w (scalar or broadcast to (k, n_data))."""
    r = weighted_residuals(observed, predicted, is_phase, sigma)
    # ∂r/∂data: 1/(σ ρa) for apparent resistivities (r in ln ρa), 1/σ for phases
    scale = np.where(is_phase, 1.0, 1.0 / predicted) / sigma
    wr = np.asarray(weights) * r
    return np.einsum("kd,kd->k", wr, r), vjp(2.0 * wr * scale)


def data_misfit_loss(inverter: Any) -> DataMisfitLoss | None:
    """The physics term of a fitting ``Inverter``'s training loss, from its fitted transforms,
    training noise and bounds; None when its ``data_misfit_weight`` is 0."""
    weight = float(inverter.data_misfit_weight)
    if not weight > 0:
        return None
    return DataMisfitLoss(
        inverter.forward_model,
        inverter.data_transform_,
        inverter.param_transform_,
        training_sigma(inverter.forward_model, inverter.noise),
        np.asarray(inverter.space.lower, dtype=float),
        np.asarray(inverter.space.upper, dtype=float),
        weight,
    )
