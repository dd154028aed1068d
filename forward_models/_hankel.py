"""Digital linear filter (DLF) for the DC resistivity Hankel transform, as one weight matrix.

Pure functions, NumPy float64, no validation (the public wrappers validate).

We use Key's (2009) 101-point J1 filter from the ``libdlf`` package
(``libdlf.hankel.key_101_2009``; K. Key, 2009, Geophysics 74(2), F9-F20). For a kernel f,

    ∫_0^∞ f(λ) J1(λ s) dλ ≈ (1/s) Σ_j f(b_j / s) w_j ,   b_j = b_0 e^{jΔ}  (Δ ≈ 0.115).

The ideal-Schlumberger apparent resistivity of a layered earth with resistivity transform T(λ) is
(Koefoed 1979)

    ρ_s(s) = s² ∫_0^∞ T(λ) J1(λ s) λ dλ = ρ_1 + Σ_j b_j w_j [T(b_j / s) − ρ_1] ,

where subtracting the top-layer resistivity ρ_1 leaves a kernel that decays exponentially
at large λ.

*Lagged convolution.* Evaluated on a lattice of spacings s_m = s_0 e^{mΔ} with the filter's own
step, all s_m share one grid of λ_k = (b_0 / s_0) e^{(k − n_lat + 1)Δ}: each model's kernel is
evaluated once on that grid. Values at arbitrary radii follow by Lagrange interpolation in ln s, and
finite-MN Schlumberger and Wenner resistivities are weighted averages of ρ_s over a radius interval
(Gauss-Legendre in ln r). Every step is linear in T − ρ_1, so the whole chain folds into one
matrix W (n_λ × n_data) computed once per geometry:

    ρ_a = ρ_1 + (T(λ) − ρ_1) @ W .
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

#: Lagrange interpolation points used between the lattice and the requested radii.
N_INTERP = 8
#: Gauss-Legendre nodes per radius interval (finite MN, Wenner).
N_GAUSS = 6
#: Rows of W whose summed absolute weight (from either end) stays below this are dropped.
TRIM_TOL = 1e-10


@lru_cache(maxsize=1)
def j1_filter() -> tuple[np.ndarray, np.ndarray, float]:
    """Return ``(base (n_f,), weights (n_f,), step Δ)`` of Key's 101-point J1 filter."""
    import libdlf

    base, _j0, j1 = libdlf.hankel.key_101_2009()
    step = float(np.polyfit(np.arange(base.size), np.log(base), 1)[0])
    return np.asarray(base, dtype=float), np.asarray(j1, dtype=float), step


def _lagrange_matrix(u_lattice: np.ndarray, u_eval: np.ndarray, n_points: int) -> np.ndarray:
    """(n_lat, n_eval) matrix interpolating lattice values to ``u_eval`` (uniform lattice)."""
    step = u_lattice[1] - u_lattice[0]
    pos = (u_eval - u_lattice[0]) / step
    first = np.clip(np.floor(pos).astype(int) - (n_points // 2 - 1), 0, u_lattice.size - n_points)
    nodes = first[:, None] + np.arange(n_points)[None, :]  # (n_eval, n_points)
    x = pos[:, None, None]
    a = nodes[:, :, None]
    b = nodes[:, None, :]
    same = np.eye(n_points, dtype=bool)[None, :, :]
    factors = np.where(same, 1.0, (x - b) / np.where(same, 1, a - b))
    weights = factors.prod(axis=2)  # (n_eval, n_points): Lagrange basis at each point
    out = np.zeros((u_lattice.size, u_eval.size))
    np.add.at(out, (nodes, np.arange(u_eval.size)[:, None]), weights)
    return out


def _schlumberger_lattice(u_eval: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kernel grid λ (n_λ,) and matrix (n_λ, n_eval) giving ρ_s(e^u) − ρ_1 at ``u_eval``."""
    base, w1, step = j1_filter()
    n_f = base.size
    margin = N_INTERP // 2 + 1
    u0 = u_eval.min() - margin * step
    n_lat = int(np.ceil((u_eval.max() - u_eval.min()) / step)) + 2 * margin + 1
    u_lat = u0 + step * np.arange(n_lat)
    n_lam = n_f + n_lat - 1
    k = np.arange(n_lam)
    ln_b0 = np.log(base[0])
    lam = np.exp(ln_b0 - u0 + (k - n_lat + 1) * step)
    lattice = np.zeros((n_lam, n_lat))
    bw = base * w1
    for m in range(n_lat):
        lattice[np.arange(n_f) - m + n_lat - 1, m] = bw
    interp = _lagrange_matrix(u_lat, u_eval, N_INTERP)
    return lam, lattice @ interp


def _trim(lam: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop kernel points at both ends of the grid whose weights are negligible."""
    row = np.abs(weights).max(axis=1)
    head = np.cumsum(row)
    tail = np.cumsum(row[::-1])[::-1]
    keep = (head > TRIM_TOL) & (tail > TRIM_TOL)
    return lam[keep], weights[keep]


def ideal_schlumberger_operator(ab2_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(λ (n_λ,) in 1/m, W (n_λ, K))`` for ideal Schlumberger at half-spacings ``ab2_m`` (K,)."""
    return _ideal_cached(tuple(np.asarray(ab2_m, dtype=float).tolist()))


def interval_average_operator(
    r_lo_m: np.ndarray, r_hi_m: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``(λ, W (n_λ, K))`` for ρ_a = ∫_{r_lo}^{r_hi} ρ_s(r) r⁻² dr / ∫_{r_lo}^{r_hi} r⁻² dr.

    Finite-MN Schlumberger is r_lo = L − l, r_hi = L + l; Wenner is r_lo = a, r_hi = 2a
    (both identities follow from d/dr[∫T J0(λr) dλ] = −ρ_s(r)/r², see docs/methods.md).
    """
    lo = tuple(np.asarray(r_lo_m, dtype=float).tolist())
    hi = tuple(np.asarray(r_hi_m, dtype=float).tolist())
    return _interval_cached(lo, hi)


@lru_cache(maxsize=64)
def _ideal_cached(ab2_m: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    lam, weights = _schlumberger_lattice(np.log(np.array(ab2_m)))
    return _readonly(*_trim(lam, weights))


def _readonly(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    for a in arrays:
        a.setflags(write=False)
    return arrays


@lru_cache(maxsize=64)
def _interval_cached(
    r_lo: tuple[float, ...], r_hi: tuple[float, ...]
) -> tuple[np.ndarray, np.ndarray]:
    r_lo_m, r_hi_m = np.array(r_lo), np.array(r_hi)
    x, w = np.polynomial.legendre.leggauss(N_GAUSS)
    u_lo, u_hi = np.log(r_lo_m), np.log(r_hi_m)
    half = (u_hi - u_lo)[:, None] / 2
    u_nodes = (u_lo + u_hi)[:, None] / 2 + half * x[None, :]
    # ∫ ρ_s(r) r⁻² dr = ∫ ρ_s(e^u) e^{-u} du; normalise so that a constant maps exactly to itself.
    quad = half * w[None, :] * np.exp(-u_nodes)
    quad /= quad.sum(axis=1, keepdims=True)
    lam, to_nodes = _schlumberger_lattice(u_nodes.ravel())
    n_k = r_lo_m.size
    combine = np.zeros((n_k * N_GAUSS, n_k))
    combine[np.arange(n_k * N_GAUSS), np.repeat(np.arange(n_k), N_GAUSS)] = quad.ravel()
    return _readonly(*_trim(lam, to_nodes @ combine))
