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

from . import _validate
from ._backend import get_array_module
from .base import ForwardModel

MU0 = 4e-7 * np.pi


def _scaled_impedance(rho: Any, thk: Any, skin: Any, xp: ModuleType) -> tuple[Any, Any]:
    """Real and imaginary parts of ζ_1 in √(Ω·m), each (n, K).

    ``rho (n, N)`` Ω·m, ``thk (n, N−1)`` m, ``skin (K,)`` = √(ω μ_0 / 2), so that a layer's
    h_j / δ_j = h_j / √ρ_j · skin (δ: skin depth). With m = −2 h_j / δ_j,
    E = e^{−2 k_j h_j} = e^m (cos m + i sin m). In-place arithmetic on (n, K) buffers.
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
        m, decay, cos_m, a, b, c = (pool.pop() for _ in range(6))
        xp.multiply((-2 * thk[:, j : j + 1]) / s, skin, out=m)
        xp.maximum(m, -40, out=m)  # e^-40 is zero at our accuracy; avoids subnormals
        xp.exp(m, out=decay)
        xp.cos(m, out=cos_m)
        xp.sin(m, out=m)
        if x is None:  # ζ_{j+1} = √ρ_N is real: Γ is real, one value per model
            x_below = sqrt_rho[:, n_layers - 1 : n_layers]
            decay *= (x_below - s) / (x_below + s)
            xp.multiply(cos_m, decay, out=a)  # g_re
            xp.multiply(m, decay, out=c)  # g_im
            pool += [m, decay, cos_m, b]
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
            cos_m *= decay  # E_re
            m *= decay  # E_im
            xp.multiply(c, cos_m, out=a)
            xp.multiply(b, m, out=decay)
            a -= decay  # g_re
            c *= m
            b *= cos_m
            c += b  # g_im
            pool += [m, decay, cos_m, b, x, y]
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


def _impedance_and_jacobian(rho: Any, thk: Any, skin: Any, xp: ModuleType) -> tuple[Any, Any]:
    """ζ_1 (n, K) complex and its derivatives ∂ζ_1/∂ln m (2N−1, n, K), all complex128.

    ``rho (n, N)`` Ω·m, ``thk (n, N−1)`` m, ``skin (K,)`` = √(ω μ_0 / 2). Per layer j (bottom up),
    with ζ' = ζ_{j+1}, s = √ρ_j, θ = 2(1 + i) h_j skin / s, E = e^{−θ}, D = ζ' + s,
    g = E (ζ' − s)/D, q = ∂ζ_j/∂g = 2s/(1 − g)², the local partials are::

        ∂ζ_j/∂ζ'     = q E 2s / D²
        ∂ζ_j/∂ln h_j = −q g θ
        ∂ζ_j/∂ln ρ_j = ½ (ζ_j − ζ' ∂ζ_j/∂ζ' + q g θ)

    and ∂ζ_N/∂ln ρ_N = ½ √ρ_N; the chain rule from the top multiplies the ∂ζ_j/∂ζ' of the layers
    above. h_j skin / s is capped at 20 as in the forward pass (e^{−40}: the layer below is unseen).
    """
    n, n_layers = rho.shape
    shape = (n, skin.shape[0])
    s = xp.sqrt(rho)
    zeta = xp.broadcast_to(s[:, n_layers - 1 : n_layers], shape).astype(xp.complex128)
    jac = xp.empty((2 * n_layers - 1, *shape), dtype=xp.complex128)  # parameter axis first
    below = []
    for j in range(n_layers - 2, -1, -1):
        sj = s[:, j : j + 1]
        theta = (2 + 2j) * xp.minimum((thk[:, j : j + 1] / sj) * skin, 20.0)
        e = xp.exp(-theta)
        inv_d = 1 / (zeta + sj)
        g = e * (zeta - sj) * inv_d
        inv_om = 1 / (1 - g)
        q = (2 * sj) * inv_om * inv_om
        qgt = q * g * theta
        dz_below = q * e * (2 * sj) * inv_d * inv_d
        new = sj * (1 + g) * inv_om
        jac[j] = 0.5 * (new - zeta * dz_below + qgt)
        xp.negative(qgt, out=jac[n_layers + j])
        below.append(dz_below)
        zeta = new
    jac[n_layers - 1] = 0.5 * s[:, n_layers - 1 : n_layers]
    chain = None  # ∂ζ_1/∂ζ_j, from the top down
    for j in range(1, n_layers):
        step = below[n_layers - 1 - j]  # ∂ζ_{j−1}/∂ζ_j (0-based layers; below is bottom up)
        chain = step if chain is None else chain * step
        jac[j] *= chain
        if j < n_layers - 1:
            jac[n_layers + j] *= chain
    return zeta, jac


@lru_cache(maxsize=1)
def _atan_coefficients() -> np.ndarray:
    """Coefficients p of atan(r) ≈ r · Σ p_i r^{2i} on |r| ≤ 1 (Chebyshev fit, error < 3e-5°)."""
    u = 0.5 + 0.5 * np.cos(np.linspace(0.0, np.pi, 2001))
    r = np.sqrt(u)
    ratio = np.ones_like(r)
    ratio[r > 0] = np.arctan(r[r > 0]) / r[r > 0]
    fit = np.polynomial.chebyshev.Chebyshev.fit(u, ratio, 6, domain=[0.0, 1.0])
    return fit.convert(kind=np.polynomial.Polynomial, domain=[0.0, 1.0], window=[0.0, 1.0]).coef


def _phase_deg(x: Any, y: Any, xp: ModuleType, out: Any) -> None:
    """Write 45° + arg ζ in degrees into ``out`` for x > 0, |y| ≤ x (arg ζ ∈ [−45°, 45°]).

    float32: the arctan polynomial (degrees folded into its coefficients); float64: ``arctan2``.
    """
    if x.dtype == np.float64:
        xp.arctan2(y, x, out=out)
        out *= 180 / np.pi
        out += 45
        return
    coef = _atan_coefficients() * (180 / np.pi)
    ratio = y / x
    u = ratio * ratio
    xp.multiply(u, coef[-1], out=out)
    out += coef[-2]
    for c in coef[-3::-1]:
        out *= u
        out += c
    out *= ratio
    out += 45


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
    chunk_rows = 4096

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

    def forward_and_jacobian(self, models: Any, backend: str | None = None) -> tuple[Any, Any]:
        """Data and their exact derivatives with respect to ln of each parameter, in float64.

        ``models`` ``(n, n_params)`` or ``(n_params,)`` as for :meth:`forward`. Returns
        ``data (n, 2K)`` (as ``forward(models, precision="double")``) and
        ``jac (n, 2K, n_params)`` with ``jac[i, d, j] = ∂data_d/∂ln m_j``: Ω·m for ρ_a and
        degrees for phases per unit relative change of parameter j (a parameter × 1.01 changes
        datum d by about 0.01·jac). Same array module as the input.
        """
        xp = get_array_module(models, backend=backend)
        arr = self.check_models(models, backend=backend)
        (skin,) = self._operator(xp, xp.float64, self._skin)
        zeta, jac = _impedance_and_jacobian(
            arr[:, : self.n_layers], arr[:, self.n_layers :], skin, xp
        )
        n, k = zeta.shape
        data = xp.empty((n, 2 * k))
        data[:, k:] = xp.angle(zeta, deg=True)
        data[:, k:] += 45
        rho_a = data[:, :k]
        xp.multiply(zeta.real, zeta.real, out=rho_a)
        rho_a += zeta.imag**2
        jac *= 1 / zeta  # ∂ln ζ_1/∂ln m, (n_params, n, K)
        # ∂ρ_a/∂ln m = 2 ρ_a Re ∂ln ζ_1/∂ln m;  ∂φ/∂ln m = Im ∂ln ζ_1/∂ln m (radians → degrees)
        out = xp.empty((n, 2 * k, jac.shape[0]))
        out[:, :k] = (jac.real * (2 * rho_a)).transpose(1, 2, 0)
        out[:, k:] = (jac.imag * (180 / np.pi)).transpose(1, 2, 0)
        return data, out
