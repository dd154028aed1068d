"""Weight initialisation for the three-layer network (input → hidden → output).

All initialisers draw from the one ``np.random.Generator`` of a fit and return float64 NumPy
arrays ``W1 (n_in, n_hidden)``, ``b1 (n_hidden,)``, ``W2 (n_hidden, n_out)``, ``b2 (n_out,)``.
"""

from __future__ import annotations

import numpy as np


def xavier(rng: np.random.Generator, n_in: int, n_hidden: int, n_out: int) -> dict:
    """Glorot/Xavier uniform: W ~ U(±√(6/(fan_in + fan_out))), biases zero."""
    lim1 = np.sqrt(6.0 / (n_in + n_hidden))
    lim2 = np.sqrt(6.0 / (n_hidden + n_out))
    return {
        "W1": rng.uniform(-lim1, lim1, size=(n_in, n_hidden)),
        "b1": np.zeros(n_hidden),
        "W2": rng.uniform(-lim2, lim2, size=(n_hidden, n_out)),
        "b2": np.zeros(n_out),
    }


def he(rng: np.random.Generator, n_in: int, n_hidden: int, n_out: int) -> dict:
    """He/Kaiming uniform (for ReLU-like units): W ~ U(±√(6/fan_in)), biases zero."""
    lim1 = np.sqrt(6.0 / n_in)
    lim2 = np.sqrt(6.0 / n_hidden)
    return {
        "W1": rng.uniform(-lim1, lim1, size=(n_in, n_hidden)),
        "b1": np.zeros(n_hidden),
        "W2": rng.uniform(-lim2, lim2, size=(n_hidden, n_out)),
        "b2": np.zeros(n_out),
    }


def nguyen_widrow(rng: np.random.Generator, n_in: int, n_hidden: int, n_out: int) -> dict:
    """Nguyen–Widrow (1990): hidden weight vectors rescaled to length β = 0.7·n_hidden^(1/n_in),
    hidden biases ~ U(±β), so the hidden units' active regions tile an input range of about
    [−1, 1]; output layer ~ U(±0.5)."""
    beta = 0.7 * n_hidden ** (1.0 / n_in)
    w1 = rng.uniform(-0.5, 0.5, size=(n_in, n_hidden))
    norms = np.linalg.norm(w1, axis=0)
    norms[norms == 0] = 1.0
    w1 *= beta / norms
    return {
        "W1": w1,
        "b1": rng.uniform(-beta, beta, size=n_hidden),
        "W2": rng.uniform(-0.5, 0.5, size=(n_hidden, n_out)),
        "b2": rng.uniform(-0.5, 0.5, size=n_out),
    }


def fan_in(rng: np.random.Generator, n_in: int, n_hidden: int, n_out: int) -> dict:
    """Uniform by fan-in, biases too: W, b ~ U(±1/√fan_in) per layer (PyTorch's ``nn.Linear``
    default). Random biases spread the tanh units' centres over the inputs from the first step."""
    lim1 = 1.0 / np.sqrt(n_in)
    lim2 = 1.0 / np.sqrt(n_hidden)
    return {
        "W1": rng.uniform(-lim1, lim1, size=(n_in, n_hidden)),
        "b1": rng.uniform(-lim1, lim1, size=n_hidden),
        "W2": rng.uniform(-lim2, lim2, size=(n_hidden, n_out)),
        "b2": rng.uniform(-lim2, lim2, size=n_out),
    }


INITIALIZERS = {"xavier": xavier, "he": he, "nguyen-widrow": nguyen_widrow, "fan-in": fan_in}


def initialize(name: str, rng: np.random.Generator, n_in: int, n_hidden: int, n_out: int) -> dict:
    """Initial weights by initialiser name (``"xavier"``, ``"he"``, ``"nguyen-widrow"``,
    ``"fan-in"``)."""
    if name not in INITIALIZERS:
        raise ValueError(f"init: unknown name {name!r}; choose one of {sorted(INITIALIZERS)}")
    return INITIALIZERS[name](rng, n_in, n_hidden, n_out)
