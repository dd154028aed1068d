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

The pairs come sorted by λ (λ-major, ascending): since Re u_j ≥ λ, the layers below depth z
reach the surface through |Π E_j| ≤ e^{−2λz}, so each layer is seen by a prefix of the pairs
(:func:`active_pairs`) and the recursions run each layer on its prefix only.
"""

from __future__ import annotations

import threading
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
    """Per-pair constants, each ``(1, P)`` float64: λ, λ²/2, λ⁴/4, ωμ_0, (ωμ_0/2)²; ``lam_host``
    the pairs' λ as a NumPy array (for :func:`active_pairs`)."""

    def __init__(self, lam: Any, omega: Any, xp: ModuleType) -> None:
        lam = xp.asarray(lam, dtype=xp.float64).reshape(1, -1)
        wmu = xp.asarray(omega, dtype=xp.float64).reshape(1, -1) * MU0
        self.size = lam.shape[1]
        self.lam = lam
        self.half_lam2 = lam * lam / 2
        self.quarter_lam4 = self.half_lam2 * self.half_lam2
        self.wmu = wmu
        self.quarter_wmu2 = (wmu / 2) ** 2
        self.lam_host = np.asarray(lam.get() if hasattr(lam, "get") else lam)[0]

    def head(self, m: int) -> PairGrid:
        """The first ``m`` pairs (views)."""
        if m == self.size:
            return self
        out = object.__new__(PairGrid)
        for name in ("lam", "half_lam2", "quarter_lam4", "wmu", "quarter_wmu2"):
            setattr(out, name, getattr(self, name)[:, :m])
        out.size, out.lam_host = m, self.lam_host[:m]
        return out


#: depth attenuation (nepers, 2λ·z) beyond which a pair no longer sees the layers below depth z
#: (:func:`active_pairs`): e^{−50} ≈ 2·10⁻²²
SEEN_NEPERS = 50.0


def active_pairs(thk: Any, grid: PairGrid) -> list[int]:
    """For each layer k of ``thk (nb, N−1)`` (m), how many leading pairs of ``grid`` see it.

    Every wavenumber obeys Re u_j ≥ λ, so the layers below depth z enter r_TE at the surface
    through a factor |Π E_j| ≤ e^{−2λz}; pairs with 2λz > :data:`SEEN_NEPERS` are left out of
    the recursion there (their contribution is below float64's resolution). With the pairs
    sorted by λ (λ-major, ascending) each layer's pairs are a prefix; the shallowest model of
    the batch sets z."""
    thk_host = np.asarray(thk.get() if hasattr(thk, "get") else thk, dtype=float)
    tops = np.concatenate([[0.0], np.cumsum(thk_host.min(axis=0))])
    with np.errstate(divide="ignore"):
        limits = SEEN_NEPERS / (2 * tops)
    return np.searchsorted(grid.lam_host, limits, side="right").tolist()


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
    active: list[int] | None = None,
) -> tuple[Any, Any]:
    """``(Im r_TE, Re r_TE or None)``, each ``(nb, P)`` views of ``ws`` buffers.

    ``sigma (nb, N)`` S/m, ``thk (nb, N−1)`` m, float64; ``grid`` the P (ω, λ) pairs; ``ws`` a
    :class:`Workspace` of shape ``(nb, P)``; ``active``: per layer, the leading pairs that see
    it (:func:`active_pairs`; default all: where layer k + 1 is not seen, R_k = r_k). The
    results are overwritten by the next call.
    """
    n_layers = sigma.shape[1]
    seen = active or [grid.size] * n_layers
    col = [sigma[:, j : j + 1] for j in range(n_layers)]
    u: dict[int, tuple[Any, Any]] = {}

    def head(*arrays: Any, m: int) -> list[Any]:
        return [a[:, :m] for a in arrays]

    def layer(j: int) -> tuple[Any, Any]:
        if j not in u:
            u.pop(j + 2, None)  # two neighbouring layers are alive at a time (bottom-up)
            m = seen[j]
            ur, ui = head(ws[f"ur{j % 2}"], ws[f"ui{j % 2}"], m=m)
            _u(col[j], grid.head(m), ur, ui, xp)
            u[j] = (ur, ui)
        return u[j]

    def interface(k: int, n: Any) -> tuple[Any, Any]:
        """d = (u_{k−1} + u_k)² and n = ωμ(σ_{k−1} − σ_k) (into ``n``, a prefix view) above
        layer k, on the pairs that see layer k."""
        m = n.shape[1]
        part, sub = grid.head(m), _Prefix(ws, m)
        if k == 0:
            ur, ui = layer(0)
            xp.multiply(-col[0], part.wmu, out=n)
            return _square_of_sum(part.lam, ui[:, :m], ur[:, :m], None, sub, xp)
        (ar, ai), (br, bi) = layer(k - 1), layer(k)
        xp.multiply(col[k - 1] - col[k], part.wmu, out=n)
        return _square_of_sum(ar[:, :m], ai[:, :m], br, bi, sub, xp)

    m = seen[-1]
    nbuf, tmp = ws["n"], ws["tmp"]
    pr, pi, qr, qi = ws["pr"], ws["pi"], ws["qr"], ws["qi"]
    p2r, p2i, q2r, q2i = ws["p2r"], ws["p2i"], ws["q2r"], ws["q2i"]
    dr, di = interface(n_layers - 1, pi[:, :m])  # R_{N−1} = n/d: P = i·pi, Q = d
    qr[:, :m] = dr
    qi[:, :m] = di
    imaginary_p = True
    for k in range(n_layers - 2, -1, -1):
        m, m_below = seen[k], seen[k + 1]
        xr, xi = head(ws["xr"], ws["xi"], m=m)
        if m_below < m:  # layer k + 1 unseen there: X = 0, and Q = 1 (R_{k+1} is not used)
            for a, value in ((xr, 0.0), (xi, 0.0), (qr, 1.0), (qi, 0.0)):
                a[:, m_below:m] = value
        lr, li = layer(k)
        er, ei = _phase_factor(
            lr[:, :m_below],
            li[:, :m_below],
            -2 * thk[:, k : k + 1],
            _Prefix(ws, m_below),
            xp,
            fast_trig,
        )
        xb_r, xb_i, p_r, p_i, tb = head(xr, xi, pr, pi, tmp, m=m_below)
        if imaginary_p:  # X = i·pi·E
            xp.multiply(p_i, ei, out=xb_r)
            xp.negative(xb_r, out=xb_r)
            xp.multiply(p_i, er, out=xb_i)
        else:  # X = P E
            _sum_of_products(xb_r, tb, xp, (p_r, er), (-1, p_i, ei))
            _sum_of_products(xb_i, tb, xp, (p_r, ei), (1, p_i, er))
        q_r, q_i, t = head(qr, qi, tmp, m=m)
        n = nbuf[:, :m]
        dr, di = interface(k, n)
        p2r_, p2i_, q2r_, q2i_ = head(p2r, p2i, q2r, q2i, m=m)
        # P' = n Q + d X, Q' = d Q + n X with n = i·nbuf
        _sum_of_products(p2r_, t, xp, (dr, xr), (-1, di, xi), (-1, n, q_i))
        _sum_of_products(p2i_, t, xp, (dr, xi), (1, di, xr), (1, n, q_r))
        _sum_of_products(q2r_, t, xp, (dr, q_r), (-1, di, q_i), (-1, n, xi))
        _sum_of_products(q2i_, t, xp, (dr, q_i), (1, di, q_r), (1, n, xr))
        pr, p2r, pi, p2i = p2r, pr, p2i, pi
        qr, q2r, qi, q2i = q2r, qr, q2i, qi
        imaginary_p = False
        if k % RESCALE_STEPS == 0 and k > 0:
            _rescale(*head(pr, pi, qr, qi, tmp, m=m), xp)
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


class _Prefix:
    """The first ``m`` pairs of a :class:`Workspace`'s buffers (views), for the helpers that
    take one."""

    def __init__(self, ws: Workspace, m: int) -> None:
        self.ws, self.m = ws, m

    def __getitem__(self, name: str) -> Any:
        return self.ws[name][:, : self.m]

    def get(self, name: str, dtype: Any) -> Any:
        return self.ws.get(name, dtype)[:, : self.m]


#: complex128 values a thread keeps for :func:`reflection_gradient`'s buffers between calls
#: (64 MiB); a larger request gets fresh memory
KEPT_VALUES = 1 << 22
_KEPT = threading.local()


def _buffers(xp: ModuleType, count: int, shape: tuple[int, int]) -> Any:
    """``count`` complex128 buffers of ``shape`` as one array ``(count, *shape)``.

    On NumPy the memory is kept per thread and reused by the next call: fresh memory costs a
    page fault per 4 KiB page on first touch, which on the 2-core VM of docs/benchmarks.md was
    about half of the gradient's time (a 30-layer stack, 7 840 pairs: 35 → 21 ms with glibc
    told to keep freed memory). CuPy has its own memory pool."""
    size = count * shape[0] * shape[1]
    if xp is not np or size > KEPT_VALUES:
        return xp.empty((count, *shape), dtype=xp.complex128)
    kept = getattr(_KEPT, "buffer", None)
    if kept is None or kept.size < size:
        kept = _KEPT.buffer = np.empty(size, dtype=np.complex128)
    return kept[:size].reshape(count, *shape)


def _reciprocal(z: Any, out: Any, tmp: Any, tmp2: Any, xp: ModuleType) -> None:
    """``out`` = 1/z = conj(z)/|z|² for complex128 ``z`` by real arithmetic (NumPy's complex
    division is slower); ``tmp``/``tmp2`` real buffers shaped like ``z``. |z| stays far from
    float64's limits here (|u|² ≤ λ⁴ + (ωμσ)², |1 + r X| ≤ 2)."""
    xp.multiply(z.real, z.real, out=tmp)
    xp.multiply(z.imag, z.imag, out=tmp2)
    tmp += tmp2
    xp.reciprocal(tmp, out=tmp)
    xp.multiply(z.real, tmp, out=out.real)
    xp.negative(tmp, out=tmp)
    xp.multiply(z.imag, tmp, out=out.imag)


def reflection_gradient(
    sigma: Any, thk: Any, grid: PairGrid, xp: ModuleType, active: list[int] | None = None
) -> tuple[Any, Any]:
    """r_TE and its derivatives with respect to ln ρ_j and ln h_j, by reverse accumulation.

    ``sigma (nb, N)`` S/m, ``thk (nb, N−1)`` m; ``active``: per layer, the leading pairs that
    see it (:func:`active_pairs`, pairs sorted by λ; default all). Returns ``r (nb, P)`` complex
    and ``grad (2N−1, nb, P)`` complex in the model-vector order [ρ_1 … ρ_N, h_1 … h_{N−1}]
    (zero for the pairs that do not see the parameter): views of buffers that the next call in
    the same thread overwrites (:func:`_buffers`). With R_k = (r_k + X_k)/D_k,
    X_k = R_{k+1} E_k, D_k = 1 + r_k X_k: ∂R_k/∂r_k = (1 − X_k²)/D_k²,
    ∂R_k/∂X_k = (1 − r_k²)/D_k²; r_k = (u_{k−1} − u_k)/s_k = iωμ_0(σ_{k−1} − σ_k)/s_k²,
    s_k = u_{k−1} + u_k (u_{−1} = λ, σ_{−1} = 0): ∂r_k/∂u_{k−1} = 2u_k/s_k²,
    ∂r_k/∂u_k = −2u_{k−1}/s_k²; ∂E_k/∂u_k = −2h_k E_k, ∂E_k/∂ln h_k = −2u_k h_k E_k;
    ∂u_j/∂ln ρ_j = −iωμ_0σ_j/(2u_j). Where layer k + 1 is not seen, X_k = 0. Complex128
    throughout, every operation into a buffer; the reciprocals by real arithmetic
    (:func:`_reciprocal`), E by :func:`_trig.exp_cis`.
    """
    n = sigma.shape[1]
    shape = (sigma.shape[0], grid.size)
    seen = active or [grid.size] * n
    buf = _buffers(xp, 8 * n + 5, shape)
    grad = buf[: 2 * n - 1]
    u, inv_s2, r = (
        buf[2 * n - 1 : 3 * n - 1],
        buf[3 * n - 1 : 4 * n - 1],
        buf[4 * n - 1 : 5 * n - 1],
    )
    e, x, inv_d = buf[5 * n - 1 : 6 * n - 2], buf[6 * n - 2 : 7 * n - 3], buf[7 * n - 3 : 8 * n - 4]
    big_r, adj_full, g_r_full, g_x_full, tmpc_full, iwmu = (
        buf[8 * n - 4 : 8 * n - 2],
        *buf[8 * n - 2 : 8 * n + 3],
    )
    # four contiguous real scratch buffers (ufuncs into the complex buffers' strided real and
    # imaginary views are slower: u and E are computed here and copied in)
    real = buf[8 * n + 3 :].view(xp.float64)  # (2, nb, 2P)
    tmp_full, tmp2_full = real[0, :, : grid.size], real[0, :, grid.size :]
    tmp3_full, tmp4_full = real[1, :, : grid.size], real[1, :, grid.size :]
    iwmu[...] = 1j * grid.wmu
    for j in range(n):
        m = seen[j]
        ur, ui = tmp_full[:, :m], tmp2_full[:, :m]
        _u(sigma[:, j : j + 1], grid.head(m), ur, ui, xp)
        u[j, :, :m].real = ur
        u[j, :, :m].imag = ui
        grad[j, :, m:] = 0
        if j < n - 1:
            grad[n + j, :, seen[j + 1] :] = 0
    for k in range(n):
        m = seen[k]
        tmpc, tmp, tmp2 = tmpc_full[:, :m], tmp_full[:, :m], tmp2_full[:, :m]
        xp.add(grid.lam[:, :m] if k == 0 else u[k - 1, :, :m], u[k, :, :m], out=tmpc)
        tmpc *= tmpc
        _reciprocal(tmpc, inv_s2[k, :, :m], tmp, tmp2, xp)
        xp.multiply(inv_s2[k, :, :m], iwmu[:, :m], out=r[k, :, :m])
        r[k, :, :m] *= (sigma[:, k - 1 : k] if k else 0.0) - sigma[:, k : k + 1]
    for k in range(n - 1):
        m = seen[k + 1]
        tmp, tmp2 = tmp_full[:, :m], tmp2_full[:, :m]
        er, ei = tmp3_full[:, :m], tmp4_full[:, :m]
        h2 = -2 * thk[:, k : k + 1]
        xp.multiply(u[k, :, :m].real, h2, out=tmp)
        xp.maximum(tmp, PHASE_MIN, out=tmp)
        xp.multiply(u[k, :, :m].imag, h2, out=tmp2)
        xp.maximum(tmp2, PHASE_MIN, out=tmp2)
        _trig.exp_cis(tmp, tmp2, er, ei, xp)
        e[k, :, :m].real = er
        e[k, :, :m].imag = ei
    below = r[n - 1]  # R_{k+1}
    for k in range(n - 2, -1, -1):
        m, m_below = seen[k], seen[k + 1]
        tmpc, tmp, tmp2 = tmpc_full[:, :m], tmp_full[:, :m], tmp2_full[:, :m]
        xp.multiply(below[:, :m_below], e[k, :, :m_below], out=x[k, :, :m_below])
        x[k, :, m_below:m] = 0
        xp.multiply(r[k, :, :m], x[k, :, :m], out=tmpc)
        tmpc += 1
        _reciprocal(tmpc, inv_d[k, :, :m], tmp, tmp2, xp)
        below = big_r[k % 2]
        xp.add(r[k, :, :m], x[k, :, :m], out=below[:, :m])
        below[:, :m] *= inv_d[k, :, :m]
    # reverse sweep: adj = ∂R_0/∂R_k; grad[j] gathers ∂R_0/∂u_j, then × ∂u_j/∂ln ρ_j
    for k in range(n):
        m = seen[k]
        adj, g_r, g_x, tmpc = adj_full[:, :m], g_r_full[:, :m], g_x_full[:, :m], tmpc_full[:, :m]
        if k < n - 1:
            inv_d2 = inv_d[k, :, :m]
            inv_d2 *= inv_d2
            if k == 0:
                adj[...] = inv_d2
            else:
                adj *= inv_d2
            xp.multiply(x[k, :, :m], x[k, :, :m], out=g_r)
            xp.subtract(1, g_r, out=g_r)
            g_r *= adj
            xp.multiply(r[k, :, :m], r[k, :, :m], out=g_x)
            xp.subtract(1, g_x, out=g_x)
            g_x *= adj
            g_rk = g_r
        elif k == 0:  # a half-space: R_0 = r_0
            g_rk = adj
            g_rk[...] = 1
        else:
            g_rk = adj
        g_rk *= inv_s2[k, :, :m]
        g_rk *= 2
        if k > 0:
            xp.multiply(g_rk, u[k, :, :m], out=tmpc)
            grad[k - 1, :, :m] += tmpc
        xp.multiply(g_rk, grid.lam[:, :m] if k == 0 else u[k - 1, :, :m], out=grad[k, :, :m])
        xp.negative(grad[k, :, :m], out=grad[k, :, :m])
        if k < n - 1:
            m_below = seen[k + 1]
            g_e = tmpc_full[:, :m_below]  # ∂R_0/∂E_k · E_k = g_x R_{k+1} E_k = g_x X_k
            xp.multiply(g_x_full[:, :m_below], x[k, :, :m_below], out=g_e)
            g_e *= -2 * thk[:, k : k + 1]
            grad[k, :, :m_below] += g_e
            xp.multiply(g_e, u[k, :, :m_below], out=grad[n + k, :, :m_below])
            xp.multiply(g_x_full[:, :m_below], e[k, :, :m_below], out=adj_full[:, :m_below])
    for j in range(n):
        # ∂u_j/∂ln ρ_j = −iωμσ_j/(2u_j) = −½ωμσ_j (Im u_j + i Re u_j)/|u_j|²
        m = seen[j]
        tmpc, tmp, tmp2 = tmpc_full[:, :m], tmp_full[:, :m], tmp2_full[:, :m]
        uj = u[j, :, :m]
        xp.multiply(uj.real, uj.real, out=tmp)
        xp.multiply(uj.imag, uj.imag, out=tmp2)
        tmp += tmp2
        xp.divide(grid.wmu[:, :m], tmp, out=tmp)
        tmp *= -0.5 * sigma[:, j : j + 1]
        xp.multiply(uj.imag, tmp, out=tmpc.real)
        xp.multiply(uj.real, tmp, out=tmpc.imag)
        grad[j, :, :m] *= tmpc
    return (big_r[0] if n > 1 else r[0]), grad


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
