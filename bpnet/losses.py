"""Losses on residuals ``r = ŷ − y``, averaged over all n × n_outputs elements.

``grad_`` turns the residual buffer into ``scale · dℓ/dr`` in place (``scale = 1/(n·m)`` gives the
gradient of the mean) and returns the *sum* of the element losses, as an ``xp`` scalar so the GPU
is not synchronised per batch.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

HUBER_DELTA = 1.0


class Loss:
    """Base class: ``value`` (mean loss) and in-place ``grad_``."""

    name = ""

    def elementwise(self, xp: ModuleType, r: Any) -> Any:
        """Element losses ℓ(r), same shape as ``r`` (new array)."""
        raise TypeError(f"{type(self).__name__} defines no elementwise loss")

    def value(self, xp: ModuleType, r: Any) -> float:
        """Mean element loss of residuals ``r`` (any shape), as a Python float."""
        return float(self.elementwise(xp, r).mean())

    def grad_(self, xp: ModuleType, r: Any, tmp: Any, scale: float) -> Any:
        """Replace ``r`` by ``scale · ℓ'(r)``; return Σ ℓ(r) (xp scalar). ``tmp`` like ``r``."""
        raise TypeError(f"{type(self).__name__} defines no gradient")


class MSE(Loss):
    """Squared error ℓ(r) = r²; ℓ' = 2r."""

    name = "mse"

    def elementwise(self, xp: ModuleType, r: Any) -> Any:
        return r * r

    def grad_(self, xp: ModuleType, r: Any, tmp: Any, scale: float) -> Any:
        flat = r.reshape(-1)
        total = xp.dot(flat, flat)
        xp.multiply(r, 2.0 * scale, out=r)
        return total


class MAE(Loss):
    """Absolute error ℓ(r) = |r|; ℓ' = sign(r)."""

    name = "mae"

    def elementwise(self, xp: ModuleType, r: Any) -> Any:
        return xp.abs(r)

    def grad_(self, xp: ModuleType, r: Any, tmp: Any, scale: float) -> Any:
        xp.abs(r, out=tmp)
        total = tmp.sum()
        xp.sign(r, out=r)
        xp.multiply(r, scale, out=r)
        return total


class Huber(Loss):
    """Huber loss with δ = 1: ½r² for |r| ≤ δ, δ(|r| − ½δ) beyond; ℓ' = clip(r, −δ, δ)."""

    name = "huber"
    delta = HUBER_DELTA

    def elementwise(self, xp: ModuleType, r: Any) -> Any:
        a = xp.abs(r)
        q = xp.minimum(a, self.delta)
        return 0.5 * q * q + self.delta * (a - q)

    def grad_(self, xp: ModuleType, r: Any, tmp: Any, scale: float) -> Any:
        d = self.delta
        xp.abs(r, out=tmp)
        abs_sum = tmp.sum()
        xp.minimum(tmp, d, out=tmp)
        flat = tmp.reshape(-1)
        total = 0.5 * xp.dot(flat, flat) + d * (abs_sum - tmp.sum())
        xp.clip(r, -d, d, out=r)
        xp.multiply(r, scale, out=r)
        return total


LOSSES = {cls.name: cls for cls in (MSE, MAE, Huber)}


def get_loss(name: str) -> Loss:
    """Loss instance by name: ``"mse"``, ``"mae"`` or ``"huber"``."""
    if name not in LOSSES:
        raise ValueError(f"loss: unknown name {name!r}; choose one of {sorted(LOSSES)}")
    return LOSSES[name]()


def mean_loss(name: str, y_pred: np.ndarray, y_true: np.ndarray) -> float:
    """Mean loss ``name`` between predictions and targets (NumPy arrays, same shape)."""
    return get_loss(name).value(np, np.asarray(y_pred) - np.asarray(y_true))
