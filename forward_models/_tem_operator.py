"""Linear operators of the TEM forward models: loop geometry (λ weights) and time (ω weights).

Pure functions, NumPy float64, cached per geometry, no validation (the model classes validate).
Everything downstream of the layered-earth kernel r_TE(λ, ω) is linear, so it folds into two
operators built once per geometry (docs/methods.md, "Transient EM"):

    B(ω)   = Σ_i r_TE(λ_i, ω) W_i                              (T per A, secondary field)
    d(t_k) = Σ_m Im B(ω_m) A_im[m, k] + Re B(ω_m) A_re[m, k] + B_p c_k

*Loops.* A central circular loop of radius a uses a J1 filter directly:
B_z = μ_0/(2a) Σ_i r_TE(b_i/a) b_i w1_i — Guptasarma & Singh's (1997) 47-point filter
(``libdlf.hankel.gupt_47_1997``; Geophys. Prospect. 45(5), 745) where it is accurate, i.e. where
the diffusion distance √(2tρ/μ_0) at the earliest time and ρ = ``RHO_MIN_OHMM`` reaches
``REACH_47`` of the radius, else Key's (2009) 101-point filter (``libdlf.hankel.key_101_2009``;
its λ reach 314/a against 109/a). Where both apply they agree to a median 4·10⁻⁷
(docs/benchmarks.md). Square loops and coincident (single-loop) receivers use the equivalence of
a closed horizontal loop with a uniform sheet of vertical magnetic dipoles over its area: the
received field is ∫ B_vmd(r) q(r) dr, where B_vmd(r) is the surface field of a unit vertical
dipole (the J0 filter of Key's 101-point set, evaluated on a lattice of radii with the filter's own
step: lagged convolution) and q(r) the loop's radial density (arc length inside the loop for a
central receiver; the area-normalised set covariogram for a coincident one). Gauss–Legendre nodes
in ln r, Lagrange interpolation from the lattice.

*Time.* The step-off response −dB_z/dt is the impulse response g(t) = −(2/π) ∫ Im B(ω) sin ωt dω,
evaluated with Werthmüller's 101-point sine filter designed for TEM (``libdlf.fourier.
wer_101_2020a``; Werthmüller, Key & Slob 2019, Geophysics 84(2), F47). Im B(ω)/ω is computed on a
grid of ``PTS_PER_DECADE`` frequencies per decade and interpolated (16-point Lagrange in ln ω) to
the filter's frequencies b_j/t. A linear ramp-off of length τ averages g over [t − τ, t]; a gate
averages over [open, close]; both are Gauss–Legendre sums of g at node times. First-order
low-pass filters multiply B by Π 1/(1 + iω/ω_c), so the real part (with the primary field B_p)
enters too.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from ._hankel import _lagrange_matrix

MU0 = 4e-7 * np.pi
#: frequencies per decade of the grid on which the kernel is evaluated
PTS_PER_DECADE = 6.5
#: Lagrange points of the radial (loop) interpolation
N_INTERP = 8
#: Lagrange points of the ω interpolation (6.5 per decade × 16 points: against 20 per decade,
#: 300 3-layer models with ρ 0.1–10⁴ Ω·m on a 20 m circle: median 2.5e-6, 99th percentile 2.6e-4)
N_INTERP_OMEGA = 16
#: Gauss–Legendre nodes: per ramp average, per gate average, per radial piece of a loop
N_RAMP, N_GATE, N_RADIAL = 12, 8, 24
#: smallest radius of the radial quadrature, relative to the largest (below: constant field)
R_MIN_REL = 1e-3
TRIM_TOL = 1e-12
#: the 47-point J1 filter serves a central circle of radius a when √(2 t_min ρ/μ_0) ≥ REACH_47·a
#: for ρ = RHO_MIN_OHMM (half-space against Ward & Hohmann: ≤ 8.6e-4 there, 2.8e-3 at 1 %,
#: 5.8e-2 at 0.2 %; Key's 101-point filter ≤ 5e-4 down to 0.2 %)
REACH_47, RHO_MIN_OHMM = 0.02, 0.1


@lru_cache(maxsize=1)
def _hankel_filter() -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """``(base, J0 weights, J1 weights, ln step)`` of Key's (2009) 101-point filter."""
    import libdlf

    base, j0, j1 = libdlf.hankel.key_101_2009()
    step = float(np.log(base[1] / base[0]))
    return np.asarray(base, float), np.asarray(j0, float), np.asarray(j1, float), step


@lru_cache(maxsize=1)
def _short_j1_filter() -> tuple[np.ndarray, np.ndarray]:
    """``(base, J1 weights)`` of Guptasarma & Singh's (1997) 47-point filter."""
    import libdlf

    base, j1 = libdlf.hankel.gupt_47_1997()
    return np.asarray(base, float), np.asarray(j1, float)


@lru_cache(maxsize=1)
def _sine_filter() -> tuple[np.ndarray, np.ndarray]:
    """``(base, sine weights)`` of Werthmüller's 101-point TEM filter (wer_101_2020a)."""
    import libdlf

    base, sine, _cos = libdlf.fourier.wer_101_2020a()
    return np.asarray(base, float), np.asarray(sine, float)


def _readonly(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    for a in arrays:
        a.setflags(write=False)
    return arrays


# -- loops ----------------------------------------------------------------------------------------
def _gauss_ln(lo: float, hi: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes r and weights for ∫_lo^hi f(r) dr as Gauss–Legendre in ln r."""
    x, w = np.polynomial.legendre.leggauss(n)
    u_lo, u_hi = np.log(lo), np.log(hi)
    r = np.exp((u_lo + u_hi) / 2 + (u_hi - u_lo) / 2 * x)
    return r, w * (u_hi - u_lo) / 2 * r


def _square_arc(r: np.ndarray, half: float) -> np.ndarray:
    """Arc length (m) of the circle of radius ``r`` inside a square of half side ``half``."""
    inside = np.clip(half / np.maximum(r, half), -1.0, 1.0)
    return r * (2 * np.pi - 8 * np.arccos(inside) * (r > half))


def _square_covariogram_angle(r: np.ndarray, side: float) -> np.ndarray:
    """∫_0^{2π} γ(r cos θ, r sin θ) dθ for the square's covariogram γ = (L − |x|)(L − |y|)."""
    out = 2 * np.pi * side**2 - 8 * side * r + 2 * r**2
    far = r > side
    if np.any(far):
        rf = r[far]
        t1 = np.arccos(side / rf)
        t2 = np.pi / 2 - t1

        def prim(theta: np.ndarray) -> np.ndarray:
            return (
                side**2 * theta
                + side * rf * np.cos(theta)
                - side * rf * np.sin(theta)
                + rf**2 / 2 * np.sin(theta) ** 2
            )

        out[far] = 4 * (prim(t2) - prim(t1))
    return out


def _radial_density(receiver: str, shape: str, size_m: float):
    """``(r_max, breakpoints, q(r))`` of a loop: B = ∫_0^{r_max} B_vmd(r) q(r) dr."""
    if shape == "circle":
        a = size_m
        if receiver == "central":
            return a, (a,), lambda r: 2 * np.pi * r
        area = np.pi * a**2

        def q_disc(r: np.ndarray) -> np.ndarray:
            x = np.clip(r / (2 * a), 0.0, 1.0)
            cov = 2 * a**2 * (np.arccos(x) - x * np.sqrt(1 - x * x))
            return 2 * np.pi * r * cov / area

        return 2 * a, (2 * a,), q_disc
    side = size_m
    if receiver == "central":
        return side / np.sqrt(2), (side / 2, side / np.sqrt(2)), lambda r: _square_arc(r, side / 2)
    return (
        side * np.sqrt(2),
        (side, side * np.sqrt(2)),
        lambda r: r * _square_covariogram_angle(r, side) / side**2,
    )


def loop_operator(
    receiver: str, shape: str, size_m: float, earliest_s: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """``(λ (n_λ,) 1/m, W (n_λ,) T/A)``: secondary B_z per A = Σ_i r_TE(λ_i, ω) W_i.

    ``receiver``: ``"central"`` (field at the loop centre) or ``"coincident"`` (mean over the loop
    area); ``shape``: ``"circle"`` (``size_m`` = radius) or ``"square"`` (``size_m`` = side);
    ``earliest_s``: the earliest time (s) the data need (a central circle then uses the 47-point
    filter if it reaches, see ``REACH_47``; 0: always Key's 101-point filter).
    """
    reach_m = np.sqrt(2 * earliest_s * RHO_MIN_OHMM / MU0)
    short = receiver == "central" and shape == "circle" and reach_m >= REACH_47 * size_m
    return _loop_operator(receiver, shape, size_m, bool(short))


@lru_cache(maxsize=64)
def _loop_operator(
    receiver: str, shape: str, size_m: float, short: bool
) -> tuple[np.ndarray, np.ndarray]:
    return _readonly(*_filter_weights(receiver, shape, size_m, short))


def _filter_weights(
    receiver: str, shape: str, size_m: float, short: bool
) -> tuple[np.ndarray, np.ndarray]:
    """λ weights on the filter's own (lagged) grid; ``short``: the 47-point J1 filter (central
    circle only); see :func:`loop_operator`."""
    if short:
        base, w1 = _short_j1_filter()
        return base / size_m, MU0 / (2 * size_m) * base * w1
    base, w0, w1, step = _hankel_filter()
    if receiver == "central" and shape == "circle":
        return base / size_m, MU0 / (2 * size_m) * base * w1
    r_max, breaks, density = _radial_density(receiver, shape, size_m)
    r_min = R_MIN_REL * r_max
    nodes, weights = [], []
    lo = r_min
    for hi in breaks:
        r, w = _gauss_ln(lo, hi, N_RADIAL)
        nodes.append(r)
        weights.append(w * density(r))
        lo = hi
    # below r_min the secondary field is taken as constant: ∫_0^{r_min} q dr ≈ q(r_min) r_min / 2
    # for q ∝ r (every density here is 2πr·const near 0)
    nodes.append(np.array([r_min]))
    weights.append(np.array([density(np.array([r_min]))[0] * r_min / 2]))
    r_nodes, q_w = np.concatenate(nodes), np.concatenate(weights)
    # lattice of radii with the filter's step; one shared λ grid (lagged convolution)
    margin = N_INTERP // 2 + 1
    u_eval = np.log(r_nodes)
    u0 = u_eval.min() - margin * step
    n_lat = int(np.ceil((u_eval.max() - u_eval.min()) / step)) + 2 * margin + 1
    u_lat = u0 + step * np.arange(n_lat)
    n_f = base.size
    k = np.arange(n_f + n_lat - 1)
    lam = np.exp(np.log(base[0]) - u0 + (k - n_lat + 1) * step)
    # B_vmd(r_m) = μ0/(4π) (1/r_m) Σ_j r_TE(λ) λ² w0_j,  λ = b_j / r_m
    lattice = np.zeros((k.size, n_lat))
    for m in range(n_lat):
        rows = np.arange(n_f) - m + n_lat - 1
        lattice[rows, m] = MU0 / (4 * np.pi) * lam[rows] ** 2 * w0 / np.exp(u_lat[m])
    interp = _lagrange_matrix(u_lat, u_eval, N_INTERP)
    weights_lam = lattice @ (interp @ q_w)
    keep = np.abs(weights_lam) > TRIM_TOL * np.abs(weights_lam).max()
    first, last = np.flatnonzero(keep)[[0, -1]]
    return lam[first : last + 1], weights_lam[first : last + 1]


def primary_field(shape: str, size_m: float) -> float:
    """Free-space B_z per A (T/A) at the centre of a circular (radius) or square (side) loop."""
    if shape == "circle":
        return MU0 / (2 * size_m)
    return 2 * np.sqrt(2) * MU0 / (np.pi * size_m)


# -- time -----------------------------------------------------------------------------------------
def _lagrange_sparse(u_grid: np.ndarray, u_eval: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Grid indices and weights ``(n_eval, N_INTERP_OMEGA)`` of Lagrange interpolation on the
    uniform grid ``u_grid`` (basis products from prefix and suffix products: O(n) per point)."""
    n = N_INTERP_OMEGA
    pos = (u_eval - u_grid[0]) / (u_grid[1] - u_grid[0])
    first = np.clip(np.floor(pos).astype(int) - (n // 2 - 1), 0, u_grid.size - n)
    offsets = np.arange(n)
    diff = (pos - first)[:, None] - offsets[None, :]  # x − node_q in grid steps
    left = np.ones_like(diff)
    right = np.ones_like(diff)
    left[:, 1:] = np.cumprod(diff[:, :-1], axis=1)
    right[:, :-1] = np.cumprod(diff[:, :0:-1], axis=1)[:, ::-1]
    factorials = np.array([math.factorial(k) for k in range(n)], dtype=float)
    denom = (-1.0) ** (n - 1 - offsets) * factorials * factorials[::-1]
    return first[:, None] + offsets[None, :], left * right / denom


def _time_nodes(
    times_s: np.ndarray,
    ramp_off_s: float,
    gate_open_s: np.ndarray | None,
    gate_close_s: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Node times (n_nodes,) s, the gate each belongs to and its averaging weight."""
    k = times_s.size
    if gate_open_s is None:
        nodes, owner, w = times_s, np.arange(k), np.ones(k)
    else:
        x, gw = np.polynomial.legendre.leggauss(N_GATE)
        lo, hi = np.log(gate_open_s)[:, None], np.log(gate_close_s)[:, None]
        nodes = np.exp((lo + hi) / 2 + (hi - lo) / 2 * x)  # (K, N_GATE)
        w = gw * (hi - lo) / 2 * nodes / (gate_close_s - gate_open_s)[:, None]
        owner = np.repeat(np.arange(k), N_GATE)
        nodes, w = nodes.ravel(), w.ravel()
    if ramp_off_s > 0:
        x, rw = np.polynomial.legendre.leggauss(N_RAMP)
        lo, hi = np.log(nodes - ramp_off_s)[:, None], np.log(nodes)[:, None]
        sub = np.exp((lo + hi) / 2 + (hi - lo) / 2 * x)
        sub_w = rw * (hi - lo) / 2 * sub / ramp_off_s
        w = (w[:, None] * sub_w).ravel()
        owner = np.repeat(owner, N_RAMP)
        nodes = sub.ravel()
    return nodes, owner, w


@lru_cache(maxsize=64)
def time_operator(
    times_s: tuple[float, ...],
    ramp_off_s: float = 0.0,
    gate_open_s: tuple[float, ...] | None = None,
    gate_close_s: tuple[float, ...] | None = None,
    lowpass_hz: tuple[float, ...] = (),
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """``(ω (n_ω,) rad/s, A_im (n_ω, K), A_re (n_ω, K) or None, c (K,) or None)``.

    d = Im B @ A_im + Re B @ A_re + B_p c for the secondary field B on the grid ω (see module
    docstring); A_re and c are None without low-pass filters.
    """
    t = np.asarray(times_s, float)
    go = None if gate_open_s is None else np.asarray(gate_open_s, float)
    gc = None if gate_close_s is None else np.asarray(gate_close_s, float)
    nodes, owner, w = _time_nodes(t, float(ramp_off_s), go, gc)
    base, sine = _sine_filter()
    omega = (base[None, :] / nodes[:, None]).ravel()  # (n_nodes·n_f,)
    step = np.log(10.0) / PTS_PER_DECADE
    lo, hi = np.log(omega.min()), np.log(omega.max())
    # the grid spans exactly the filter's frequencies: stencils at its ends are one-sided
    # (no accuracy lost; a margin of N_INTERP_OMEGA/2 points each side cost 12 more frequencies)
    n_grid = int(np.ceil((hi - lo) / step)) + 1
    grid = lo + step * np.arange(n_grid)
    # g(t) = −(2/π)(1/t) Σ_j s_j Im[B F](b_j/t);  Im[B F] = Im B Re F + Re B_tot Im F
    filt = np.ones_like(omega, dtype=complex)
    for fc in lowpass_hz:
        filt /= 1 + 1j * omega / (2 * np.pi * fc)
    coef = ((-2 / np.pi) * sine[None, :] / nodes[:, None] * w[:, None]).ravel()
    gate = np.repeat(owner, base.size)
    idx, lw = _lagrange_sparse(grid, np.log(omega))
    flat = (idx * t.size + gate[:, None]).ravel()

    def scatter(values: np.ndarray) -> np.ndarray:
        summed = np.bincount(
            flat, weights=(lw * values[:, None]).ravel(), minlength=n_grid * t.size
        )
        return summed.reshape(n_grid, t.size)

    # Im B is interpolated as ω · (Im B / ω): exact for the leading low-frequency term
    a_im = scatter(coef * omega * filt.real) / np.exp(grid)[:, None]
    a_re = c = None
    if lowpass_hz:
        a_re = scatter(coef * filt.imag)
        c = np.bincount(gate, weights=coef * filt.imag, minlength=t.size)
        _readonly(a_re, c)
    return (*_readonly(np.exp(grid), a_im), a_re, c)
