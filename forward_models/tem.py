"""Transient EM (TEM) soundings over a layered earth: central-loop and coincident-loop receivers.

Physics (docs/methods.md, "Transient EM"): quasi-static, μ = μ_0, time dependence e^{iωt}. The TE
reflection coefficient of the layered earth for a source on the surface is

    r_TE = (λ − Y_1) / (λ + Y_1),   Y_N = u_N,
    Y_j = u_j (Y_{j+1}(1 + E_j) + u_j(1 − E_j)) / (u_j(1 + E_j) + Y_{j+1}(1 − E_j)),

with u_j = √(λ² + iωμ_0/ρ_j) and E_j = e^{−2 u_j h_j} (computed by the equivalent
reflection-coefficient recursion in ``_tem_kernel``, as are its exact derivatives). The secondary
field B(ω) per ampere is one weight vector over λ (``_tem_operator.loop_operator``), and the data
at the gates one matrix over a grid of ω (``_tem_operator.time_operator``): the kernel is
evaluated once per model on a shared (ω, λ) grid and everything after it is two matrix products.

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

from . import _tem_kernel, _tem_operator, _validate, cole_cole
from ._backend import get_array_module
from .base import ForwardModel

MU0 = _tem_operator.MU0


def _reflection(
    rho: Any, thk: Any, lam: Any, omega: Any, xp: ModuleType, fast_trig: bool = False
) -> tuple[Any, Any]:
    """r_TE(λ, ω) at the surface on the grid ω × λ, ``(n, n_ω, n_λ)`` real and imaginary parts.

    ``rho (n, N)`` Ω·m, ``thk (n, N−1)`` m, ``lam (n_λ,)`` 1/m, ``omega (n_ω,)`` rad/s (see
    :mod:`._tem_kernel`; ``fast_trig``: the phase of e^{−2uh} in float32).
    """
    lam, omega = xp.asarray(lam, dtype=xp.float64), xp.asarray(omega, dtype=xp.float64)
    grid = _tem_kernel.PairGrid(xp.tile(lam, omega.size), xp.repeat(omega, lam.size), xp)
    rho = xp.asarray(rho, dtype=xp.float64)
    ws = _tem_kernel.Workspace(xp, (rho.shape[0], grid.size))
    im, re = _tem_kernel.reflection(
        1 / rho, xp.asarray(thk, dtype=xp.float64), grid, ws, xp, fast_trig, want_real=True
    )
    shape = (rho.shape[0], omega.size, lam.size)
    return re.reshape(shape).copy(), im.reshape(shape).copy()


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
    #: rows per thread-pool task and kernel values (models × ω × λ) per block on NumPy. With the
    #: 47-point filter (2 444 values per model for 30 gates) 32 000 / 512 against 16 000 / 256:
    #: 11 200 against 8 400 models/s on two idle cores (median of 6 interleaved runs, 8 192
    #: 3-layer models; 28 000–40 000 within 1 %, 24 000 and 48 000 lower): fewer NumPy calls per
    #: model, so less interpreter time and GIL hand-over between the two threads
    chunk_rows = 512
    block_elements = 32_000
    #: the same for forward + Jacobian, counted as 2·p values per kernel value: 128 000 (5
    #: models per block, 3 layers) against 32 000 (1 model): 2 860 against 1 840 models/s on two
    #: idle cores (median of 4; 64 000: 2 360, 256 000: 2 510)
    jacobian_block_elements = 128_000
    #: float64 throughout: with E's phase through the half-angle tangent it costs ~5 % more than
    #: "single" (float32 phase, within 0.2 %), which was 1.5–1.7× faster with float64 cos/sin
    default_precision = "double"

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
        gates = (g["gate_open_s"], g["gate_close_s"])
        starts = g["times_s"] if gates[0] is None else gates[0]
        earliest = float(starts.min()) - g["ramp_off_s"]  # the ramp averages back to t − τ
        lam, weights = _tem_operator.loop_operator(self.receiver, shape, size, earliest)
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

    def _pairs(self, xp: ModuleType) -> _tem_kernel.PairGrid:
        """The kernel's (λ, ω) pairs, λ-major with λ ascending, so that the pairs that see a
        layer are a prefix (``_tem_kernel.active_pairs``; cached per array module)."""
        key = ("pairs", xp.__name__)
        if key not in self._operators:
            lam, _w, omega, *_ = self._operator(xp, xp.float64, self._build)
            self._operators[key] = _tem_kernel.PairGrid(
                xp.repeat(lam, omega.size), xp.tile(omega, lam.size), xp
            )
        return self._operators[key]

    def _to_data(self, im: Any, re: Any, xp: ModuleType) -> Any:
        """Secondary-field data ``(nb, K)`` from Im r_TE and Re r_TE (used with low-pass filters
        only; may be None otherwise), each ``(nb, P)``: linear, so derivatives map the same way."""
        lam, weights, omega, a_im, a_re, primary = self._operator(xp, xp.float64, self._build)
        shape = (im.shape[0], lam.size, omega.size)
        out = (weights @ im.reshape(shape)) @ a_im
        if a_re.shape[0]:
            out += (weights @ re.reshape(shape)) @ a_re
        return out

    def _solve(self, models: Any, xp: ModuleType, dtype: Any) -> Any:
        *_, a_re, primary = self._operator(xp, xp.float64, self._build)
        grid = self._pairs(xp)
        # "single": float64 arithmetic with float32 trigonometry (float32 throughout loses the
        # late times: the sine transform cancels ~1e5-fold); "double": float64 throughout
        fast_trig = dtype == xp.float32
        n = models.shape[0]
        out = xp.empty((n, self.n_data))
        rows = max(1, self.block_elements // grid.size) if xp is np else n
        sigma, thk = 1 / models[:, : self.n_layers], models[:, self.n_layers :]
        workspaces: dict[int, _tem_kernel.Workspace] = {}
        for start in range(0, n, rows):
            stop = min(n, start + rows)
            if stop - start not in workspaces:
                workspaces[stop - start] = _tem_kernel.Workspace(xp, (stop - start, grid.size))
            im, re = _tem_kernel.reflection(
                sigma[start:stop],
                thk[start:stop],
                grid,
                workspaces[stop - start],
                xp,
                fast_trig,
                want_real=a_re.shape[0] > 0,
                active=_tem_kernel.active_pairs(thk[start:stop], grid),
            )
            out[start:stop] = self._to_data(im, re, xp)
        if a_re.shape[0]:
            out += primary
        return out

    def _solve_with_jacobian(self, models: Any, xp: ModuleType) -> tuple[Any, Any]:
        """Data ``(n, K)`` and ``∂data/∂ln m`` ``(n, K, n_params)``, float64."""
        *_, a_re, primary = self._operator(xp, xp.float64, self._build)
        grid = self._pairs(xp)
        n, p = models.shape
        data, jac = xp.empty((n, self.n_data)), xp.empty((n, self.n_data, p))
        rows = max(1, self.jacobian_block_elements // (2 * p * grid.size)) if xp is np else n
        for start in range(0, n, rows):
            block = models[start : start + rows]
            thk = block[:, self.n_layers :]
            r, grad = _tem_kernel.reflection_gradient(
                1 / block[:, : self.n_layers], thk, grid, xp, _tem_kernel.active_pairs(thk, grid)
            )
            data[start : start + rows] = self._to_data(r.imag, r.real, xp)
            flat = grad.reshape(-1, grid.size)  # (p·nb, P): every column in one product
            cols = self._to_data(flat.imag, flat.real, xp).reshape(p, block.shape[0], -1)
            jac[start : start + rows] = cols.transpose(1, 2, 0)
        if a_re.shape[0]:
            data += primary
        return data, jac

    def forward_cole_cole(
        self,
        models: Any,
        chargeability: Any,
        tau_s: Any,
        c: Any,
        backend: str | None = None,
    ) -> Any:
        """Data ``(n, K)`` of layered earths whose layers polarise (Cole–Cole), float64.

        ``models (n, 2N−1)`` as for :meth:`forward` (ρ_0, the DC resistivities, then the
        thicknesses); ``chargeability``, ``tau_s`` (s) and ``c`` per layer, each ``(n, N)``,
        ``(N,)`` or a scalar (:mod:`.cole_cole`; m = 0 is a non-polarisable layer). The same
        operators as :meth:`forward`, on the reflection coefficient of
        ``_tem_kernel.reflection_dispersive``.
        A polarisable earth can reverse the sign of the transient; the data then go negative.
        """
        xp = get_array_module(models, backend=backend)
        arr = self.check_models(models, backend=backend)
        n = arr.shape[0]
        ip = [xp.asarray(a) for a in cole_cole.check(chargeability, tau_s, c, (n, self.n_layers))]
        lam, _w, omega, _a, a_re, primary = self._operator(xp, xp.float64, self._build)
        grid = self._pairs(xp)
        out = xp.empty((n, self.n_data))
        rows = max(1, self.block_elements // (self.n_layers * grid.size))
        for start in range(0, n, rows):
            block = slice(start, min(n, start + rows))
            sigma = cole_cole.conductivity(
                arr[block, : self.n_layers], *(a[block] for a in ip), omega, xp
            )
            sigma = xp.tile(sigma, (1, 1, lam.size))  # the pairs are λ-major
            r = _tem_kernel.reflection_dispersive(sigma, arr[block, self.n_layers :], grid, xp)
            out[block] = self._to_data(r.imag, r.real, xp)
        if a_re.shape[0]:
            out += primary
        return out

    def forward_and_jacobian(
        self, models: Any, backend: str | None = None, precision: str = "double"
    ) -> tuple[Any, Any]:
        """Data and their derivatives with respect to ln of each parameter, in float64 (the
        only ``precision``).

        Exact derivatives of the discretised forward model: reverse accumulation through the
        reflection-coefficient recursion (``_tem_kernel.reflection_gradient``), then the same
        linear operators as the data. Returns ``data (n, K)`` and ``jac (n, K, n_params)`` with
        ``jac[i, d, j] = ∂data_d/∂ln m_j``; same array module as the input.
        """
        xp, arr = self._checked(models, backend, precision)
        if xp is not np or arr.shape[0] <= self.chunk_rows:
            return self._solve_with_jacobian(arr, xp)
        data, jac = self._in_chunks(lambda rows: self._solve_with_jacobian(rows, np), arr)
        return data, jac

    def forward_and_vjp(
        self, models: Any, backend: str | None = None, precision: str = "double"
    ) -> tuple[Any, Any]:
        """Data ``(n, K)`` and ``vjp``: ``vjp(cotangent (n, K)) → (n, n_params)`` =
        Σ_d c_d ∂data_d/∂ln m_j, as the DC and MT models offer; here the contraction of
        :meth:`forward_and_jacobian` (whose derivatives are already reverse accumulation per
        frequency, so a fused product would save only the contraction)."""
        data, jac = self.forward_and_jacobian(models, backend, precision)
        xp = get_array_module(data)

        def vjp(cotangent: Any) -> Any:
            c = self._cotangent(cotangent, data.shape[0], xp, data.dtype)
            return xp.einsum("nd,ndp->np", c, jac)

        return data, vjp


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
