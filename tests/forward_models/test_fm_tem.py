"""TEM forward models: the Ward & Hohmann half-space, the empymod reference cases, waveforms."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import forward_models
from inversion.served.tem import CONCAVE_MIN_REL, concave_early_gates

MU0 = 4e-7 * np.pi
REFERENCE = Path(__file__).resolve().parents[1] / "data" / "forward_reference.json"
TEM_CASES = [
    c
    for c in json.loads(REFERENCE.read_text())["cases"]
    if c["forward_model"] == "tem-central-loop"
]


def ward_hohmann(times_s: np.ndarray, rho_ohmm: float, radius_m: float) -> np.ndarray:
    """−dB_z/dt per A (V/(A·m²)) at the centre of a loop on a half-space: Ward & Hohmann (1988)
    eq. 4.98, −∂b_z/∂t = ρ/a³ [3 erf(θa) − 2/√π θa (3 + 2θ²a²) e^{−θ²a²}], θ = √(μ_0/(4ρt)).

    For θa < 0.5 the bracket is summed as its series Σ_{n≥2} (−1)^n 8(n−1)/((2n+1)(n−1)!)
    (θa)^{2n+1}/√π, which avoids the cancellation of the closed form at late times.
    """
    out = []
    for t in np.atleast_1d(times_s):
        x = math.sqrt(MU0 / (4 * rho_ohmm * t)) * radius_m
        if x >= 0.5:
            bracket = 3 * math.erf(x) - 2 / math.sqrt(math.pi) * x * (3 + 2 * x * x) * math.exp(
                -x * x
            )
        else:
            bracket = (
                sum(
                    (-1) ** n
                    * 4
                    * (n - 1)
                    / ((2 * n + 1) * math.factorial(n - 1))
                    * x ** (2 * n + 1)
                    for n in range(2, 30)
                )
                * 2
                / math.sqrt(math.pi)
            )
        out.append(rho_ohmm / radius_m**3 * bracket)
    return np.array(out)


def test_series_and_closed_form_agree_where_both_are_accurate():
    t = np.array([1e-4])
    x = math.sqrt(MU0 / (4 * 100.0 * t[0])) * 20.0  # θa ≈ 0.35: series branch
    closed = 3 * math.erf(x) - 2 / math.sqrt(math.pi) * x * (3 + 2 * x * x) * math.exp(-x * x)
    assert ward_hohmann(t, 100.0, 20.0)[0] == pytest.approx(100.0 / 20.0**3 * closed, rel=1e-9)


@pytest.mark.parametrize("rho", [1.0, 30.0, 300.0, 3000.0, 10000.0])
@pytest.mark.parametrize("radius", [5.0, 25.0, 100.0])
def test_half_space_matches_ward_hohmann(rho, radius):
    """0.5 % over 1e-5–1e-2 s wherever the response is above 1e-13 of its early-time value
    3ρ/a³ (a dynamic range beyond any receiver's; docs/methods.md)."""
    times = np.geomspace(1e-5, 1e-2, 31)
    fm = forward_models.create("tem-central-loop", n_layers=1, times_s=times, loop_radius_m=radius)
    exact = ward_hohmann(times, rho, radius)
    out = fm.forward([rho])[0]
    early = 3 * rho / radius**3
    seen = exact >= 1e-13 * early
    assert seen.sum() >= 8
    rel = np.abs(out[seen] / exact[seen] - 1)
    assert rel.max() <= 0.005, f"off by {rel.max():.2e} at t = {times[seen][rel.argmax()]:.2e} s"


@pytest.mark.parametrize("rho", [1.0, 10.0, 100.0, 1000.0])
@pytest.mark.parametrize("radius", [10.0, 25.0, 100.0])
def test_half_space_whole_window_for_common_loops(rho, radius):
    times = np.geomspace(1e-5, 1e-2, 31)
    fm = forward_models.create("tem-central-loop", n_layers=1, times_s=times, loop_radius_m=radius)
    rel = np.abs(fm.forward([rho])[0] / ward_hohmann(times, rho, radius) - 1)
    assert rel.max() <= 0.005, f"off by {rel.max():.2e} at t = {times[rel.argmax()]:.2e} s"


@pytest.mark.parametrize("case", TEM_CASES, ids=[c["id"] for c in TEM_CASES])
def test_matches_empymod_reference(case):
    fm = forward_models.create(case["forward_model"], n_layers=case["n_layers"], **case["geometry"])
    out = fm.forward(np.array(case["rho"] + case["thk"]))
    assert out.shape == (1, len(case["dbzdt"])) and out.dtype == np.float64
    rel = np.abs(out[0] / np.array(case["dbzdt"]) - 1)
    assert rel.max() <= 0.01, f"off by {rel.max():.2e}"


def test_twelve_reference_cases():
    assert len(TEM_CASES) == 12


def _step(times_s, model, **geometry):
    n_layers = (len(model) + 1) // 2
    fm = forward_models.create("tem-central-loop", n_layers=n_layers, times_s=times_s, **geometry)
    return fm.forward(model)[0]


MODEL3 = [30.0, 300.0, 5.0, 20.0, 40.0]


def test_ramp_matches_numerical_convolution_of_the_step_response():
    """A linear ramp of length τ averages the step-off response over [t − τ, t]."""
    ramp = 20e-6
    times = np.geomspace(30e-6, 3e-3, 12)
    with_ramp = _step(times, MODEL3, loop_radius_m=25.0, ramp_off_s=ramp)
    for t, value in zip(times, with_ramp, strict=True):
        u = np.linspace(t - ramp, t, 801)
        g = _step(u, MODEL3, loop_radius_m=25.0)
        assert value == pytest.approx(np.trapezoid(g, u) / ramp, rel=2e-3)
    # the ramp matters: up to several percent at the early times here
    step = _step(times, MODEL3, loop_radius_m=25.0)
    assert np.abs(with_ramp / step - 1).max() > 0.02


def test_gates_average_the_response_over_open_close():
    times = np.geomspace(20e-6, 2e-3, 8)
    opened, closed = times * 0.8, times * 1.25
    gated = _step(times, MODEL3, loop_side_m=40.0, gate_open_s=opened, gate_close_s=closed)
    for k, value in enumerate(gated):
        u = np.geomspace(opened[k], closed[k], 801)
        g = _step(u, MODEL3, loop_side_m=40.0)
        assert value == pytest.approx(np.trapezoid(g, u) / (closed[k] - opened[k]), rel=2e-3)


def test_lowpass_filter_matches_convolution_with_its_impulse_response():
    """A first-order low-pass (cut-off f_c) convolves the response with ω_c e^{−ω_c t}."""
    fc = 100e3
    wc = 2 * np.pi * fc
    times = np.array([5e-6, 10e-6, 30e-6, 100e-6])
    filtered = _step(times, [100.0], loop_radius_m=20.0, lowpass_hz=[fc])
    for t, value in zip(times, filtered, strict=True):
        near = np.linspace(max(t - 40 / wc, 1e-10), t, 2001)
        u = np.unique(np.concatenate([np.geomspace(1e-10, t, 2001), near]))
        g = _step(u, [100.0], loop_radius_m=20.0)
        head = g[0] * 1e-10  # ∫_0^{1e-10} g: g is finite (3ρ/a³) at early times
        conv = np.trapezoid(g * wc * np.exp(-wc * (t - u)), u) + head * wc * np.exp(-wc * t)
        assert value == pytest.approx(conv, rel=3e-3)
    # the filter matters: the early gate differs from the unfiltered response by far more
    assert abs(filtered[0] / _step(times[:1], [100.0], loop_radius_m=20.0)[0] - 1) > 0.5


@pytest.mark.parametrize("case", TEM_CASES[::3], ids=[c["id"] for c in TEM_CASES[::3]])
def test_precisions_agree(case):
    """Precision "single" (float32 trigonometry) is within 0.2 % of "double" on the references."""
    fm = forward_models.create(case["forward_model"], n_layers=case["n_layers"], **case["geometry"])
    model = np.array(case["rho"] + case["thk"])
    single, double = fm.forward(model, precision="single"), fm.forward(model, precision="double")
    np.testing.assert_allclose(single, double, rtol=2e-3)


def _circle_data_with_j1_filter(filter_name, model, n_layers, radius, times, **waveform):
    """Central-circle data through the model's own time operator with another J1 filter:
    B(ω) = μ_0/(2a) Σ_i r_TE(b_i/a, ω) b_i w1_i, then d = Im B @ A_im (+ Re B @ A_re + B_p c)."""
    import libdlf

    from forward_models import _tem_operator, tem

    base, _j0, j1 = getattr(libdlf.hankel, filter_name)()
    weights = MU0 / (2 * radius) * base * j1
    gates = [waveform.get(k) for k in ("gate_open_s", "gate_close_s")]
    omega, a_im, a_re, c = _tem_operator.time_operator(
        tuple(times),
        waveform.get("ramp_off_s", 0.0),
        *(None if g is None else tuple(g) for g in gates),
        tuple(waveform.get("lowpass_hz", ())),
    )
    rho, thk = np.array([model[:n_layers]]), np.array([model[n_layers:]])
    re, im = tem._reflection(rho, thk, base / radius, omega, np, False)
    data = (im[0] @ weights) @ a_im
    if a_re is not None:
        data += (re[0] @ weights) @ a_re + _tem_operator.primary_field("circle", radius) * c
    return data


def test_47_point_circle_filter_matches_key_101_and_201_on_wide_models():
    """The central circle's 47-point J1 filter (Guptasarma & Singh 1997) against Key's (2009)
    101-point filter and his 201-point one, through the same time operator, on wide models
    (ρ 0.1–10⁴ Ω·m, h 1–500 m, 1–6 layers, radii 5–500 m, ramps, gates, low-pass), each radius
    with a time window the 47-point filter reaches: wherever the 101-point result is within 0.1 %
    of the 201-point one, the 47-point result is within 0.3 % of it (docs/benchmarks.md)."""
    rng = np.random.default_rng(17)
    waveforms = [
        {},
        {"ramp_off_s": 4e-6},
        {"gate_open_s": 0.92, "gate_close_s": 1.08, "ramp_off_s": 2e-6},
        {"lowpass_hz": [3e5], "ramp_off_s": 2e-6},
    ]
    new, old, ref = [], [], []
    for radius, first_s in ((5.0, 1e-5), (20.0, 1e-5), (60.0, 3e-5), (200.0, 2e-4), (500.0, 1e-3)):
        times = np.geomspace(first_s, 1000 * first_s, 30)
        for n_layers in range(1, 7):
            waveform = dict(waveforms[int(rng.integers(len(waveforms)))])
            for key in ("gate_open_s", "gate_close_s"):
                if key in waveform:
                    waveform[key] = times * waveform[key]
            fm = forward_models.create(
                "tem-central-loop", n_layers=n_layers, times_s=times, loop_radius_m=radius,
                **waveform,
            )  # fmt: skip
            assert fm._operator(np, np.float64, fm._build)[0].size == 47
            for _ in range(2):
                model = np.concatenate(
                    [
                        10 ** rng.uniform(-1, 4, n_layers),
                        10 ** rng.uniform(0, np.log10(500), n_layers - 1),
                    ]
                )
                new.append(fm.forward(model, precision="double")[0])
                for out, name in ((old, "key_101_2009"), (ref, "key_201_2009")):
                    out.append(
                        _circle_data_with_j1_filter(
                            name, model, n_layers, radius, times, **waveform
                        )
                    )
    new, old, ref = (np.concatenate(x) for x in (new, old, ref))
    trusted = np.abs(old / ref - 1) <= 1e-3
    assert trusted.mean() > 0.8
    rel = np.abs(new / ref - 1)[trusted]
    assert np.median(rel) < 2e-5
    assert rel.max() <= 3e-3, f"47-point filter off by {rel.max():.2e}"


def test_circle_keeps_the_101_point_filter_where_the_47_point_one_does_not_reach():
    """A 200 m circle from 10 µs: ρ = 0.1 Ω·m diffuses 1.3 m (0.6 % of the radius), below the
    47-point filter's reach (2 %); from 1 ms (13 m) the short filter serves."""
    early = forward_models.create(
        "tem-central-loop", n_layers=1, times_s=[1e-5, 1e-3], loop_radius_m=200.0
    )
    late = forward_models.create(
        "tem-central-loop", n_layers=1, times_s=[1e-3], loop_radius_m=200.0
    )
    assert early._operator(np, np.float64, early._build)[0].size == 101
    assert late._operator(np, np.float64, late._build)[0].size == 47
    # and the early gate is right: 0.5 % of Ward & Hohmann over 0.16 Ω·m
    out = early.forward([0.16])[0]
    assert abs(out[0] / ward_hohmann(np.array([1e-5]), 0.16, 200.0)[0] - 1) <= 0.005


@pytest.mark.parametrize(
    "geometry", [{"loop_side_m": 50.0}, {"loop_side_m": 150.0, "ramp_off_s": 1.2e-4}]
)
def test_coincident_loop_responses_are_log_convex_in_time(geometry):
    """A single loop's response is completely monotone in t (its self-coupling over decay modes,
    ramp and gates averaging it with positive weights), hence log-convex: the slope of
    ln −dB/dt between gates only rises (on data above 10⁻⁴ of the first gate, where the filters
    are accurate). The early-gate check of the served path rests on this."""
    rng = np.random.default_rng(5)
    times = np.geomspace(3e-4 if "ramp_off_s" in geometry else 5e-6, 2e-2, 40)
    for n_layers in (1, 2, 4):
        fm = forward_models.create(
            "tem-coincident-loop", n_layers=n_layers, times_s=times, **geometry
        )
        models = np.hstack(
            [
                10 ** rng.uniform(-1, 4, (100, n_layers)),
                10 ** rng.uniform(0, 2.5, (100, n_layers - 1)),
            ]
        )
        data = fm.forward(models, precision="double")
        good = data > 1e-4 * data[:, :1]
        slope = np.diff(np.log(np.where(good, data, 1.0)), axis=1) / np.diff(times)
        bend = (slope[:, :-1] - slope[:, 1:]) * np.diff(times)[1:]
        valid = good[:, :-2] & good[:, 1:-1] & good[:, 2:]
        assert valid.mean() > 0.5
        assert np.all(bend[valid] < 1e-3), float(bend[valid].max())
        # the served path's test of every early triple drops no gate of a layered earth
        for row, ok in zip(data, good, strict=True):
            n = int(ok.sum()) if ok.all() else int(np.argmin(ok))
            if n >= 6:
                rel = np.full(n, CONCAVE_MIN_REL)
                assert concave_early_gates(times[:n], row[:n], rel) == 0
