"""First-order optimisers on one flat parameter vector.

Each optimiser is a small class with one ``update(theta, grad)`` method that changes ``theta``
in place (NumPy or CuPy arrays; state allocated by ``setup``). Because all weights and biases live
in one contiguous vector, an update is a handful of vectorised calls regardless of layer count.
Levenberg–Marquardt is a second-order method with a different protocol: see ``levenberg.py``.
"""

from __future__ import annotations

import math
from types import ModuleType
from typing import Any

from ._params import Spec, validate
from .backend import elementwise_kernel, is_gpu


class Optimizer:
    """Base class. ``learning_rate`` may be changed between updates (schedules do)."""

    name = ""
    PARAMS: dict[str, Spec] = {}
    full_batch = False  # True: one update per epoch on the whole training set

    def __init__(self, learning_rate: float, **params: Any) -> None:
        self.learning_rate = float(learning_rate)
        self.params = validate(self.PARAMS, params, prefix="optimizer_params.")
        self.xp: ModuleType | None = None

    def setup(self, xp: ModuleType, size: int, dtype: Any) -> None:
        """Allocate state for a parameter vector of ``size`` elements."""
        self.xp = xp
        self.tmp = xp.zeros(size, dtype=dtype)

    def update(self, theta: Any, grad: Any) -> None:
        """Apply one update to ``theta`` (in place) from gradient ``grad`` (may be clobbered)."""
        raise TypeError(f"{type(self).__name__} has no update rule")


class GD(Optimizer):
    """Plain full-batch gradient descent: θ ← θ − η g."""

    name = "gd"
    full_batch = True

    def update(self, theta: Any, grad: Any) -> None:
        xp = self.xp
        xp.multiply(grad, self.learning_rate, out=grad)
        xp.subtract(theta, grad, out=theta)


class SGD(GD):
    """Mini-batch stochastic gradient descent: θ ← θ − η g per batch."""

    name = "sgd"
    full_batch = False


class Momentum(Optimizer):
    """Heavy-ball momentum: v ← μv − η g; θ ← θ + v."""

    name = "momentum"
    PARAMS = {"momentum": Spec(0.9, "float", low=0.0, high=1.0, high_open=True)}

    def setup(self, xp: ModuleType, size: int, dtype: Any) -> None:
        super().setup(xp, size, dtype)
        self.velocity = xp.zeros(size, dtype=dtype)

    def update(self, theta: Any, grad: Any) -> None:
        xp, v = self.xp, self.velocity
        xp.multiply(v, self.params["momentum"], out=v)
        xp.multiply(grad, self.learning_rate, out=grad)
        xp.subtract(v, grad, out=v)
        xp.add(theta, v, out=theta)


class Nesterov(Momentum):
    """Nesterov momentum (Sutskever et al. 2013 form): v ← μv − η g; θ ← θ + μv − η g."""

    name = "nesterov"

    def update(self, theta: Any, grad: Any) -> None:
        xp, v, mu = self.xp, self.velocity, self.params["momentum"]
        xp.multiply(v, mu, out=v)
        xp.multiply(grad, self.learning_rate, out=grad)
        xp.subtract(v, grad, out=v)
        xp.multiply(v, mu, out=self.tmp)
        xp.subtract(self.tmp, grad, out=self.tmp)
        xp.add(theta, self.tmp, out=theta)


class RMSprop(Optimizer):
    """RMSprop: s ← ρs + (1 − ρ)g²; θ ← θ − η g / (√s + ε)."""

    name = "rmsprop"
    PARAMS = {
        "rho": Spec(0.9, "float", low=0.0, high=1.0, high_open=True),
        "epsilon": Spec(1e-8, "float", low=0.0, low_open=True),
    }

    def setup(self, xp: ModuleType, size: int, dtype: Any) -> None:
        super().setup(xp, size, dtype)
        self.square = xp.zeros(size, dtype=dtype)

    def update(self, theta: Any, grad: Any) -> None:
        xp, s, tmp, rho = self.xp, self.square, self.tmp, self.params["rho"]
        xp.multiply(grad, grad, out=tmp)
        xp.multiply(tmp, 1.0 - rho, out=tmp)
        xp.multiply(s, rho, out=s)
        xp.add(s, tmp, out=s)
        xp.sqrt(s, out=tmp)
        xp.add(tmp, self.params["epsilon"], out=tmp)
        xp.divide(grad, tmp, out=tmp)
        xp.multiply(tmp, self.learning_rate, out=tmp)
        xp.subtract(theta, tmp, out=theta)


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015): m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²;
    θ ← θ − η m̂ / (√v̂ + ε) with m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ)."""

    name = "adam"
    PARAMS = {
        "beta_1": Spec(0.9, "float", low=0.0, high=1.0, high_open=True),
        "beta_2": Spec(0.999, "float", low=0.0, high=1.0, high_open=True),
        "epsilon": Spec(1e-8, "float", low=0.0, low_open=True),
    }

    def setup(self, xp: ModuleType, size: int, dtype: Any) -> None:
        super().setup(xp, size, dtype)
        self.m = xp.zeros(size, dtype=dtype)
        self.v = xp.zeros(size, dtype=dtype)
        self.t = 0

    def update(self, theta: Any, grad: Any) -> None:
        xp, m, v, tmp = self.xp, self.m, self.v, self.tmp
        b1, b2 = self.params["beta_1"], self.params["beta_2"]
        self.t += 1
        # η m̂/(√v̂ + ε) = η·√c₂/c₁ · m/(√v + ε√c₂) with c₁ = 1−β₁ᵗ, c₂ = 1−β₂ᵗ (one pass fewer)
        root_c2 = math.sqrt(1.0 - b2**self.t)
        step = self.learning_rate * root_c2 / (1.0 - b1**self.t)
        eps = self.params["epsilon"] * root_c2
        if is_gpu(xp):  # one fused kernel instead of eleven launches
            elementwise_kernel(
                "T g, float64 b1, float64 b2, float64 step, float64 eps",
                "T theta, T m, T v",
                "m = b1 * m + (1 - b1) * g; v = b2 * v + (1 - b2) * g * g; "
                "theta = theta - step * m / (sqrt((double)v) + eps);",
                "bpnet_adam",
            )(grad, b1, b2, step, eps, theta, m, v)
            return
        xp.multiply(m, b1, out=m)
        xp.multiply(grad, 1.0 - b1, out=tmp)
        xp.add(m, tmp, out=m)
        xp.multiply(grad, grad, out=tmp)
        xp.multiply(tmp, 1.0 - b2, out=tmp)
        xp.multiply(v, b2, out=v)
        xp.add(v, tmp, out=v)
        xp.sqrt(v, out=tmp)
        xp.add(tmp, eps, out=tmp)
        xp.divide(m, tmp, out=tmp)
        xp.multiply(tmp, step, out=tmp)
        xp.subtract(theta, tmp, out=theta)


class Rprop(Optimizer):
    """Resilient propagation (iRprop⁻, Igel & Hüsken 2000), full batch. Per weight a step Δ
    (initially ``learning_rate``): if g·g_prev > 0, Δ ← min(η⁺Δ, Δmax); if < 0, Δ ← max(η⁻Δ, Δmin)
    and g ← 0; then θ ← θ − sign(g)·Δ and g_prev ← g."""

    name = "rprop"
    full_batch = True
    PARAMS = {
        "eta_plus": Spec(1.2, "float", low=1.0, low_open=True),
        "eta_minus": Spec(0.5, "float", low=0.0, high=1.0, low_open=True, high_open=True),
        "step_min": Spec(1e-6, "float", low=0.0),
        "step_max": Spec(50.0, "float", low=0.0, low_open=True),
    }

    def setup(self, xp: ModuleType, size: int, dtype: Any) -> None:
        super().setup(xp, size, dtype)
        self.step = xp.full(size, self.learning_rate, dtype=dtype)
        self.prev = xp.zeros(size, dtype=dtype)

    def update(self, theta: Any, grad: Any) -> None:
        xp, p = self.xp, self.params
        prod = grad * self.prev
        up, down = prod > 0, prod < 0
        self.step[up] = xp.minimum(self.step[up] * p["eta_plus"], p["step_max"])
        self.step[down] = xp.maximum(self.step[down] * p["eta_minus"], p["step_min"])
        grad[down] = 0
        xp.sign(grad, out=self.tmp)
        xp.multiply(self.tmp, self.step, out=self.tmp)
        xp.subtract(theta, self.tmp, out=theta)
        self.prev[...] = grad


OPTIMIZERS = {cls.name: cls for cls in (GD, SGD, Momentum, Nesterov, RMSprop, Adam, Rprop)}
OPTIMIZER_NAMES = (*OPTIMIZERS, "lm")


def make_optimizer(name: str, learning_rate: float, params: dict | None = None) -> Optimizer:
    """A first-order optimiser by name with its ``optimizer_params`` validated."""
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer: unknown name {name!r}; choose one of {list(OPTIMIZER_NAMES)}")
    return OPTIMIZERS[name](learning_rate, **(params or {}))
