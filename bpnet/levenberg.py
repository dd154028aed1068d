"""Levenberg–Marquardt training (MATLAB's classic ``trainlm``) for the three-layer network.

One epoch is one accepted LM step on the whole training set for the objective
F(θ) = Σ e² + c·Σ w²  (e = ŷ − y over all n·m outputs, w the weights, c = n·m·l2/2, so
F/(n·m) is the MSE plus the L2 term used by the first-order optimisers). The Jacobian is never
held whole: J (n·m × P) is built analytically for chunks of rows and reduced into JᵀJ (P × P)
and Jᵀe (P), so memory is O(P² + chunk·m·P). The step solves (JᵀJ + c·I_w + μI) δ = −(Jᵀe + c·w);
μ shrinks after a step that lowers F and grows (the step is retried) after one that does not.
Cost per epoch is O(n·m·P²) for the products plus O(P³) for the solve: it pays off for small
networks (up to a few thousand weights) and moderate n, where it converges in tens of epochs to
a much lower error than first-order methods.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from ._params import Spec, validate
from .backend import to_scalar

logger = logging.getLogger(__name__)

CHUNK_BYTES = 32 * 2**20


class LevenbergMarquardt:
    """LM state (μ) and its per-epoch step; parameters come from ``optimizer_params``."""

    name = "lm"
    PARAMS = {
        "mu": Spec(1e-3, "float", low=0.0, low_open=True),
        "mu_increase": Spec(10.0, "float", low=1.0, low_open=True),
        "mu_decrease": Spec(0.1, "float", low=0.0, high=1.0, low_open=True, high_open=True),
        "mu_max": Spec(1e10, "float", low=0.0, low_open=True),
        "chunk_rows": Spec(None, "int", low=1, none_ok=True),
    }

    def __init__(self, **params: Any) -> None:
        self.params = validate(self.PARAMS, params, prefix="optimizer_params.")
        self.mu = self.params["mu"]

    def normal_equations(self, problem: Any) -> tuple[Any, Any, Any]:
        """``(JᵀJ (P, P), Jᵀe (P,), Σe²)`` at the current parameters, accumulated over chunks."""
        xp, layout = problem.xp, problem.layout
        n, m, size = problem.n_train, problem.n_out, layout.size
        rows = self.params["chunk_rows"] or max(1, CHUNK_BYTES // (8 * m * size))
        JtJ = xp.zeros((size, size), dtype=np.float64)
        Jte = xp.zeros(size, dtype=np.float64)
        sse = xp.zeros((), dtype=np.float64)
        for start in range(0, n, rows):
            X, Y = problem.X[start : start + rows], problem.Y[start : start + rows]
            J, e = jacobian(problem, X, Y)
            JtJ += J.T @ J
            Jte += J.T @ e
            sse = sse + e @ e
        return JtJ, Jte, sse

    def objective(self, problem: Any, c: float) -> float:
        """F(θ) = Σe² + c·Σw² at the current parameters."""
        sse = problem.mean_loss(problem.X, problem.Y) * problem.n_train * problem.n_out
        w = problem.theta[: problem.layout.n_weights]
        return sse + c * to_scalar(w @ w)

    def epoch(self, problem: Any) -> tuple[float, bool]:
        """One accepted LM step (μ raised until F drops); returns ``(train MSE, converged)``,
        converged meaning μ exceeded ``mu_max`` without finding a lower F."""
        xp, theta, nw = problem.xp, problem.theta, problem.layout.n_weights
        nm = problem.n_train * problem.n_out
        c = nm * problem.l2 / 2.0
        JtJ, Jte, sse = self.normal_equations(problem)
        w = theta[:nw]
        F0 = to_scalar(sse) + c * to_scalar(w @ w)
        rhs = -Jte
        rhs[:nw] -= c * w
        diag = xp.zeros(theta.size, dtype=np.float64)
        diag[:nw] = c
        start = theta.copy()
        while self.mu <= self.params["mu_max"]:
            A = JtJ + xp.diag(diag + self.mu)
            try:
                delta = xp.linalg.solve(A, rhs)
            except np.linalg.LinAlgError:
                delta = None
            if delta is not None and bool(xp.isfinite(delta).all()):
                xp.add(start, delta, out=theta)
                F1 = self.objective(problem, c)
                if F1 < F0:
                    self.mu = max(self.mu * self.params["mu_decrease"], 1e-20)
                    return (F1 - c * to_scalar(theta[:nw] @ theta[:nw])) / nm, False
            theta[...] = start
            self.mu *= self.params["mu_increase"]
        logger.info("LM: mu exceeded mu_max=%g; stopping", self.params["mu_max"])
        return to_scalar(sse) / nm, True


def jacobian(problem: Any, X: Any, Y: Any) -> tuple[Any, Any]:
    """Analytic Jacobian of the outputs w.r.t. the flat parameters for a chunk.

    ``X (c, n_in)``, ``Y (c, m)`` → ``J (c·m, P)`` with rows ordered (sample, output) and
    columns in the flat layout (``Layout``: [W2, W1, b1, b2]); ``e (c·m,)`` the residuals ŷ − y.
    """
    xp, P, layout = problem.xp, problem.P, problem.layout
    c, n_in = X.shape
    h, m = layout.n_hidden, layout.n_out
    H = X @ P["W1"]
    if "b1" in P:
        H += P["b1"]
    problem.act.forward_(xp, H, None, xp.empty_like(H))
    O = H @ P["W2"]
    if "b2" in P:
        O += P["b2"]
    problem.out_act.forward_(xp, O, None, xp.empty_like(O))
    fp = xp.ones_like(H)
    problem.act.backward_(xp, H, fp, xp.empty_like(H))
    gp = xp.ones_like(O)
    problem.out_act.backward_(xp, O, gp, xp.empty_like(O))
    D = gp[:, :, None] * P["W2"].T[None, :, :] * fp[:, None, :]  # dŷ_ik / dz1_ij  (c, m, h)
    J = xp.zeros((c, m, layout.size), dtype=np.float64)
    a, b, _ = layout.blocks["W1"]
    J[:, :, a:b] = (X[:, None, :, None] * D[:, :, None, :]).reshape(c, m, n_in * h)
    a, b, _ = layout.blocks["W2"]
    JW2 = xp.zeros((c, m, h, m), dtype=np.float64)
    for k in range(m):
        JW2[:, k, :, k] = gp[:, k, None] * H
    J[:, :, a:b] = JW2.reshape(c, m, h * m)
    if "b1" in P:
        a, b, _ = layout.blocks["b1"]
        J[:, :, a:b] = D
        a, b, _ = layout.blocks["b2"]
        for k in range(m):
            J[:, k, a + k] = gp[:, k]
    return J.reshape(c * m, layout.size), (O - Y).reshape(c * m)
