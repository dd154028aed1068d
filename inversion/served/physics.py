"""The data misfit of a served network's own answer, as a training loss, in the canonical frame.

The served networks (:mod:`inversion.served.network`) see a sounding on the method's canonical
grid, with ρa relative to ρ_ref, lengths relative to L_ref and a mask for the grid points it
does not reach. Their answer is therefore a model in that frame, and its forward response on
the whole grid (first abscissa 1 m or 1 s, ρ_ref = 1 Ω·m, so L_ref = 1 m for VES and 503 m for
MT) is directly comparable with the features. :class:`CanonicalMisfitLoss` is the masked
χ² of that comparison, ``weight · Σ r²/n_inside`` per row (or its Cauchy-robust form), as
bpnet's ``output_loss`` (a callable on arrays): the physics-guided training of
:mod:`inversion.physics_loss` for networks that serve any geometry (Liu, Yang & Zhang 2024,
Front. Earth Sci. 10.3389/feart.2024.1510962, map field geometries onto the trained one by the
same scaling laws).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import forward_models

from ..physics_loss import cauchy, loss_precision, weighted_misfit
from .frame import SKIN_M, MethodSpec, grid_log10

__all__ = ["CanonicalMisfitLoss"]

#: decades beyond the training targets' range within which answers are evaluated; outputs
#: further out are clipped there and get no misfit gradient (an untrained network's outputs)
CLIP_DECADES = 1.0


class CanonicalMisfitLoss:
    """Masked data misfit of canonical answers for one method and layer count.

    ``spec`` (VES or MT), ``n_layers``; the network's standardisation ``x_mean``/``x_std``
    (n_features,) and ``y_mean``/``y_std`` (2N−1,); ``y_low``/``y_high`` (2N−1,): the range of
    the canonical training targets (log10); ``rho_a_rel``, ``phase_deg``: the standard errors
    of the training noise; ``weight``: the term's weight beside the parameter MSE;
    ``cauchy_scale``: the per-row term is ``weight · c ln(1 + χ²/c)`` instead of ``weight · χ²``
    (:func:`inversion.physics_loss.cauchy`; None: χ²).
    """

    def __init__(
        self,
        spec: MethodSpec,
        n_layers: int,
        x_mean: np.ndarray,
        x_std: np.ndarray,
        y_mean: np.ndarray,
        y_std: np.ndarray,
        y_low: np.ndarray,
        y_high: np.ndarray,
        rho_a_rel: float,
        phase_deg: float,
        weight: float,
        cauchy_scale: float | None = None,
    ) -> None:
        if spec.is_tem:
            raise ValueError(f"{spec.name}: the canonical misfit loss serves VES and MT networks")
        grid = grid_log10(spec)
        self.n_grid = grid.size
        self.n_layers = int(n_layers)
        self.has_phase = spec.has_phase
        self.forward_model = forward_models.create(
            spec.name, n_layers=n_layers, **{spec.axis: 10.0**grid}
        )
        self.x_mean, self.x_std = np.asarray(x_mean, float), np.asarray(x_std, float)
        self.y_mean, self.y_std = np.asarray(y_mean, float), np.asarray(y_std, float)
        self.log_low = np.asarray(y_low, float) - CLIP_DECADES
        self.log_high = np.asarray(y_high, float) + CLIP_DECADES
        # canonical thickness log10(h / L_ref); in the unit frame L_ref = 1 m (VES), 503 m (MT)
        self.log_length_unit = np.log10(SKIN_M) if spec.has_phase else 0.0
        self.is_phase = np.arange(self.forward_model.n_data) >= self.n_grid
        self.sigma = np.where(self.is_phase, float(phase_deg), float(rho_a_rel))
        self.weight = float(weight)
        self.cauchy_scale = None if cauchy_scale is None else float(cauchy_scale)
        self.dlnm_doutput = math.log(10.0) * self.y_std
        self.precision = loss_precision(self.forward_model)

    def __call__(self, inputs: Any, outputs: Any) -> tuple[float, np.ndarray]:
        """``(Σ over rows of the loss, ∂/∂outputs (k, 2N−1))`` for standardised features
        ``inputs (k, n_features)`` and standardised canonical models ``outputs (k, 2N−1)``."""
        values, grads = self.rows(inputs, outputs)
        return float(values.sum()), grads

    def rows(self, inputs: Any, outputs: Any) -> tuple[np.ndarray, np.ndarray]:
        """Per row: the loss (k,) and its gradient ∂/∂outputs (k, 2N−1)."""
        g, n = self.n_grid, self.n_layers
        raw = np.asarray(inputs, dtype=float) * self.x_std + self.x_mean
        inside = raw[:, -g:] > 0.5
        log_m = np.asarray(outputs, dtype=float) * self.y_std + self.y_mean
        free = (log_m > self.log_low) & (log_m < self.log_high)
        log_m = np.clip(log_m, self.log_low, self.log_high)
        log_m[:, n:] += self.log_length_unit
        predicted, vjp = self.forward_model.forward_and_vjp(10.0**log_m, precision=self.precision)
        observed = 10.0 ** raw[:, :g]  # ρa / ρ_ref on the grid
        mask = inside
        if self.has_phase:
            observed = np.hstack([observed, 45.0 + 45.0 * raw[:, g : 2 * g]])
            mask = np.hstack([inside, inside])
        weights = mask / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        chi2, grad_lnm = weighted_misfit(
            observed, predicted, vjp, self.is_phase, self.sigma, weights
        )
        values, dvalue_dchi2 = cauchy(chi2, self.cauchy_scale)
        scale = (self.weight * dvalue_dchi2)[:, None] * self.dlnm_doutput
        return self.weight * values, np.where(free, grad_lnm * scale, 0.0)
