"""Magnetotellurics over a layered earth (1D): apparent resistivity and phase.

Physics (docs/methods.md, "Magnetotellurics 1D"): time dependence e^{+iωt}, quasi-static, μ = μ_0.
Every intrinsic impedance z_j = √(iωμ_0 ρ_j) has the same phase e^{iπ/4}, so the recursion runs on
the real-scaled impedance ζ = Z / √(iωμ_0) in real arithmetic (no complex tanh):

    Γ_j = (ζ_{j+1} − √ρ_j) / (ζ_{j+1} + √ρ_j),   g_j = Γ_j e^{−2 k_j h_j},
    ζ_j = √ρ_j (1 + g_j) / (1 − g_j),               k_j h_j = (1 + i) h_j √(ω μ_0 / (2 ρ_j)),

starting from ζ_N = √ρ_N. Then ρ_a = |Z|² / (ω μ_0) = |ζ_1|² and φ = 45° + arg ζ_1.

:meth:`MT1D.forward_and_jacobian` also returns the exact derivatives of the data with respect to
ln of every parameter (the recursion differentiated layer by layer, then chained from the top
down; docs/methods.md), for the refinement's Gauss–Newton steps.
"""

from __future__ import annotations

from functools import lru_cache
from types import ModuleType
from typing import Any

import numpy as np

from . import _layer_chain, _trig, _validate
from .base import ForwardModel

MU0 = 4e-7 * np.pi


def _scaled_impedance(rho: Any, thk: Any, skin: Any, xp: ModuleType) -> tuple[Any, Any]:
    """Real and imaginary parts of ζ_1 in √(Ω·m), each (n, K).

    ``rho (n, N)`` Ω·m, ``thk (n, N−1)`` m, ``skin (K,)`` = √(ω μ_0 / 2), so that a layer's
    h_j / δ_j = h_j / √ρ_j · skin (δ: skin depth). With m = −2 h_j / δ_j,
    E = e^{−2 k_j h_j} = e^m (cos m + i sin m) (:func:`_trig.exp_cis`). In-place arithmetic on
    (n, K) buffers.
    """
    n, n_layers = rho.shape
    shape = (n, skin.shape[0])
    sqrt_rho = xp.sqrt(rho)
    if n_layers == 1:
        return xp.broadcast_to(sqrt_rho, shape).copy(), xp.zeros(shape, dtype=rho.dtype)
    pool = [xp.empty(shape, dtype=rho.dtype) for _ in range(8)]
    x = y = None
    for j in range(n_layers - 2, -1, -1):
        s = sqrt_rho[:, j : j + 1]
        m, e_re, e_im, a, b, c = (pool.pop() for _ in range(6))
        xp.multiply((-2 * thk[:, j : j + 1]) / s, skin, out=m)
        xp.maximum(m, -40, out=m)  # e^-40 is zero at our accuracy; avoids subnormals
        _trig.exp_cis(m, m, e_re, e_im, xp)  # E
        if x is None:  # ζ_{j+1} = √ρ_N is real: Γ is real, one value per model
            x_below = sqrt_rho[:, n_layers - 1 : n_layers]
            gamma = (x_below - s) / (x_below + s)
            xp.multiply(e_re, gamma, out=a)  # g_re
            xp.multiply(e_im, gamma, out=c)  # g_im
            pool += [m, e_re, e_im, b]
        else:
            # Γ = ((x² + y² − s²) + 2i s y) / ((x + s)² + y²)
            xp.add(x, s, out=a)
            a *= a
            xp.multiply(y, y, out=b)
            a += b  # denominator
            xp.multiply(x, x, out=c)
            c += b
            c -= s * s
            c /= a  # Γ_re
            xp.multiply(y, 2 * s, out=b)
            b /= a  # Γ_im
            xp.multiply(c, e_re, out=a)
            xp.multiply(b, e_im, out=m)
            a -= m  # g_re
            c *= e_im
            b *= e_re
            c += b  # g_im
            pool += [m, e_re, e_im, b, x, y]
        # ζ_j = s (1 + g) / (1 − g) = s ((1 − |g|²) + 2i g_im) / |1 − g|²
        one_minus, den, g_im2 = (pool.pop() for _ in range(3))
        xp.subtract(1, a, out=one_minus)
        xp.multiply(one_minus, one_minus, out=den)
        xp.multiply(c, c, out=g_im2)
        den += g_im2
        xp.divide(s, den, out=den)  # s / |1 − g|²
        a += 1
        a *= one_minus
        a -= g_im2
        a *= den  # new x: (1 − g_re)(1 + g_re) − g_im², scaled
        c *= den
        c *= 2  # new y
        pool += [one_minus, den, g_im2]
        x, y = a, c
    return x, y


def _reciprocal(z: Any, scratch: Any, xp: ModuleType) -> Any:
    """``z`` ← 1/z in place; returns ``z`` (complex (n, K); ``scratch`` a real buffer of its
    shape, overwritten). complex64: conj(z) / |z|² with |z| from ``hypot``, which NumPy
    vectorises — 3–4× faster than its complex64 division, within 4·10⁻⁷ relative; |z|² of
    M N here stays far inside the float32 range. complex128: NumPy's division (the same
    formula measured 8 % slower in the whole Jacobian there; docs/benchmarks.md)."""
    if z.dtype != xp.complex64:
        return xp.divide(1.0, z, out=z)
    xp.abs(z, out=scratch)
    scratch *= scratch
    xp.divide(1.0, scratch, out=scratch)
    xp.conjugate(z, out=z)
    z *= scratch
    return z


def _impedance_and_local_derivatives(
    rho: Any, thk: Any, skin: Any, xp: ModuleType
) -> tuple[Any, Any, list[Any]]:
    """ζ_1 (n, K), the local logarithmic partials (2N−1, n, K) and the steps, all complex128
    (complex64 for float32 ``rho``, ``thk`` and ``skin``).

    ``rho (n, N)`` Ω·m, ``thk (n, N−1)`` m, ``skin (K,)`` = √(ω μ_0 / 2). Entry j of the partials
    is ∂ln ζ_j/∂ln m_j of the layer the parameter belongs to (ρ_j, or h_j at N + j); steps[i]
    is ∂ln ζ_j/∂ln ζ_{j+1} of layer j = N − 2 − i (bottom up), as :mod:`._layer_chain` takes
    them. Per layer j (bottom up),
    with ζ' = ζ_{j+1}, s = √ρ_j, u = ζ' − s, v = ζ' + s, m = −2 h_j skin / s, θ = −(1 + i) m,
    E = e^{−θ} (:func:`_trig.exp_cis`), N = v + E u, M = v − E u and R = 1/(M N), so that
    ζ_j = s N/M = s N² R, the local logarithmic partials are::

        ∂ln ζ_j/∂ln ζ'  = 4 s ζ' E R
        ∂ln ζ_j/∂ln h_j = −2 θ u v E R = 2 (1 + i) m u v E R
        ∂ln ζ_j/∂ln ρ_j = ½ (1 − ∂ln ζ_j/∂ln ζ' − ∂ln ζ_j/∂ln h_j)

    and ∂ln ζ_N/∂ln ρ_N = ½. One complex reciprocal per layer; (n, K) buffers and the output are
    updated in place. m is capped at −40 as in the forward pass (e^{−40}: the layer below is
    unseen).
    """
    n, n_layers = rho.shape
    shape = (n, skin.shape[0])
    s = xp.sqrt(rho)
    real = rho.dtype
    cplx = xp.complex64 if real == xp.float32 else xp.complex128
    jac = xp.empty((2 * n_layers - 1, *shape), dtype=cplx)  # parameter axis first
    zeta = s[:, n_layers - 1 : n_layers].astype(cplx)  # (n, 1) below the last interface
    m, scratch, e_re, e_im = (xp.empty(shape, dtype=real) for _ in range(4))
    e = xp.empty(shape, dtype=cplx)
    steps = []  # ∂ln ζ_j/∂ln ζ_{j+1}, bottom up
    for j in range(n_layers - 2, -1, -1):
        sj = s[:, j : j + 1]
        xp.multiply((-2 * thk[:, j : j + 1]) / sj, skin, out=m)
        xp.maximum(m, -40, out=m)
        xp.copyto(scratch, m)
        # E; contiguous real buffers first (transcendental ufuncs are not vectorised on the
        # strided .real / .imag views)
        _trig.exp_cis(scratch, scratch, e_re, e_im, xp)
        xp.copyto(e.real, e_re)
        xp.copyto(e.imag, e_im)
        sj_c = sj.astype(cplx)  # (n, 1): complex × complex, not NumPy's slower mixed-type loops
        u = zeta - sj_c
        v = zeta + sj_c
        big_n = e * u
        big_m = xp.subtract(v, big_n)
        big_n += v
        r = _reciprocal(xp.multiply(big_m, big_n, out=big_m), scratch, xp)  # R = 1/(M N)
        e *= r  # E R
        u *= v
        d_h = jac[n_layers + j]
        xp.multiply(e, u, out=d_h)
        d_h *= m
        d_h *= 2 + 2j
        step = xp.multiply(e, zeta)
        step *= 4 * sj_c
        d_rho = jac[j]
        xp.add(step, d_h, out=d_rho)
        d_rho *= -0.5
        d_rho += 0.5
        big_n *= big_n
        big_n *= r
        big_n *= sj_c  # ζ_j
        zeta = big_n
        steps.append(step)
    jac[n_layers - 1] = 0.5  # ∂ln ζ_N/∂ln ρ_N
    if n_layers == 1:
        return xp.broadcast_to(zeta, shape).copy(), jac, steps
    return zeta, jac, steps


@lru_cache(maxsize=1)
def _atan_coefficients() -> np.ndarray:
    """Coefficients p of atan(r) ≈ r · Σ p_i r^{2i} on |r| ≤ 1 (Chebyshev fit, error < 3e-5°)."""
    u = 0.5 + 0.5 * np.cos(np.linspace(0.0, np.pi, 2001))
    r = np.sqrt(u)
    ratio = np.ones_like(r)
    ratio[r > 0] = np.arctan(r[r > 0]) / r[r > 0]
    fit = np.polynomial.chebyshev.Chebyshev.fit(u, ratio, 6, domain=[0.0, 1.0])
    return fit.convert(kind=np.polynomial.Polynomial, domain=[0.0, 1.0], window=[0.0, 1.0]).coef


def _phase_deg(x: Any, y: Any, xp: ModuleType, out: Any, polynomial: bool | None = None) -> None:
    """Write 45° + arg ζ in degrees into ``out`` for x > 0, |y| ≤ x (arg ζ ∈ [−45°, 45°]).

    ``polynomial``: the arctan polynomial (degrees folded into its coefficients) instead of
    ``arctan2``; by default only for float32 on NumPy builds whose float32 ``arctan2`` is not
    vectorised on this CPU (:data:`_trig.VECTORISED`).
    """
    if polynomial is None:
        polynomial = x.dtype != np.float64 and xp is np and not _trig.VECTORISED["arctan2"]
    if not polynomial:
        xp.arctan2(y, x, out=out)
        out *= 180 / np.pi
        out += 45
        return
    coef = [float(c) for c in _atan_coefficients() * (180 / np.pi)]  # keep x's dtype
    ratio = y / x
    u = ratio * ratio
    acc = u * coef[-1]
    acc += coef[-2]
    for c in coef[-3::-1]:
        acc *= u
        acc += c
    acc *= ratio
    xp.add(acc, 45, out=out)


def _data_from_impedance(zeta: Any, data: Any, xp: ModuleType) -> None:
    """Write ρ_a = |ζ_1|² (Ω·m) and φ = 45° + arg ζ_1 of ``zeta (n, K)`` complex128
    (complex64) into ``data (n, 2K)`` float64 (float32) (Re ζ_1 > 0, so
    arg ζ_1 = arctan(Im/Re))."""
    k = zeta.shape[1]
    phase = data[:, k:]
    xp.divide(zeta.imag, zeta.real, out=phase)
    xp.arctan(phase, out=phase)
    phase *= 180 / np.pi
    phase += 45
    rho_a = data[:, :k]
    xp.multiply(zeta.real, zeta.real, out=rho_a)
    rho_a += zeta.imag**2


def _mt_response(models: Any, skin: Any, n_layers: int, xp: ModuleType) -> Any:
    """``models (n, 2N−1)`` → ``(n, 2K)``: K ρ_a (Ω·m) then K phases (degrees)."""
    x, y = _scaled_impedance(models[:, :n_layers], models[:, n_layers:], skin, xp)
    out = xp.empty((x.shape[0], 2 * x.shape[1]), dtype=x.dtype)
    k = x.shape[1]
    _phase_deg(x, y, xp, out[:, k:])
    x *= x
    y *= y
    xp.add(x, y, out=out[:, :k])
    return out


class MT1D(ForwardModel):
    """1D magnetotellurics at periods ``periods_s`` (K,) in s.

    Data: K apparent resistivities ``rho_a`` (Ω·m, ρ_a = |Z|²/(ω μ_0), Z = E_x / H_y) then K
    phases in degrees, first quadrant (a homogeneous half-space gives ρ and 45°).
    """

    name = "mt-1d"
    axis_name = "periods_s"
    geometry_fields = ("periods_s",)
    #: models per thread-pool task: on two idle cores 4 096 against 1 024 gave 1.90 against
    #: 1.12 million models/s (float32, 40 periods, 3 layers; median of 5 interleaved runs of
    #: 100 000 models; 2 048: 1.57, 8 192: 1.86). An earlier choice of 1 024 was measured on a
    #: machine loaded by other jobs, where each thread got about half a core.
    chunk_rows = 4096
    #: rows per block of the Jacobian's complex arrays: on two idle cores 1 024 against 256 gave
    #: 372 000 against 249 000 models/s (32 768 models, median of 4; 512: 306 000, 2 048:
    #: 342 000); 256 had been chosen on a loaded machine
    jacobian_block_rows = 1024
    #: rows per group when the Jacobian's derivatives are written into its (n, 2K, n_params)
    #: output, parameter by parameter (NumPy): the group's output stays in cache. 50 000
    #: models, 40 periods, 3 layers, two idle cores: 4.65–4.74 µs of CPU per model with 128 or
    #: 256 rows against 5.03 for a whole 1 024-row block at once (64 rows: 5.0)
    write_rows = 256
    #: float32 derivatives keep the float32 forward's accuracy (the same recursion in complex64:
    #: on ρ 0.1–10⁵ Ω·m, data within 2·10⁻⁴ relative / 2·10⁻³° as the float32 forward,
    #: derivatives within 10⁻³ of their scale; tests/forward_models/test_fm_vjp.py)
    derivative_precisions = ("single", "double")

    def _check_geometry(self, geometry: dict[str, Any]) -> dict[str, Any]:
        return {"periods_s": _validate.positive_vector("periods_s", geometry.get("periods_s"))}

    def _data_layout(self) -> tuple[np.ndarray, tuple[str, ...], list[str]]:
        periods = self._geometry["periods_s"]
        kinds = ("rho_a",) * periods.size + ("phase",) * periods.size
        names = [f"rho_a@T={v:g}s" for v in periods] + [f"phase@T={v:g}s" for v in periods]
        return periods, kinds, names

    def _skin(self) -> tuple[np.ndarray]:
        omega = 2 * np.pi / self._geometry["periods_s"]
        return (np.sqrt(omega * MU0 / 2),)

    def _solve(self, models: Any, xp: ModuleType, dtype: Any) -> Any:
        (skin,) = self._operator(xp, dtype, self._skin)
        return _mt_response(models.astype(dtype), skin, self.n_layers, xp)

    def forward_and_jacobian(
        self, models: Any, backend: str | None = None, precision: str = "double"
    ) -> tuple[Any, Any]:
        """Data and their exact derivatives with respect to ln of each parameter, in float64
        (``precision="single"``: computed and returned in float32).

        ``models`` ``(n, n_params)`` or ``(n_params,)`` as for :meth:`forward`. Returns
        ``data (n, 2K)`` (as ``forward(models, precision=precision)``) and
        ``jac (n, 2K, n_params)`` with ``jac[i, d, j] = ∂data_d/∂ln m_j``: Ω·m for ρ_a and
        degrees for phases per unit relative change of parameter j (a parameter × 1.01 changes
        datum d by about 0.01·jac). Same array module as the input. On NumPy, chunks of
        ``chunk_rows`` models run on the shared thread pool, each in blocks of
        ``jacobian_block_rows`` written straight into the outputs.
        """
        return self._blocked_data_and_jacobian(models, backend, precision)

    def forward_and_vjp(
        self, models: Any, backend: str | None = None, precision: str = "double"
    ) -> tuple[Any, Any]:
        """Data and their vector–Jacobian product with respect to ln of each parameter, in
        float64 (``precision="single"``: float32, the physics-guided training's choice).

        ``models`` as for :meth:`forward`. Returns ``data (n, 2K)`` (as
        :meth:`forward_and_jacobian`) and ``vjp``: ``vjp(cotangent (n, 2K)) → (n, n_params)`` =
        Σ_d c_d ∂data_d/∂ln m_j, without forming the Jacobian: the local partials are taken
        against one complex adjoint per period, a_k = 2 ρ_a,k c_ρ,k − i (180/π) c_φ,k, from the
        top layer down. For a loss's gradient (the physics-guided training); keeps (2N−1, n, K)
        complex values until ``vjp`` is dropped, so meant for batches of thousands of models,
        not millions; on NumPy in blocks of ``jacobian_block_rows`` on the thread pool, as the
        Jacobian. Same array module as the input; ``vjp`` may be called more than once.
        """
        return self._blocked_data_and_vjp(models, backend, precision)

    def _local_derivatives(self, arr: Any, xp: ModuleType) -> tuple[Any, Any, list[Any]]:
        """:func:`_impedance_and_local_derivatives` of checked models ``arr (n, n_params)`` on
        this geometry's periods, in the models' dtype."""
        (skin,) = self._operator(xp, arr.dtype, self._skin)
        return _impedance_and_local_derivatives(
            arr[:, : self.n_layers], arr[:, self.n_layers :], skin, xp
        )

    def _data_and_vjp_block(self, arr: Any, xp: ModuleType) -> tuple[Any, Any]:
        """``(data (n, 2K), pullback)`` of checked models ``arr (n, n_params)`` (float64 or
        float32, as the results); ``pullback`` maps a checked cotangent (n, 2K) to
        (n, n_params)."""
        zeta, local, steps = self._local_derivatives(arr, xp)
        data = xp.empty((arr.shape[0], self.n_data), dtype=arr.dtype)
        _data_from_impedance(zeta, data, xp)
        k = zeta.shape[1]
        rho_a = data[:, :k]

        def pullback(c: Any) -> Any:
            adjoint = (2 * rho_a * c[:, :k]) - 1j * (180 / np.pi) * c[:, k:]
            return _layer_chain.chain_reverse(adjoint, local, steps, xp).real

        return data, pullback

    def _data_and_jacobian_block(self, arr: Any, data: Any, jac: Any, xp: ModuleType) -> None:
        """Write the data ``(n, 2K)`` and ``∂data/∂ln m (n, 2K, n_params)`` of checked models
        ``arr (n, n_params)`` (float64 or float32, as ``data`` and ``jac``) into ``data`` and
        ``jac``."""
        zeta, local, steps = self._local_derivatives(arr, xp)
        dlog = _layer_chain.chain_forward(local, steps)  # ∂ln ζ_1/∂ln m
        _data_from_impedance(zeta, data, xp)
        k = zeta.shape[1]
        rho_a = data[:, :k]
        # ∂ρ_a/∂ln m = 2 ρ_a Re ∂ln ζ_1/∂ln m;  ∂φ/∂ln m = Im ∂ln ζ_1/∂ln m (radians → degrees)
        two_rho_a = 2 * rho_a
        # strided writes (parameter last) in row groups whose output stays in cache
        n = arr.shape[0]
        group = self.write_rows if xp is np else n
        for start in range(0, n, group):
            rows = slice(start, start + group)
            for p in range(dlog.shape[0]):
                xp.multiply(dlog[p, rows].real, two_rho_a[rows], out=jac[rows, :k, p])
                xp.multiply(dlog[p, rows].imag, 180 / np.pi, out=jac[rows, k:, p])
