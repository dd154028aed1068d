"""Shared data for the bpnet tests: a smooth, known multi-output regression problem."""

import numpy as np
import pytest


def smooth_map(X: np.ndarray) -> np.ndarray:
    """A smooth 3-input → 2-output function used as ground truth."""
    return np.stack(
        [np.sin(1.5 * X[:, 0]) + 0.5 * X[:, 1] * X[:, 2], np.cos(X[:, 1]) - 0.3 * X[:, 0] ** 2], 1
    )


@pytest.fixture
def regression() -> tuple[np.ndarray, np.ndarray]:
    """600 samples of ``smooth_map`` on [-1, 1]³ (noise free)."""
    rng = np.random.default_rng(42)
    X = rng.uniform(-1, 1, size=(600, 3))
    return X, smooth_map(X)


@pytest.fixture
def truth():
    """The ground-truth function ``smooth_map``."""
    return smooth_map
