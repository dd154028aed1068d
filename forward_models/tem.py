"""Transient EM (TEM) soundings over a layered earth: central-loop and coincident-loop receivers.

Physics (docs/methods.md, "Transient EM"): quasi-static, μ = μ_0, time dependence e^{iωt}. The TE
reflection coefficient of the layered earth for a source on the surface is

    r_TE = (λ − Y_1) / (λ + Y_1),   Y_N = u_N,
    Y_j = u_j (Y_{j+1}(1 + E_j) + u_j(1 − E_j)) / (u_j(1 + E_j) + Y_{j+1}(1 − E_j)),

with u_j = √(λ² + iωμ_0/ρ_j) and E_j = e^{−2 u_j h_j}. The secondary field B(ω) per ampere is
one weight vector over λ (``_tem_operator.loop_operator``), and the data at the gates one matrix
over a grid of ω (``_tem_operator.time_operator``): the kernel is evaluated once per model on a
shared (ω, λ) grid and everything after it is two matrix products.

Data: −dB_z/dt per ampere of transmitter current (T/s per A = V/(A·m²)), z up, positive while
the field decays; times counted from the start of a linear turn-off ramp of ``ramp_off_s``
(0: an ideal step-off). Multiplied by ``tx_turns`` · ``rx_turns``, and by ``rx_area_m2`` when
given (then the data are receiver volts per transmitter ampere, V/A).
"""

from __future__ import annotations

import numbers
from types import ModuleType
from typing import Any

import numpy as np

from . import _tem_operator, _validate
from ._backend import get_array_module
from .base import ForwardModel

MU0 = _tem_operator.MU0
#: relative step in ln m of the finite-difference Jacobian (double precision)
JACOBIAN_STEP = 1e-4


def _sqrt_complex(a: Any, b: Any, xp: ModuleType) -> tuple[Any, Any]:
    """√(a + ib) for a ≥ 0, b > 0 as (real, imag) arrays (principal root, real part > 0)."""
    re = a * a + b * b
    xp.sqrt(re, out=re)  # |a + ib| (hypot is several times slower)
    re += a
    re *= 0.5
    xp.sqrt(re, out=re)
    im = b / re
    im *= 0.5
    return re, im


def _cos_sin(phase: Any, xp: ModuleType, fast: bool) -> tuple[Any, Any]:
    """cos and sin of ``phase`` (rad). ``fast``: with NumPy's float32 SIMD kernels (~15× faster
    than float64). Used for E = e^{−2uh} = |E| (cos φ + i sin φ) with |E| ≤ e^{−|φ|} (Re u ≥
    |Im u|), the float32 error |φ|·6e-8 of the phase costs E at most 2.2e-8 absolute."""
    if not fast:
        return xp.cos(phase), xp.sin(phase)
    reduced = phase.astype(xp.float32)
    return xp.cos(reduced).astype(phase.dtype), xp.sin(reduced).astype(phase.dtype)


def _interface(ur: Any, ui: Any, vr: Any, vi: Any, delta_b: Any, xp: ModuleType) -> tuple:
    """(u − v)/(u + v) = iΔb/(u + v)² without cancellation (u² − v² = iΔb), as (re, im)."""
    sr = ur + vr
    si = ui + vi
    s2r = sr * sr
    s2r -= si * si
    s2i = sr * si
    s2i *= 2
    den = s2r * s2r
    den += s2i * s2i
    xp.divide(delta_b, den, out=den)
    s2i *= den
    s2r *= den
    return s2i, s2r


def _reflection(
    rho: Any, thk: Any, lam: Any, omega: Any, xp: ModuleType, fast_trig: bool = False
) -> tuple[Any, Any]:
    """r_TE(λ, ω) at the surface, ``(n, n_ω, n_λ)`` real and imaginary parts.

    ``rho (n, N)`` Ω·m, ``thk (n, N−1)`` m, ``lam (n_λ,)`` 1/m, ``omega (n_ω,)`` rad/s, all of
    one real dtype. Reflection-coefficient recursion from the bottom up, R = (r + R E)/(1 + r R E),
    with interface coefficients r = iωμ_0(σ_a − σ_b)/(u_a + u_b)² (no cancellation at low
    frequencies) and E = e^{−2uh}, in real arithmetic. ``fast_trig``: the phase of E in float32
    (see :func:`_cos_sin`).
    """
    n, n_layers = rho.shape
    a = (lam * lam)[None, None, :]
    wmu = (omega * MU0)[None, :, None]
    b = [wmu * (1 / rho[:, j])[:, None, None] for j in range(n_layers)]  # (n, n_ω, 1)
    u = [_sqrt_complex(a, bj, xp) for bj in b]
    if n_layers == 1:
        zero = xp.zeros_like(a)
        return _interface(
            xp.broadcast_to(lam[None, None, :], u[0][0].shape), zero, *u[0], -b[0], xp
        )
    rr, ri = _interface(*u[-2], *u[-1], b[-2] - b[-1], xp)
    for k in range(n_layers - 2, -1, -1):
        if k > 0:
            cr, ci = _interface(*u[k - 1], *u[k], b[k - 1] - b[k], xp)
        else:
            lam3 = xp.broadcast_to(lam[None, None, :], u[0][0].shape)
            cr, ci = _interface(lam3, xp.zeros_like(a), *u[0], -b[0], xp)
        h2 = (-2 * thk[:, k])[:, None, None]
        amp = u[k][0] * h2
        xp.maximum(amp, -40, out=amp)
        xp.exp(amp, out=amp)
        phase = u[k][1] * h2
        xp.maximum(phase, -40, out=phase)
        er, ei = _cos_sin(phase, xp, fast_trig)
        er *= amp
        ei *= amp  # E = amp (cos φ + i sin φ), φ = −2 h Im u
        xr = rr * er
        xr -= ri * ei
        xi = rr * ei
        xi += ri * er  # X = R E
        nr = cr + xr
        ni = ci + xi  # numerator r + X
        dr = cr * xr
        dr -= ci * xi
        dr += 1
        di = cr * xi
        di += ci * xr  # denominator 1 + r X
        den = dr * dr
        den += di * di
        rr = nr * dr
        rr += ni * di
        rr /= den
        ri = ni * dr
        ri -= nr * di
        ri /= den
    return rr, ri


def _turns(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name}: expected a whole number of turns ≥ 1, got {value!r}")
    return int(value)


class _TEMLoop(ForwardModel):
    """Shared geometry checks, operators and solver of the TEM loop models."""

    axis_name = "times_s"
    geometry_fields = (
        "times_s",
        "loop_radius_m",
        "loop_side_m",
        "ramp_off_s",
        "gate_open_s",
        "gate_close_s",
        "lowpass_hz",
        "tx_turns",
        "rx_turns",
        "rx_area_m2",
    )
    receiver: str
    chunk_rows = 256
    #: kernel elements (models × ω × λ) per evaluation on NumPy: ~160 kB work arrays stay in cache
    block_bytes = 160_000
    default_precision = "single"

    def _check_geometry(self, geometry: dict[str, Any]) -> dict[str, Any]:
        times = _validate.positive_vector("times_s", geometry.get("times_s"))
        radius, side = geometry.get("loop_radius_m"), geometry.get("loop_side_m")
        if (radius is None) == (side is None):
            raise ValueError("loop_radius_m: give exactly one of loop_radius_m and loop_side_m")
        out: dict[str, Any] = {"times_s": times}
        out["loop_radius_m"] = (
            None if radius is None else _validate.positive_number("loop_radius_m", radius)
        )
        out["loop_side_m"] = (
            None if side is None else _validate.positive_number("loop_side_m", side)
        )
        ramp = geometry.get("ramp_off_s")
        ramp = 0.0 if ramp is None else _validate.non_negative_number("ramp_off_s", ramp)
        out["ramp_off_s"] = ramp
        out.update(self._check_gates(geometry, times, ramp))
        lowpass = geometry.get("lowpass_hz")
        if lowpass is not None and np.size(lowpass) == 0:
            lowpass = None
        out["lowpass_hz"] = (
            None if lowpass is None else _validate.positive_vector("lowpass_hz", lowpass)
        )
        if out["lowpass_hz"] is not None and self.receiver == "coincident":
            raise ValueError(
                "lowpass_hz: low-pass filters are modelled for central-loop receivers only "
                "(a coincident loop's primary coupling depends on its wire)"
            )
        for name in ("tx_turns", "rx_turns"):
            value = geometry.get(name)
            out[name] = 1 if value is None else _turns(name, value)
        area = geometry.get("rx_area_m2")
        out["rx_area_m2"] = None if area is None else _validate.positive_number("rx_area_m2", area)
        return out

    @staticmethod
    def _check_gates(geometry: dict[str, Any], times: np.ndarray, ramp: float) -> dict[str, Any]:
        opened, closed = geometry.get("gate_open_s"), geometry.get("gate_close_s")
        if (opened is None) != (closed is None):
            raise ValueError("gate_open_s: give both gate_open_s and gate_close_s, or neither")
        if opened is None:
            starts = times
            out = {"gate_open_s": None, "gate_close_s": None}
        else:
            go = _validate.positive_vector("gate_open_s", opened)
            gc = _validate.positive_vector("gate_close_s", closed)
            for name, arr in (("gate_open_s", go), ("gate_close_s", gc)):
                if arr.size != times.size:
                    raise ValueError(f"{name}: {arr.size} values but times_s has {times.size}")
            bad = np.flatnonzero(~((go < times) & (times < gc)))
            if bad.size:
                i = bad[0]
                raise ValueError(
                    f"gate_open_s[{i}]: the gate [{go[i]:g}, {gc[i]:g}] s must contain "
                    f"times_s[{i}] = {times[i]:g} s"
                )
            starts = go
            out = {"gate_open_s": go, "gate_close_s": gc}
        bad = np.flatnonzero(starts <= ramp)
        if bad.size:
            name = "times_s" if opened is None else "gate_open_s"
            raise ValueError(
                f"{name}[{bad[0]}]: {starts[bad[0]]:g} s is not after the turn-off ramp "
                f"(ramp_off_s = {ramp:g} s; times are counted from the start of the ramp)"
            )
        return out

    def _data_layout(self) -> tuple[np.ndarray, tuple[str, ...], list[str]]:
        times = self._geometry["times_s"]
        return times, ("dbzdt",) * times.size, [f"dbzdt@t={v:g}s" for v in times]

    def _loop(self) -> tuple[str, float]:
        radius = self._geometry["loop_radius_m"]
        return (
            ("circle", radius) if radius is not None else ("square", self._geometry["loop_side_m"])
        )

    def _build(self) -> tuple[np.ndarray, ...]:
        """Geometry-only arrays: λ, W, ω, A_im, A_re (or empty), primary term (or empty)."""
        g = self._geometry
        shape, size = self._loop()
        lam, weights = _tem_operator.loop_operator(self.receiver, shape, size)
        gates = (g["gate_open_s"], g["gate_close_s"])
        omega, a_im, a_re, c = _tem_operator.time_operator(
            tuple(g["times_s"].tolist()),
            g["ramp_off_s"],
            None if gates[0] is None else tuple(gates[0].tolist()),
            None if gates[1] is None else tuple(gates[1].tolist()),
            () if g["lowpass_hz"] is None else tuple(g["lowpass_hz"].tolist()),
        )
        scale = g["tx_turns"] * g["rx_turns"] * (g["rx_area_m2"] or 1.0)
        if a_re is None:
            a_re, primary = np.zeros((0, a_im.shape[1])), np.zeros(0)
        else:
            primary = _tem_operator.primary_field(shape, size) * c * scale
            a_re = a_re * scale
        return lam, weights, omega, a_im * scale, a_re, primary

    def _solve(self, models: Any, xp: ModuleType, dtype: Any) -> Any:
        lam, weights, omega, a_im, a_re, primary = self._operator(xp, xp.float64, self._build)
        # "single": float64 arithmetic with float32 trigonometry (float32 throughout loses the
        # late times: the sine transform cancels ~1e5-fold); "double": float64 throughout
        fast_trig = dtype == xp.float32
        n = models.shape[0]
        out = xp.empty((n, a_im.shape[1]))
        per_row = lam.size * omega.size * 8
        rows = max(1, self.block_bytes // per_row) if xp is np else n
        for start in range(0, n, rows):
            block = models[start : start + rows]
            rr, ri = _reflection(
                block[:, : self.n_layers], block[:, self.n_layers :], lam, omega, xp, fast_trig
            )
            part = (ri @ weights) @ a_im
            if a_re.shape[0]:
                part += (rr @ weights) @ a_re
                part += primary
            out[start : start + rows] = part
        return out

    def forward_and_jacobian(self, models: Any, backend: str | None = None) -> tuple[Any, Any]:
        """Data and their derivatives with respect to ln of each parameter, in float64.

        Central finite differences in ln m (relative step ``JACOBIAN_STEP``), all models and
        perturbations in one batch. Returns ``data (n, K)`` and ``jac (n, K, n_params)`` with
        ``jac[i, d, j] = ∂data_d/∂ln m_j``; same array module as the input.
        """
        xp = get_array_module(models, backend=backend)
        arr = self.check_models(models, backend=backend)
        n, p = arr.shape
        steps = xp.exp(JACOBIAN_STEP * xp.eye(p))  # (p, p) factors
        batch = xp.concatenate(
            [
                arr,
                (arr[:, None, :] * steps).reshape(-1, p),
                (arr[:, None, :] / steps).reshape(-1, p),
            ]
        )
        out = self.forward(batch, backend=backend, precision="double")
        data = out[:n]
        up = out[n : n + n * p].reshape(n, p, -1)
        down = out[n + n * p :].reshape(n, p, -1)
        jac = ((up - down) / (2 * JACOBIAN_STEP)).transpose(0, 2, 1)
        return data, jac


class TEMCentralLoop(_TEMLoop):
    """Central-loop TEM: −dB_z/dt at the centre of a circular or square transmitter loop.

    Geometry: ``times_s`` (K,) gate times in s from the start of the turn-off ramp; exactly one
    of ``loop_radius_m`` / ``loop_side_m``; optional ``ramp_off_s`` (linear ramp, s),
    ``gate_open_s``/``gate_close_s`` (K,) (boxcar gate averages), ``lowpass_hz`` (first-order
    low-pass filters, cut-offs in Hz), ``tx_turns``, ``rx_turns``, ``rx_area_m2``.
    """

    name = "tem-central-loop"
    receiver = "central"


class TEMCoincidentLoop(_TEMLoop):
    """Coincident (single-loop) TEM: the mean −dB_z/dt over the transmitter loop's own area.

    Same geometry keywords as ``tem-central-loop`` except ``lowpass_hz`` (not modelled here).
    """

    name = "tem-coincident-loop"
    receiver = "coincident"
