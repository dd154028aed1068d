"""DC resistivity soundings (VES) over a layered earth: Schlumberger (finite MN or ideal), Wenner.

Physics (docs/methods.md, "DC resistivity"): the resistivity transform T(λ) by the Pekeris
recursion, then one digital-linear-filter weight matrix per geometry (``_hankel``) maps the kernel
on a shared λ grid to every apparent resistivity at once (lagged convolution).
"""

from __future__ import annotations

import abc
from types import ModuleType
from typing import Any

import numpy as np

from . import _hankel, _layer_chain, _validate
from .base import ForwardModel


def _transform_minus_top(rho: Any, thk: Any, lam: Any, xp: ModuleType) -> Any:
    """T(λ) − ρ_1 (Ω·m, (n, K)) for ``rho (n, N)`` Ω·m, ``thk (n, N−1)`` m, ``lam (K,)`` 1/m.

    Pekeris recursion, T_N = ρ_N and T_i = ρ_i (T_{i+1} + ρ_i t_i) / (ρ_i + T_{i+1} t_i),
    t_i = tanh(λ h_i) (sums of positive terms: no cancellation in float32). The top step is
    written as T_1 − ρ_1 = 2ρ_1 (T_2 − ρ_1) E / ((1 + E)(ρ_1 + T_2 t_1)), E = exp(−2 λ h_1), so
    the kernel decays exponentially and keeps its relative accuracy. In-place arithmetic on three
    (n, K) buffers keeps a chunk's working set in cache.
    """
    n, n_layers = rho.shape
    shape = (n, lam.shape[0])
    if n_layers == 1:
        return xp.zeros(shape, dtype=rho.dtype)
    t = xp.empty(shape, dtype=rho.dtype)
    free = [xp.empty(shape, dtype=rho.dtype), xp.empty(shape, dtype=rho.dtype)]
    below = rho[:, n_layers - 1 : n_layers]
    for i in range(n_layers - 2, 0, -1):
        r_i = rho[:, i : i + 1]
        work = free.pop()
        xp.multiply(thk[:, i : i + 1], lam, out=t)
        xp.tanh(t, out=t)
        xp.multiply(t, r_i, out=work)
        work += below  # T_{i+1} + ρ_i t
        t *= below
        t += r_i  # ρ_i + T_{i+1} t
        work /= t
        work *= r_i
        if below.shape[1] != 1:
            free.append(below)
        below = work
    r1 = rho[:, 0:1]
    h1 = thk[:, 0:1]
    xp.multiply(h1, lam, out=t)
    xp.tanh(t, out=t)
    t *= below
    t += r1  # ρ_1 + T_2 t_1
    work = free.pop()
    xp.multiply(-2 * h1, lam, out=work)
    # E below e^-40 is zero at our accuracy; the floor keeps products out of the (slow)
    # subnormal range in the matrix product.
    xp.maximum(work, -40, out=work)
    xp.exp(work, out=work)  # E
    t *= xp.add(work, 1)  # (1 + E)(ρ_1 + T_2 t_1)
    if below.shape[1] == 1:
        below = below - r1
    else:
        below -= r1  # T_2 − ρ_1
    work *= below
    work *= 2 * r1
    work /= t
    return work


def _transform_minus_top_f64(rho: Any, thk: Any, lam: Any, xp: ModuleType) -> Any:
    """Float64 variant of :func:`_transform_minus_top` with one exponential per layer.

    With E_i = exp(−2 λ h_i), tanh(λ h_i) = (1 − E_i)/(1 + E_i); with a = T_{i+1} + ρ_i and
    b = T_{i+1} − ρ_i the Pekeris step is T_i = ρ_i (a + E_i b)/(a − E_i b), and the top one
    T_1 − ρ_1 = 2 ρ_1 b E_1/(a − E_1 b) (a − E b ≥ 2 min(T, ρ) > 0). The rounding of 1 − E
    (absolute 10⁻¹⁶) hidden in a − E b is harmless in float64 but not in float32, where tanh is
    used instead; NumPy's float64 exp is also several times faster than its float64 tanh.
    Per layer: one exponential and six to eight in-place passes over (n, K) buffers.
    """
    n, n_layers = rho.shape
    shape = (n, lam.shape[0])
    if n_layers == 1:
        return xp.zeros(shape, dtype=rho.dtype)
    e, den = xp.empty(shape, dtype=rho.dtype), xp.empty(shape, dtype=rho.dtype)
    below = rho[:, n_layers - 1 : n_layers]  # T_{i+1}: (n, 1) under the last interface
    for j in range(n_layers - 2, -1, -1):
        r_j = rho[:, j : j + 1]
        xp.multiply(-2 * thk[:, j : j + 1], lam, out=e)
        xp.maximum(e, -40, out=e)
        xp.exp(e, out=e)
        if below.shape[1] == 1:
            a, b = below + r_j, below - r_j
        else:
            a = xp.add(below, r_j)
            b = xp.subtract(below, r_j, out=below)
        e *= b  # E b
        xp.subtract(a, e, out=den)  # a − E b
        if j > 0:
            a = xp.add(a, e, out=None if a.shape[1] == 1 else a)
            a /= den
            a *= r_j
            below = a
    e /= den
    e *= 2 * rho[:, 0:1]
    return e


def _kernel(rho: Any, thk: Any, lam: Any, xp: ModuleType) -> Any:
    """T(λ) − ρ_1 with the variant suited to the dtype (float64: exponentials; float32: tanh)."""
    if rho.dtype == np.float64:
        return _transform_minus_top_f64(rho, thk, lam, xp)
    return _transform_minus_top(rho, thk, lam, xp)


def _kernel_and_local_derivatives(
    rho: Any, thk: Any, lam: Any, xp: ModuleType
) -> tuple[Any, Any, list[Any]]:
    """T(λ) − ρ_1 (n, L), the local partials (2N−1, n, L) and the steps, float64.

    ``rho (n, N)`` Ω·m, ``thk (n, N−1)`` m, ``lam (L,)`` 1/m. Entry j of the partials is
    ∂T_i/∂ln m_j of the layer i the parameter belongs to (ρ_i at i, h_i at N + i), except entry 0,
    which is ∂T_1/∂ln ρ_1 − ρ_1 (the part the filter sees, since ρ_a = ρ_1 + (T − ρ_1) @ W);
    steps[k] is ∂T_i/∂T_{i+1} of layer i = N − 2 − k (bottom up), as :mod:`._layer_chain` takes
    them (∂T_1/∂ln m_j is entry j times the steps of the layers above). Per layer i (bottom
    up), with T' = T_{i+1}, r = ρ_i, u = T' − r, s = T' + r, x = λh_i, E = e^{−2x} and
    q = r(1 + E) + T'(1 − E) = s − uE (the Pekeris denominator r + T' tanh x times 1 + E),
    differentiating T_i = r (s + uE)/q gives::

        ∂T_i/∂T'     = 4 r² E / q²
        ∂T_i/∂ln h_i = 4 r (r² − T'²) x E / q²  = −4 r u s x E / q²
        ∂T_i/∂ln ρ_i = T_i − T' ∂T_i/∂T'    (= r (1 − E)(s² + u² E)/q²)
        ∂T_1/∂ln ρ_1 − ρ_1 = (T_1 − ρ_1) − T' ∂T_1/∂T'    (= 2 r E (u² (1 − E) − 2 r²)/q²)
        T_1 − ρ_1 = 2 r u E / q

    (T_i is homogeneous of degree 1 in (ρ_i, T'), so Euler's theorem gives the ρ derivatives
    from the T' one in two passes; their rounding is absolute, ε·T', where the closed forms in
    brackets are relative), and ∂T_N/∂ln ρ_N = ρ_N. One exponential and one reciprocal per
    layer; the (n, L)
    arrays are updated in place (in the output where possible) to keep a chunk's working set in
    cache. x is capped at 20 as in the forward pass (e^{−40}: the layers below are unseen).
    """
    n, n_layers = rho.shape
    shape = (n, lam.shape[0])
    jac = xp.empty((2 * n_layers - 1, *shape), dtype=xp.float64)
    if n_layers == 1:
        jac[0] = 0.0
        return xp.zeros(shape, dtype=xp.float64), jac, []
    below = rho[:, n_layers - 1 : n_layers]  # T': (n, 1) under the bottom interface, then (n, L)
    e, inv_q = xp.empty(shape, dtype=xp.float64), xp.empty(shape, dtype=xp.float64)
    steps = []  # ∂T_i/∂T_{i+1}, bottom up
    for i in range(n_layers - 2, -1, -1):
        r = rho[:, i : i + 1]
        # u = T' − r and s = T' + r; (n, 1) columns below the last interface
        u, s = below - r, below + r
        x = jac[n_layers + i]  # λh_i, then ∂T_i/∂ln h_i in place
        xp.multiply(thk[:, i : i + 1], lam, out=x)
        xp.minimum(x, 20.0, out=x)
        xp.multiply(x, -2.0, out=e)
        xp.exp(e, out=e)
        xp.multiply(e, u, out=inv_q)
        xp.subtract(s, inv_q, out=inv_q)  # q = s − u E
        xp.divide(1.0, inv_q, out=inv_q)
        step = inv_q * inv_q
        step *= e  # E/q²
        x *= step
        if u.shape[1] == 1:
            x *= u * s * (-4 * r)
        else:
            x *= u
            x *= s
            x *= -4 * r  # 4 r (r² − T'²) x E/q², r² − T'² = −u s
        step *= 4 * r * r  # ∂T_i/∂T'
        steps.append(step)
        # T_i(ρ_i, T') is homogeneous of degree 1 (T_i(αr, αT') = αT_i), so by Euler's theorem
        # ∂T_i/∂ln ρ_i = T_i − T' ∂T_i/∂T': two passes, and for the top T_1 − ρ_1 is the kernel
        if i == 0:
            kernel = xp.multiply(e, u)
            kernel *= inv_q
            kernel *= 2 * r  # T_1 − ρ_1
            top = jac[0]
            xp.multiply(below, step, out=top)
            xp.subtract(kernel, top, out=top)
        else:
            upper = xp.multiply(e, u)  # T_i = r (s + u E)/q
            upper += s
            upper *= inv_q
            upper *= r
            d_rho = jac[i]
            xp.multiply(below, step, out=d_rho)
            xp.subtract(upper, d_rho, out=d_rho)
            below = upper
    jac[n_layers - 1] = rho[:, n_layers - 1 : n_layers]  # ∂T_N/∂ln ρ_N = ρ_N
    return kernel, jac, steps


#: OpenBLAS hands a product to its thread pool once m·n·k exceeds 65536 · 4; waking those threads
#: costs milliseconds on a busy machine, far more than the product itself. Products are split into
#: row blocks below that size (our own thread pool already spreads chunks across the cores).
_BLAS_SINGLE_THREAD_WORK = 65536 * 4


def _matmul(a: Any, b: Any, xp: ModuleType) -> Any:
    """``a (n, k) @ b (k, m)``; on NumPy in row blocks small enough for single-threaded BLAS."""
    if xp is not np:
        return a @ b
    rows = max(1, _BLAS_SINGLE_THREAD_WORK // (a.shape[1] * b.shape[1]) - 1)
    if a.shape[0] <= rows:
        return a @ b
    out = np.empty((a.shape[0], b.shape[1]), dtype=np.result_type(a, b))
    for start in range(0, a.shape[0], rows):
        np.matmul(a[start : start + rows], b, out=out[start : start + rows])
    return out


def _apparent_resistivity(
    models: Any, lam: Any, weights: Any, n_layers: int, xp: ModuleType
) -> Any:
    """ρ_a = ρ_1 + (T(λ) − ρ_1) @ W for ``models (n, 2N−1)`` → (n, n_data) Ω·m."""
    rho = models[:, :n_layers]
    thk = models[:, n_layers:]
    kernel = _kernel(rho, thk, lam, xp)
    return rho[:, 0:1] + _matmul(kernel, weights, xp)


class _VES(ForwardModel):
    """Shared solver for the DC arrays: subclasses provide ``_operator_arrays``.

    In single precision each result carries a rounding bound, ε · (|T − ρ_1| @ |W|) / ρ_a (the
    filter weights alternate in sign, so high resistivity contrasts amplify float32 rounding);
    rows whose bound exceeds ``SINGLE_TOLERANCE`` are recomputed in float64.
    """

    #: largest accepted float32 rounding bound (relative) before a row is redone in float64
    SINGLE_TOLERANCE = 5e-4
    #: models per thread-pool task (two idle cores, median of 5 interleaved runs of 100 000
    #: models, 30 AB/2: 512 0.62, 1 024 0.70, 2 048 0.68 million models/s)
    chunk_rows = 1024
    #: the float32 path redoes ~20 % of rows (high contrasts) in float64 and ends up slower than
    #: float64 throughout (bench/forward.py), so double is the default here
    default_precision = "double"
    #: rows per block of the Jacobian's arrays: 50 000 models on two idle cores, forward +
    #: Jacobian over the forward, 128 / 256 / 512 / 1 024 rows: 3.82–3.92 / 3.12–3.19 /
    #: 2.75–2.83 / 2.87–2.97× on an Intel Xeon (AVX-512) host; an AMD EPYC host had 256 4 %
    #: ahead of 512 (docs/benchmarks.md)
    jacobian_block_rows = 512

    @abc.abstractmethod
    def _operator_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """``(λ (n_λ,), W (n_λ, n_data))`` for this geometry (NumPy float64)."""

    def _operator_with_abs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        lam, weights = self._operator_arrays()
        return lam, weights, np.abs(weights)

    def _solve(self, models: Any, xp: ModuleType, dtype: Any) -> Any:
        lam, weights, abs_weights = self._operator(xp, dtype, self._operator_with_abs)
        low = models.astype(dtype)
        rho, thk = low[:, : self.n_layers], low[:, self.n_layers :]
        kernel = _kernel(rho, thk, lam, xp)
        out = rho[:, 0:1] + _matmul(kernel, weights, xp)
        if np.dtype(dtype) == np.float64:
            return out
        # 4 ε: a few roundings per kernel value, each relative ε/2 (ε = float32 machine epsilon)
        bound = _matmul(xp.abs(kernel), abs_weights, xp)
        bound *= 4 * float(np.finfo(np.float32).eps)
        bound /= xp.abs(out)
        # "not ≤" also flags NaN and a zero result (an infinite bound)
        risky = xp.flatnonzero(xp.any(~(bound <= self.SINGLE_TOLERANCE), axis=1))
        out = out.astype(xp.float64)
        if risky.size:
            lam64, weights64, _ = self._operator(xp, xp.float64, self._operator_with_abs)
            exact = models[risky]
            out[risky] = _apparent_resistivity(exact, lam64, weights64, self.n_layers, xp)
        return out

    def forward_and_jacobian(
        self, models: Any, backend: str | None = None, precision: str = "double"
    ) -> tuple[Any, Any]:
        """Data and their exact derivatives with respect to ln of each parameter, in float64
        (the only ``precision``: the filter's alternating weights amplify float32 rounding).

        ``models`` ``(n, n_params)`` or ``(n_params,)`` as for :meth:`forward`. Returns
        ``data (n, K)`` Ω·m (as ``forward(models, precision="double")``) and
        ``jac (n, K, n_params)`` with ``jac[i, d, j] = ∂ρ_a,d/∂ln m_j`` in Ω·m (a parameter × 1.01
        changes datum d by about 0.01·jac), from :func:`_kernel_and_local_derivatives` through
        the same filter matrix W as the data. Same array module as the input.
        """
        return self._blocked_data_and_jacobian(models, backend, precision)

    def forward_and_vjp(
        self, models: Any, backend: str | None = None, precision: str = "double"
    ) -> tuple[Any, Any]:
        """Data and their vector–Jacobian product with respect to ln of each parameter, in
        float64 (the only ``precision``).

        ``models`` as for :meth:`forward`. Returns ``data (n, K)`` Ω·m (as
        :meth:`forward_and_jacobian`) and ``vjp``: ``vjp(cotangent (n, K)) → (n, n_params)`` =
        Σ_d c_d ∂ρ_a,d/∂ln m_j, without forming the Jacobian: the cotangent goes through the
        filter once, c̄ = c Wᵀ (n, L), and is taken against the kernel's local partials from the
        top layer down (one filter product instead of one per parameter). For a loss's gradient
        (the physics-guided training); keeps (2N−1, n, L) values until ``vjp`` is dropped, so
        meant for batches of thousands of models, not millions; on NumPy in blocks of
        ``jacobian_block_rows`` on the thread pool, as the Jacobian. Same array module as the
        input; ``vjp`` may be called more than once.
        """
        return self._blocked_data_and_vjp(models, backend, precision)

    def _data_and_vjp_block(self, arr: Any, xp: ModuleType) -> tuple[Any, Any]:
        """``(ρ_a (n, K), pullback)`` of checked models ``arr (n, n_params)``; ``pullback``
        maps a checked cotangent (n, K) to (n, n_params)."""
        lam, weights, _ = self._operator(xp, xp.float64, self._operator_with_abs)
        rho, thk = arr[:, : self.n_layers], arr[:, self.n_layers :]
        kernel, local, steps = _kernel_and_local_derivatives(rho, thk, lam, xp)
        data = rho[:, 0:1] + _matmul(kernel, weights, xp)

        def pullback(c: Any) -> Any:
            grad = _layer_chain.chain_reverse(_matmul(c, weights.T, xp), local, steps, xp)
            grad[:, 0] += rho[:, 0] * c.sum(axis=1)  # ρ_a = ρ_1 + …: ∂ρ_a/∂ln ρ_1 adds ρ_1
            return grad

        return data, pullback

    def _data_and_jacobian_block(self, arr: Any, data: Any, jac: Any, xp: ModuleType) -> None:
        """Write ``ρ_a (n, K)`` and ``∂ρ_a/∂ln m (n, K, n_params)`` of checked models
        ``arr (n, n_params)`` into ``data`` and ``jac``."""
        lam, weights, _ = self._operator(xp, xp.float64, self._operator_with_abs)
        rho, thk = arr[:, : self.n_layers], arr[:, self.n_layers :]
        kernel, local, steps = _kernel_and_local_derivatives(rho, thk, lam, xp)
        dkernel = _layer_chain.chain_forward(local, steps)
        xp.add(rho[:, 0:1], _matmul(kernel, weights, xp), out=data)
        n_params, n, n_lam = dkernel.shape
        flat = _matmul(dkernel.reshape(n_params * n, n_lam), weights, xp)
        jac[...] = flat.reshape(n_params, n, weights.shape[1]).transpose(1, 2, 0)
        jac[:, :, 0] += rho[:, 0:1]


class Schlumberger(_VES):
    """Schlumberger VES: A, B at ∓AB/2 and M, N at ∓MN/2 on the surface.

    Geometry: ``ab2_m`` (K,) half current-electrode spacings in m; ``mn2_m`` half
    potential-electrode spacings in m — ``None`` for the ideal limit (MN → 0), one number for
    all AB/2, or one per AB/2, each smaller than its AB/2. Data: K apparent resistivities
    ``rho_a`` in Ω·m with the exact geometric factor K = π (L² − l²) / (2 l), L = AB/2, l = MN/2.
    """

    name = "ves-schlumberger"
    axis_name = "ab2_m"
    geometry_fields = ("ab2_m", "mn2_m")

    def _check_geometry(self, geometry: dict[str, Any]) -> dict[str, Any]:
        ab2 = _validate.positive_vector("ab2_m", geometry.get("ab2_m"))
        mn2 = geometry.get("mn2_m")
        if mn2 is None:
            return {"ab2_m": ab2, "mn2_m": None}
        scalar = np.ndim(mn2) == 0 and not isinstance(mn2, (str, bytes))
        if scalar:
            mn2_value = _validate.positive_number("mn2_m", mn2)
            mn2_arr = np.full(ab2.shape, mn2_value)
        else:
            mn2_arr = _validate.positive_vector("mn2_m", mn2)
            if mn2_arr.size != ab2.size:
                raise ValueError(
                    f"mn2_m: expected one number or {ab2.size} values (one per ab2_m), "
                    f"got {mn2_arr.size}"
                )
        bad = np.flatnonzero(mn2_arr >= ab2)
        if bad.size:
            i = int(bad[0])
            raise ValueError(
                f"mn2_m{'' if scalar else f'[{i}]'}: must be smaller than ab2_m[{i}] = {ab2[i]}, "
                f"got {mn2_arr[i]}"
            )
        return {"ab2_m": ab2, "mn2_m": mn2_value if scalar else mn2_arr}

    def _data_layout(self) -> tuple[np.ndarray, tuple[str, ...], list[str]]:
        ab2 = self._geometry["ab2_m"]
        return ab2, ("rho_a",) * ab2.size, [f"rho_a@ab2={v:g}m" for v in ab2]

    def _mn2_array(self) -> np.ndarray | None:
        mn2 = self._geometry["mn2_m"]
        if mn2 is None:
            return None
        return np.broadcast_to(np.asarray(mn2, dtype=float), self._axis.shape)

    def _operator_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        ab2 = self._geometry["ab2_m"]
        mn2 = self._mn2_array()
        if mn2 is None:
            return _hankel.ideal_schlumberger_operator(ab2)
        return _hankel.interval_average_operator(ab2 - mn2, ab2 + mn2)


class Wenner(_VES):
    """Wenner VES: A, M, N, B equally spaced by ``a_m`` (K,) in m; K = 2π a. Data: ``rho_a`` Ω·m."""

    name = "ves-wenner"
    axis_name = "a_m"
    geometry_fields = ("a_m",)

    def _check_geometry(self, geometry: dict[str, Any]) -> dict[str, Any]:
        return {"a_m": _validate.positive_vector("a_m", geometry.get("a_m"))}

    def _data_layout(self) -> tuple[np.ndarray, tuple[str, ...], list[str]]:
        a = self._geometry["a_m"]
        return a, ("rho_a",) * a.size, [f"rho_a@a={v:g}m" for v in a]

    def _operator_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        a = self._geometry["a_m"]
        return _hankel.interval_average_operator(a, 2 * a)
