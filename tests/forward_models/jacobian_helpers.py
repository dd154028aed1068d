"""Finite differences shared by the forward models' Jacobian tests."""

from __future__ import annotations

import numpy as np


def central_differences(fm, models: np.ndarray, step: float = 1e-5) -> np.ndarray:
    """∂data/∂ln m (n, n_data, n_params) by central differences in ln m, float64."""
    out = np.empty((models.shape[0], fm.n_data, fm.n_params))
    for j in range(fm.n_params):
        up, down = models.copy(), models.copy()
        up[:, j] *= np.exp(step)
        down[:, j] *= np.exp(-step)
        diff = fm.forward(up, precision="double") - fm.forward(down, precision="double")
        out[:, :, j] = diff / (2 * step)
    return out
