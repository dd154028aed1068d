"""The residuals of a smooth (Occam) model and their Jacobian on a fixed stack of layers.

Residuals follow :mod:`inversion.misfit`: ``(ln d_pred − ln d_obs)/σ_rel`` for ρa-like data and
``(φ_pred − φ_obs)/σ_φ`` for phases. The Jacobian with respect to ln ρ of the stack layers is the
forward model's exact one (``forward_and_jacobian``: VES, MT and TEM all have exact ones), its
resistivity columns.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["SmoothModelError", "StackProblem", "weighted_jacobian"]

_LN10 = float(np.log(10.0))


class SmoothModelError(RuntimeError):
    """No smooth model: the forward model gives non-finite data for the stack model, or the data
    are insensitive to it."""


class StackProblem:
    """The residuals and their Jacobian for one sounding on a fixed stack.

    ``jacobian_with_forward``: a forward of one model computes its Jacobian too (the forward
    model's ``forward_and_jacobian``), kept for :meth:`linearise` of the same model — for a
    line search that forward-models one trial at a time and linearises about it when it is
    taken (TEM: the Jacobian costs about two forwards, the forward it saves one)."""

    def __init__(
        self,
        fwd: Any,
        observed: np.ndarray,
        sigma: np.ndarray,
        is_phase: np.ndarray,
        thickness_m: np.ndarray,
        jacobian_with_forward: bool = False,
    ) -> None:
        self.fwd, self.is_phase = fwd, np.asarray(is_phase, dtype=bool)
        self.jacobian_with_forward = jacobian_with_forward
        self._kept: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self.thickness_m = np.asarray(thickness_m, dtype=float)
        self.n = self.thickness_m.size + 1
        self.weight = 1.0 / np.asarray(sigma, dtype=float)
        self.target = self._transform(np.asarray(observed, dtype=float))

    def _transform(self, data: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.is_phase, data, np.log(np.where(self.is_phase, 1.0, data)))

    def models(self, x: np.ndarray) -> np.ndarray:
        """Full model vectors (k, 2N−1) [ρ…, h…] of log10 ρ rows ``x`` (k, N)."""
        x = np.atleast_2d(x)
        return np.hstack([10.0**x, np.broadcast_to(self.thickness_m, (x.shape[0], self.n - 1))])

    def residuals(self, predicted: np.ndarray) -> np.ndarray:
        """Weighted residuals (k, n_data) of predictions (k, n_data); 1e6 where not finite."""
        r = (self._transform(predicted) - self.target) * self.weight
        return np.where(np.isfinite(r), r, 1e6)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Predictions (k, n_data) of log10 ρ rows (k, N), in the forward model's faster
        precision (trial models are only screened by χ; the accepted one is recomputed in
        double precision with its Jacobian). One model with ``jacobian_with_forward``: in
        double precision, its Jacobian kept for :meth:`linearise`."""
        x = np.atleast_2d(x)
        if not (self.jacobian_with_forward and x.shape[0] == 1):
            return np.asarray(self.fwd.forward(self.models(x), precision="auto"), dtype=float)
        data, jac = _rho_columns(self.fwd, self.models(x)[0], self.n)
        self._kept = (x[0].copy(), data, jac)
        return data[None]

    def chi(self, predicted: np.ndarray) -> np.ndarray:
        """χ (k,) of predictions (k, n_data)."""
        r = self.residuals(predicted)
        return np.sqrt(np.mean(r * r, axis=-1))

    def linearise(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(predicted (n_data,), r (n_data,), ∂r/∂log10 ρ (n_data, N))`` at ``x`` (N,)."""
        kept = self._kept
        if kept is not None and np.array_equal(kept[0], x) and np.all(np.isfinite(kept[1])):
            pred, dd = kept[1], kept[2]
        else:
            pred, dd = _data_and_rho_jacobian(self.fwd, self.models(x)[0], self.n)
        scale = self.weight * _LN10 / np.where(self.is_phase, 1.0, pred)
        jac = dd * scale[:, None]
        return pred, self.residuals(pred[None])[0], np.where(np.isfinite(jac), jac, 0.0)


def _rho_columns(fwd: Any, model: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Data (n_data,) and ∂data/∂ln ρ_j (n_data, n) of one model (2n−1,), unchecked."""
    data, jac = fwd.forward_and_jacobian(model[None])
    return np.asarray(data, dtype=float)[0], np.asarray(jac, dtype=float)[0, :, :n]


def _data_and_rho_jacobian(fwd: Any, model: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Data (n_data,) and ∂data/∂ln ρ_j (n_data, n) of one model (2n−1,): the forward model's
    exact Jacobian, its n resistivity columns.
    Raises :class:`SmoothModelError` when the data are not finite."""
    data, jac = _rho_columns(fwd, model, n)
    if not np.all(np.isfinite(data)):
        raise SmoothModelError(
            f"{getattr(fwd, 'name', 'the forward model')} gives non-finite data for the "
            f"{n}-layer stack model"
        )
    return data, jac


def weighted_jacobian(
    fwd: Any,
    log10_rho: np.ndarray,
    thickness_m: np.ndarray,
    sigma: np.ndarray,
    is_phase: np.ndarray,
) -> np.ndarray:
    """Error-weighted sensitivities (n_data, N) ∂r_i/∂ln ρ_j of the stack model ``log10_rho``
    (N,) with ``thickness_m`` (N−1,) on ``fwd`` (a forward model of N layers): ∂ln ρa/∂ln ρ / σ
    for ρa, ∂φ/∂ln ρ / σ_φ for phases (σ relative for ρa, degrees for phase)."""
    model = np.concatenate([10.0 ** np.asarray(log10_rho, float), np.asarray(thickness_m, float)])
    n = model.size // 2 + 1
    pred, dd = _data_and_rho_jacobian(fwd, model, n)
    scale = 1.0 / (np.asarray(sigma, dtype=float) * np.where(is_phase, 1.0, pred))
    out = dd * scale[:, None]
    return np.where(np.isfinite(out), out, 0.0)
