"""Checks of an ``Inverter``'s settings and training pairs, and its ensemble keywords."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np


def network_keywords(
    network: Mapping[str, Any], n_members: int | None, seed: int
) -> tuple[int, dict[str, Any]]:
    """``(n_members, BPNetwork keywords)`` from an inverter's ``network`` keywords (which may
    carry ``n_members`` too) and ``n_members`` (default 5); the seed defaults to ``seed``."""
    kwargs = dict(network)
    from_network = kwargs.pop("n_members", None)
    if from_network is not None and n_members is not None and int(from_network) != int(n_members):
        raise ValueError(f"n_members: {n_members} given, but network.n_members is {from_network}")
    chosen = n_members if n_members is not None else from_network
    chosen = 5 if chosen is None else int(chosen)
    if chosen < 1:
        raise ValueError(f"n_members must be at least 1, got {chosen}")
    kwargs.setdefault("seed", seed)
    return chosen, kwargs


def check_pairs(forward_model: Any, models: np.ndarray, data: np.ndarray) -> None:
    """ValueError unless ``models`` is (n, n_params) and ``data`` (n, n_data)."""
    fm = forward_model
    if models.ndim != 2 or models.shape[1] != fm.n_params:
        raise ValueError(f"models must have shape (n, {fm.n_params}), got {models.shape}")
    if data.ndim != 2 or data.shape != (models.shape[0], fm.n_data):
        raise ValueError(f"data must have shape ({models.shape[0]}, {fm.n_data}), got {data.shape}")


def check_settings(inverter: Any) -> None:
    """ValueError naming the first of an ``Inverter``'s settings that is out of range."""
    if not 0.02 <= float(inverter.calibration_fraction) <= 0.5:
        raise ValueError(
            f"calibration_fraction must lie in [0.02, 0.5], got {inverter.calibration_fraction}"
        )
    if not float(inverter.misfit_chi_limit) > 0:
        raise ValueError(f"misfit_chi_limit must be positive, got {inverter.misfit_chi_limit}")
    alpha = inverter.bound_test_alpha
    if alpha is not None and not 0 < float(alpha) < 0.5:
        raise ValueError(f"bound_test_alpha must lie in (0, 0.5) or be None, got {alpha}")
    weight = float(inverter.data_misfit_weight)
    if not (math.isfinite(weight) and weight >= 0):
        raise ValueError(f"data_misfit_weight must be >= 0, got {inverter.data_misfit_weight}")
    fm = inverter.forward_model
    if weight > 0 and not hasattr(fm, "forward_and_vjp"):
        raise ValueError(
            f"data_misfit_weight: {fm.name} has no exact vector–Jacobian product (forward_and_vjp)"
        )
