"""TE reflection coefficient r_TE(λ, ω) of a layered earth on a list of (ω, λ) pairs, in place.

Pure array code for NumPy or CuPy, float64 arithmetic, no validation (the model classes validate).
The TEM solvers spend nearly all their time here, so the recursion is written for few passes over
memory: real arithmetic on preallocated buffers (``Workspace``), every call with ``out=``, and the
reflection coefficient kept as a ratio P/Q that is divided only once at the end.

With u_j = √(λ² + iωμ_0σ_j) (u_0 = λ in the air), the interface coefficients are
r_k = (u_k − u_{k+1})/(u_k + u_{k+1}) = n_k/d_k with n_k = iωμ_0(σ_k − σ_{k+1}) and
d_k = (u_k + u_{k+1})² (no cancellation at low frequencies), and from the bottom up

    R_{N−1} = n_{N−1}/d_{N−1},   R_k = (r_k + R_{k+1} E_{k+1}) / (1 + r_k R_{k+1} E_{k+1}),

E_j = e^{−2 u_j h_j}. With R_{k+1} = P/Q and X = P E: R_k = (n_k Q + d_k X)/(d_k Q + n_k X).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from . import _trig

MU0 = 4e-7 * np.pi
#: lower bound of −2 h Re u and of the phase −2 h Im u (rad): |E| = e^{−2h Re u} ≤ e^{−|phase|}
#: is negligible below it
PHASE_MIN = -40.0
#: steps of the P/Q recursion between rescalings: each step multiplies P and Q by up to ~10⁴
#: (|d| ≤ 4|u|²) or by as little as ~10⁻¹² (low ω, small λ), so 4 steps stay far inside float64
#: and models of up to 5 layers are never rescaled
RESCALE_STEPS = 4


class PairGrid:
    """Per-pair constants, each ``(1, P)`` float64: λ, λ²/2, λ⁴/4, ωμ_0, (ωμ_0/2)²."""

    def __init__(self, lam: Any, omega: Any, xp: ModuleType) -> None:
        lam = xp.asarray(lam, dtype=xp.float64).reshape(1, -1)
        wmu = xp.asarray(omega, dtype=xp.float64).reshape(1, -1) * MU0
        self.size = lam.shape[1]
        self.lam = lam
        self.half_lam2 = lam * lam / 2
        self.quarter_lam4 = self.half_lam2 * self.half_lam2
        self.wmu = wmu
        self.quarter_wmu2 = (wmu / 2) ** 2


class Workspace:
    """Named float64 (or float32) buffers of one shape, created on first use and reused across
    blocks."""

    def __init__(self, xp: ModuleType, shape: tuple[int, int]) -> None:
        self.xp, self.shape = xp, shape
        self._buffers: dict[tuple[str, Any], Any] = {}

    def __getitem__(self, name: str) -> Any:
        return self.get(name, self.xp.float64)

    def get(self, name: str, dtype: Any) -> Any:
        key = (name, dtype)
        if key not in self._buffers:
            self._buffers[key] = self.xp.empty(self.shape, dtype=dtype)
        return self._buffers[key]


def _u(sigma: Any, grid: PairGrid, ur: Any, ui: Any, xp: ModuleType) -> None:
    """u = √(λ² + iωμσ) into ``ur``/``ui`` (real part > 0); ``sigma (nb, 1)`` S/m:
    Re u = √(|u²|/2 + λ²/2), Im u = (ωμσ/2)/Re u."""
    xp.multiply(sigma * sigma, grid.quarter_wmu2, out=ur)
    ur += grid.quarter_lam4
    xp.sqrt(ur, out=ur)  # |u²| / 2
    ur += grid.half_lam2
    xp.sqrt(ur, out=ur)
    xp.multiply(sigma * 0.5, grid.wmu, out=ui)
    ui /= ur


def _square_of_sum(ar: Any, ai: Any, br: Any, bi: Any, ws: Workspace, xp: ModuleType) -> tuple:
    """d = (a + b)² as (ws["dr"], ws["di"]); ``bi`` None means Im b = 0."""
    s, dr, di = ws["s"], ws["dr"], ws["di"]
    xp.add(ar, br, out=s)
    if bi is None:
        i = ai
    else:
        i = ws["i"]
        xp.add(ai, bi, out=i)
    xp.subtract(s, i, out=dr)
    xp.multiply(s, i, out=di)
    s += i
    dr *= s
    di *= 2
    return dr, di


def _phase_factor(
    ur: Any, ui: Any, h2: Any, ws: Workspace, xp: ModuleType, fast_trig: bool
) -> tuple[Any, Any]:
    """E = e^{−2uh} as (ws["er"], ws["ei"]); ``h2 (nb, 1)`` = −2h.

    ``fast_trig``: the phase in float32 (NumPy's SIMD kernels, ~10× faster than float64
    cos/sin); |E| ≤ e^{−|φ|} bounds the error |φ|·6e-8·|E| by 2.2e-8. Otherwise float64 by
    :func:`_trig.exp_cis` (half-angle tangent where it is vectorised: exact and ~2× float32's
    cost)."""
    amp, er, ei = ws["amp"], ws["er"], ws["ei"]
    xp.multiply(ur, h2, out=amp)
    xp.maximum(amp, PHASE_MIN, out=amp)  # no subnormal numbers downstream (they are slow)
    phase = ws.get("phase", xp.float32) if fast_trig else ws["phase"]
    xp.multiply(ui, h2, out=phase)
    xp.maximum(phase, PHASE_MIN, out=phase)
    _trig.exp_cis(amp, phase, er, ei, xp)
    return er, ei


def _rescale(pr: Any, pi: Any, qr: Any, qi: Any, tmp: Any, xp: ModuleType) -> None:
    """Divide P and Q by |Re Q| + |Im Q| (their ratio is all that counts)."""
    xp.absolute(qr, out=tmp)
    tmp += xp.absolute(qi)
    xp.reciprocal(tmp, out=tmp)
    for a in (pr, pi, qr, qi):
        a *= tmp


def _sum_of_products(out: Any, tmp: Any, xp: ModuleType, first: tuple, *rest: tuple) -> None:
    """out = a·b ± c·d ± …: ``first`` = (a, b), each of ``rest`` = (sign, c, d)."""
    xp.multiply(*first, out=out)
    for sign, c, d in rest:
        xp.multiply(c, d, out=tmp)
        if sign < 0:
            out -= tmp
        else:
            out += tmp


def reflection(
    sigma: Any,
    thk: Any,
    grid: PairGrid,
    ws: Workspace,
    xp: ModuleType,
    fast_trig: bool = False,
    want_real: bool = False,
) -> tuple[Any, Any]:
    """``(Im r_TE, Re r_TE or None)``, each ``(nb, P)`` views of ``ws`` buffers.

    ``sigma (nb, N)`` S/m, ``thk (nb, N−1)`` m, float64; ``grid`` the P (ω, λ) pairs; ``ws`` a
    :class:`Workspace` of shape ``(nb, P)``. The results are overwritten by the next call.
    """
    n_layers = sigma.shape[1]
    col = [sigma[:, j : j + 1] for j in range(n_layers)]
    u: dict[int, tuple[Any, Any]] = {}

    def layer(j: int) -> tuple[Any, Any]:
        if j not in u:
            u.pop(j + 2, None)  # two neighbouring layers are alive at a time (bottom-up)
            u[j] = (ws[f"ur{j % 2}"], ws[f"ui{j % 2}"])
            _u(col[j], grid, *u[j], xp)
        return u[j]

    def interface(k: int, n: Any) -> tuple[Any, Any]:
        """d = (u_{k−1} + u_k)² and n = ωμ(σ_{k−1} − σ_k) (into ``n``) above layer k."""
        if k == 0:
            ur, ui = layer(0)
            xp.multiply(-col[0], grid.wmu, out=n)
            return _square_of_sum(grid.lam, ui, ur, None, ws, xp)
        (ar, ai), (br, bi) = layer(k - 1), layer(k)
        xp.multiply(col[k - 1] - col[k], grid.wmu, out=n)
        return _square_of_sum(ar, ai, br, bi, ws, xp)

    nbuf, tmp = ws["n"], ws["tmp"]
    pr, pi, qr, qi = ws["pr"], ws["pi"], ws["qr"], ws["qi"]
    p2r, p2i, q2r, q2i = ws["p2r"], ws["p2i"], ws["q2r"], ws["q2i"]
    dr, di = interface(n_layers - 1, pi)  # R_{N−1} = n/d: P = i·pi, Q = d
    qr[...] = dr
    qi[...] = di
    imaginary_p = True
    for k in range(n_layers - 2, -1, -1):
        er, ei = _phase_factor(*layer(k), -2 * thk[:, k : k + 1], ws, xp, fast_trig)
        xr, xi = ws["xr"], ws["xi"]
        if imaginary_p:  # X = i·pi·E
            xp.multiply(pi, ei, out=xr)
            xp.negative(xr, out=xr)
            xp.multiply(pi, er, out=xi)
        else:  # X = P E
            _sum_of_products(xr, tmp, xp, (pr, er), (-1, pi, ei))
            _sum_of_products(xi, tmp, xp, (pr, ei), (1, pi, er))
        dr, di = interface(k, nbuf)
        # P' = n Q + d X, Q' = d Q + n X with n = i·nbuf
        _sum_of_products(p2r, tmp, xp, (dr, xr), (-1, di, xi), (-1, nbuf, qi))
        _sum_of_products(p2i, tmp, xp, (dr, xi), (1, di, xr), (1, nbuf, qr))
        _sum_of_products(q2r, tmp, xp, (dr, qr), (-1, di, qi), (-1, nbuf, xi))
        _sum_of_products(q2i, tmp, xp, (dr, qi), (1, di, qr), (1, nbuf, xr))
        pr, p2r, pi, p2i = p2r, pr, p2i, pi
        qr, q2r, qi, q2i = q2r, qr, q2i, qi
        imaginary_p = False
        if k % RESCALE_STEPS == 0 and k > 0:
            _rescale(pr, pi, qr, qi, tmp, xp)
    # r = P/Q = P conj(Q) / |Q|²
    den, im = ws["den"], ws["im"]
    _sum_of_products(den, tmp, xp, (qr, qr), (1, qi, qi))
    if imaginary_p:
        xp.multiply(pi, qr, out=im)
    else:
        _sum_of_products(im, tmp, xp, (pi, qr), (-1, pr, qi))
    im /= den
    if not want_real:
        return im, None
    re = ws["re"]
    if imaginary_p:
        xp.multiply(pi, qi, out=re)
    else:
        _sum_of_products(re, tmp, xp, (pr, qr), (1, pi, qi))
    re /= den
    return im, re


def _complex(re: Any, im: Any, xp: ModuleType) -> Any:
    """A new complex128 array re + i·im (writes through the views: faster than re + 1j * im)."""
    out = xp.empty(re.shape, dtype=xp.complex128)
    xp.copyto(out.real, re)
    xp.copyto(out.imag, im)
    return out


def _reciprocal(z: Any, tmp: Any, tmp2: Any, xp: ModuleType) -> Any:
    """1/z = conj(z)/|z|² for complex128 ``z``, in place, by real arithmetic (NumPy's complex
    division is ~2× slower); ``tmp``/``tmp2`` real buffers shaped like ``z``. |z| stays far
    from float64's limits here (|u|² ≤ λ⁴ + (ωμσ)², |1 + r X| ≤ 2)."""
    xp.multiply(z.real, z.real, out=tmp)
    xp.multiply(z.imag, z.imag, out=tmp2)
    tmp += tmp2
    xp.reciprocal(tmp, out=tmp)
    z.real *= tmp
    xp.negative(tmp, out=tmp)
    z.imag *= tmp
    return z


def reflection_gradient(sigma: Any, thk: Any, grid: PairGrid, xp: ModuleType) -> tuple[Any, Any]:
    """r_TE and its derivatives with respect to ln ρ_j and ln h_j, by reverse accumulation.

    ``sigma (nb, N)`` S/m, ``thk (nb, N−1)`` m. Returns ``r (nb, P)`` complex and
    ``grad (2N−1, nb, P)`` complex in the model-vector order [ρ_1 … ρ_N, h_1 … h_{N−1}]. With
    R_k = (r_k + X_k)/D_k, X_k = R_{k+1} E_k, D_k = 1 + r_k X_k: ∂R_k/∂r_k = (1 − X_k²)/D_k²,
    ∂R_k/∂X_k = (1 − r_k²)/D_k²; r_k = (u_{k−1} − u_k)/s_k = iωμ_0(σ_{k−1} − σ_k)/s_k²,
    s_k = u_{k−1} + u_k (u_{−1} = λ, σ_{−1} = 0): ∂r_k/∂u_{k−1} = 2u_k/s_k²,
    ∂r_k/∂u_k = −2u_{k−1}/s_k²; ∂E_k/∂u_k = −2h_k E_k, ∂E_k/∂ln h_k = −2u_k h_k E_k;
    ∂u_j/∂ln ρ_j = −iωμ_0σ_j/(2u_j). Complex128 throughout; one reciprocal per layer and per
    interface, by real arithmetic (:func:`_reciprocal`), and E by :func:`_trig.exp_cis`.
    """
    n_layers = sigma.shape[1]
    shape = (sigma.shape[0], grid.size)
    tmp, tmp2 = xp.empty(shape), xp.empty(shape)
    u, inv_u_abs2 = [], []  # u_j, and 1/|u_j|² (real) for ∂u_j/∂ln ρ_j
    for j in range(n_layers):
        ur, ui = xp.empty(shape), xp.empty(shape)
        _u(sigma[:, j : j + 1], grid, ur, ui, xp)
        u.append(_complex(ur, ui, xp))
        xp.multiply(ur, ur, out=tmp)
        xp.multiply(ui, ui, out=ui)
        ui += tmp
        inv_u_abs2.append(xp.reciprocal(ui, out=ui))
    above = [grid.lam, *u[:-1]]  # u_{k−1} above layer k
    inv_s2, r = [], []
    for k in range(n_layers):
        s2 = xp.add(above[k], u[k])
        s2 *= s2
        inv_s2.append(_reciprocal(s2, tmp, tmp2, xp))
        step = (sigma[:, k - 1 : k] if k else 0.0) - sigma[:, k : k + 1]
        r.append(inv_s2[k] * (1j * step * grid.wmu))
    e = []
    for k in range(n_layers - 1):
        h2 = -2 * thk[:, k : k + 1]
        xp.maximum(xp.multiply(h2, u[k].real, out=tmp), PHASE_MIN, out=tmp)
        phase = xp.multiply(h2, u[k].imag)
        xp.maximum(phase, PHASE_MIN, out=phase)
        er, ei = xp.empty(shape), xp.empty(shape)
        _trig.exp_cis(tmp, phase, er, ei, xp)
        e.append(_complex(er, ei, xp))
    big_r = [None] * n_layers
    big_r[-1] = r[-1]
    x, inv_d = [None] * n_layers, [None] * n_layers
    for k in range(n_layers - 2, -1, -1):
        x[k] = big_r[k + 1] * e[k]
        d = r[k] * x[k]
        d += 1
        inv_d[k] = _reciprocal(d, tmp, tmp2, xp)
        big_r[k] = r[k] + x[k]
        big_r[k] *= inv_d[k]
    # reverse sweep: adj = ∂R_0/∂R_k, g_u[j] = ∂R_0/∂u_j
    g_u: list[Any] = [None] * n_layers
    grad = xp.empty((2 * n_layers - 1, *shape), dtype=xp.complex128)
    adj = None
    for k in range(n_layers):
        if k < n_layers - 1:
            inv_d2 = inv_d[k]
            inv_d2 *= inv_d2
            adj = inv_d2 if adj is None else xp.multiply(adj, inv_d2, out=adj)
            g_r = x[k] * x[k]
            xp.subtract(1, g_r, out=g_r)
            g_r *= adj
            g_x = r[k] * r[k]
            xp.subtract(1, g_x, out=g_x)
            g_x *= adj
        else:
            g_r = adj if adj is not None else xp.ones(shape, dtype=xp.complex128)
        g_r *= inv_s2[k]
        g_r *= 2
        if k > 0:
            g_u[k - 1] += g_r * u[k]
        g_u[k] = g_r * above[k]
        xp.negative(g_u[k], out=g_u[k])
        if k < n_layers - 1:
            g_e = x[k]  # ∂R_0/∂E_k · E_k = g_x R_{k+1} E_k = g_x X_k
            g_e *= g_x
            g_e *= -2 * thk[:, k : k + 1]
            g_u[k] += g_e
            xp.multiply(g_e, u[k], out=grad[n_layers + k])
            adj = xp.multiply(g_x, e[k], out=g_x)
    for j in range(n_layers):
        # ∂u_j/∂ln ρ_j = −iωμσ_j/(2u_j) = −½ωμσ_j (Im u_j + i Re u_j)/|u_j|²
        scale = inv_u_abs2[j]
        scale *= -0.5 * sigma[:, j : j + 1] * grid.wmu
        out = grad[j]
        xp.multiply(u[j].imag, scale, out=out.real)
        xp.multiply(u[j].real, scale, out=out.imag)
        out *= g_u[j]
    return big_r[0], grad


def reflection_dispersive(sigma: Any, thk: Any, grid: PairGrid, xp: ModuleType) -> Any:
    """r_TE ``(nb, P)`` complex128 for frequency-dependent complex conductivities.

    ``sigma (nb, N, P)`` complex128 S/m (σ_j at each pair's ω, e.g. Cole–Cole), ``thk (nb, N−1)``
    m. The same recursion as :func:`reflection` in plain complex arithmetic (slower; used for
    induced-polarisation models): r_k = iωμ_0(σ_{k−1} − σ_k)/(u_{k−1} + u_k)² with σ_{−1} = 0 and
    u_{−1} = λ, then R_k = (r_k + X)/(1 + r_k X), X = R_{k+1} e^{−2 u_k h_k}.
    """
    n_layers = sigma.shape[1]
    iwmu = 1j * grid.wmu
    lam2 = grid.lam * grid.lam
    u = [xp.sqrt(lam2 + iwmu * sigma[:, j]) for j in range(n_layers)]

    def interface(k: int) -> Any:
        above_u, above_sigma = (grid.lam, 0.0) if k == 0 else (u[k - 1], sigma[:, k - 1])
        s = above_u + u[k]
        return iwmu * (above_sigma - sigma[:, k]) / (s * s)

    r = interface(n_layers - 1)
    for k in range(n_layers - 2, -1, -1):
        phase = xp.maximum(-2 * thk[:, k : k + 1] * u[k].real, PHASE_MIN)
        x = r * xp.exp(phase - 2j * thk[:, k : k + 1] * u[k].imag)
        rk = interface(k)
        r = (rk + x) / (1 + rk * x)
    return r
