"""The chain rule through a layer recursion, forward (a Jacobian) or in reverse (a VJP).

The DC and MT recursions run from the bottom layer up: the quantity at the top of layer j
(T_j for DC, ln ζ_j for MT) depends on layer j's own parameters and on the one below it.
Their derivative routines return, per parameter, the *local* partial of the layer the parameter
belongs to, ``local (2N−1, n, K)`` (ρ_j at j, h_j at N + j, the half-space's ρ_N at N − 1), and
per layer above the half-space the *step*, the partial with respect to the value below,
``steps[i] (n, K)`` for layer N − 2 − i (bottom up). The derivative of the top value with
respect to parameter j is its local partial times the steps of the layers above j.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any


def chain_forward(local: Any, steps: list[Any]) -> Any:
    """``local`` (2N−1, n, K) turned in place into the derivatives of the top value; the
    running product of the steps accumulates in the top layer's step array (overwritten)."""
    n_layers = (local.shape[0] + 1) // 2
    chain = None  # ∂top/∂(value below layer j − 1), from the top down
    for j in range(1, n_layers):
        step = steps[n_layers - 1 - j]  # layer j − 1's step (steps are bottom up)
        if chain is None:
            chain = step
        else:
            chain *= step
        local[j] *= chain
        if j < n_layers - 1:
            local[n_layers + j] *= chain
    return local


def chain_reverse(adjoint: Any, local: Any, steps: list[Any], xp: ModuleType) -> Any:
    """Σ_k a_k ∂top_k/∂m_j, ``(n, 2N−1)``, for ``adjoint`` a (n, K) (overwritten: multiplied by
    each layer's step on the way down), without forming the derivatives: one product per
    layer and one row sum per parameter. Complex inputs give complex sums."""
    n_layers = (local.shape[0] + 1) // 2
    grad = xp.empty((adjoint.shape[0], local.shape[0]), dtype=xp.result_type(adjoint, local))
    for j in range(n_layers):
        if j > 0:
            adjoint *= steps[n_layers - 1 - j]
        grad[:, j] = xp.einsum("nk,nk->n", adjoint, local[j])
        if j < n_layers - 1:
            grad[:, n_layers + j] = xp.einsum("nk,nk->n", adjoint, local[n_layers + j])
    return grad
