"""TEM loops and receivers (square, coincident, turns, area), the interface, the Jacobian."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import forward_models

TIMES = np.geomspace(1e-5, 1e-2, 30)
MODEL3 = [30.0, 300.0, 5.0, 20.0, 40.0]


def create(name="tem-central-loop", n_layers=3, **geometry):
    geometry.setdefault("times_s", TIMES)
    if "loop_side_m" not in geometry:
        geometry.setdefault("loop_radius_m", 25.0)
    return forward_models.create(name, n_layers=n_layers, **geometry)


def test_registered_with_the_common_interface():
    assert {"tem-central-loop", "tem-coincident-loop"} <= set(forward_models.names())
    fm = create()
    assert fm.parameter_names == ["rho1", "rho2", "rho3", "h1", "h2"]
    assert fm.axis_name == "times_s" and fm.data_kinds == ("dbzdt",) * TIMES.size
    np.testing.assert_array_equal(fm.axis_values, TIMES)
    spec = json.loads(json.dumps(fm.to_dict()))
    again = forward_models.from_dict(spec)
    assert again == fm
    np.testing.assert_array_equal(again.forward(MODEL3), fm.forward(MODEL3))
    other = fm.with_geometry(times_s=TIMES[:5], loop_side_m=50.0)
    assert other.n_layers == 3 and other.n_data == 5 and other.geometry["loop_side_m"] == 50.0


def test_batch_rows_equal_single_rows_and_data_are_positive():
    fm = create()
    rng = np.random.default_rng(0)
    models = np.column_stack([10 ** rng.uniform(0, 3, (70, 3)), 10 ** rng.uniform(0, 2, (70, 2))])
    batch = fm.forward(models)
    assert batch.shape == (70, 30) and np.all(batch > 0)
    for i in (0, 33, 69):
        np.testing.assert_allclose(fm.forward(models[i])[0], batch[i], rtol=1e-12)


def test_square_loop_equals_equal_area_circle_at_late_times():
    """Late-time fields depend on the loop's moment only; early times on its shape."""
    side = 40.0
    square = create(loop_side_m=side).forward(MODEL3)[0]
    circle = create(loop_radius_m=side / np.sqrt(np.pi)).forward(MODEL3)[0]
    assert square[-1] == pytest.approx(circle[-1], rel=2e-3)
    inscribed = create(loop_radius_m=side / 2, times_s=[1e-7]).forward(MODEL3)[0, 0]
    outer = create(loop_radius_m=side / np.sqrt(2), times_s=[1e-7]).forward(MODEL3)[0, 0]
    early = create(loop_side_m=side, times_s=[1e-7]).forward(MODEL3)[0, 0]
    assert outer < early < inscribed


def test_early_time_limits_of_circle_and_square():
    """At early times −dB_z/dt at the centre is (3ρ/2π) ∮ d/r⁵ dl over the wire (d: distance of
    the wire's line from the centre, r: from the centre to the element): 3ρ/a³ for a circle
    (Ward & Hohmann) and 10ρ/(√2 π s³) for a square of half side s. The circle uses the J1
    filter, the square the dipole sheet: two independent routes."""
    rho, t = 30.0, [1e-7]  # diffusion distance 1.2 m, loops of 40 m
    circle = create(n_layers=1, loop_radius_m=20.0, times_s=t).forward([rho])[0, 0]
    square = create(n_layers=1, loop_side_m=40.0, times_s=t).forward([rho])[0, 0]
    assert circle == pytest.approx(3 * rho / 20.0**3, rel=1e-3)
    assert square == pytest.approx(10 * rho / (np.sqrt(2) * np.pi * 20.0**3), rel=5e-3)


def test_coincident_loop_tends_to_the_central_value_at_late_times():
    """At late times the field is uniform over the loop: the loop mean equals the centre value."""
    for geometry in ({"loop_radius_m": 20.0}, {"loop_side_m": 40.0}):
        central = create(**geometry).forward(MODEL3)[0]
        coincident = create("tem-coincident-loop", **geometry).forward(MODEL3)[0]
        assert coincident[-1] == pytest.approx(central[-1], rel=3e-3)
        assert np.all(coincident > 0)
        assert abs(coincident[0] / central[0] - 1) > 0.05  # early times differ


def test_turns_and_receiver_area_scale_the_data():
    base = create().forward(MODEL3)[0]
    scaled = create(tx_turns=2, rx_turns=3, rx_area_m2=100.0).forward(MODEL3)[0]
    np.testing.assert_allclose(scaled, base * 600.0, rtol=1e-12)


def test_jacobian_matches_finite_differences_of_forward():
    fm = create()
    data, jac = fm.forward_and_jacobian(np.array([MODEL3, [5.0, 50.0, 500.0, 10.0, 100.0]]))
    assert data.shape == (2, 30) and jac.shape == (2, 30, 5)
    np.testing.assert_allclose(
        data, fm.forward(np.array([MODEL3, [5, 50, 500, 10, 100.0]]), precision="double")
    )
    for j in range(5):
        step = np.ones(5)
        step[j] = np.exp(1e-3)
        up = fm.forward(np.array(MODEL3) * step, precision="double")[0]
        down = fm.forward(np.array(MODEL3) / step, precision="double")[0]
        np.testing.assert_allclose(
            jac[0, :, j], (up - down) / 2e-3, rtol=1e-3, atol=1e-6 * data[0].max()
        )
    # the top resistivity drives the early times, the half-space the late ones
    assert abs(jac[0, 0, 0]) > abs(jac[0, 0, 2])


@pytest.mark.parametrize(
    ("geometry", "field"),
    [
        ({"loop_radius_m": 10.0, "loop_side_m": 20.0}, "loop_radius_m"),
        ({"loop_radius_m": -1.0}, "loop_radius_m"),
        ({"loop_radius_m": 10.0, "ramp_off_s": 2e-5}, "times_s[0]"),
        ({"loop_radius_m": 10.0, "gate_open_s": TIMES * 0.9}, "gate_open_s"),
        (
            {"loop_radius_m": 10.0, "gate_open_s": TIMES * 1.1, "gate_close_s": TIMES * 1.2},
            "gate_open_s[0]",
        ),
        ({"loop_radius_m": 10.0, "lowpass_hz": [0.0]}, "lowpass_hz[0]"),
        ({"loop_radius_m": 10.0, "tx_turns": 0}, "tx_turns"),
        ({"loop_radius_m": 10.0, "rx_area_m2": "big"}, "rx_area_m2"),
        ({"loop_radius_m": 10.0, "times_s": [1e-5, -1e-4]}, "times_s[1]"),
    ],
)
def test_bad_geometry_names_the_field(geometry, field):
    geometry.setdefault("times_s", TIMES)
    with pytest.raises(ValueError, match="^" + re.escape(field) + ":"):
        forward_models.create("tem-central-loop", n_layers=2, **geometry)


def test_coincident_loop_refuses_lowpass_filters():
    with pytest.raises(ValueError, match="^lowpass_hz: .*central-loop"):
        create("tem-coincident-loop", lowpass_hz=[1e5])


def test_bad_models_are_refused():
    with pytest.raises(ValueError, match=r"models\[0, 1\] \(rho2\)"):
        create().forward([10.0, -1.0, 10.0, 5.0, 5.0])


SQUARE_REFERENCE = json.loads(
    (Path(__file__).resolve().parents[1] / "data" / "tem_square_loop_empymod.json").read_text()
)


@pytest.mark.parametrize("case", SQUARE_REFERENCE["cases"], ids=lambda c: f"{c['loop_side_m']:g}m")
def test_square_loop_matches_empymod_four_wires(case):
    """The dipole-sheet square loop against empymod's loop of four finite wires."""
    fm = create(
        n_layers=len(case["rho"]),
        times_s=SQUARE_REFERENCE["times_s"],
        loop_side_m=case["loop_side_m"],
    )
    rel = np.abs(fm.forward(case["rho"] + case["thk"])[0] / np.array(case["dbzdt"]) - 1)
    assert rel.max() <= 0.005, f"off by {rel.max():.2e}"


def test_datasets_and_noise_work_for_tem():
    """TEM data are a positive kind with relative noise, like apparent resistivity."""
    fm = create(times_s=TIMES[:10])
    space = forward_models.ModelSpace.for_forward_model(fm, (1.0, 1000.0), (2.0, 100.0))
    data = forward_models.generate_dataset(fm, space, 64, seed=1)
    assert data.data.shape == (64, 10) and np.all(data.data > 0)
    noise = forward_models.NoiseModel(rho_a_rel=0.05)
    sigma = noise.sigma(data.data, fm.data_kinds)
    np.testing.assert_allclose(sigma, 0.05 * data.data)
    noisy = noise.apply(data.data, fm.data_kinds, rng=3)
    assert 0.03 < np.std(noisy / data.data - 1) < 0.07


def test_coincident_circle_operator_matches_the_flux_integral():
    """Mean secondary B_z over a circular loop from its own current (frequency domain):
    μ_0 ∫ r_TE(λ) J1(λa)² dλ by composite Gauss–Legendre, against the dipole-sheet weights.

    The real parts agree to 2e-4; the imaginary parts differ by a term exactly proportional to ω
    (the J0 filter's error on the constant large-λ tail of Im λ² r_TE), which has no time-domain
    response after the switch-off (the sine transform of c·ω vanishes for t > 0).
    """
    from scipy import special

    from forward_models import _tem_operator, tem

    radius, rho, thk = 20.0, [30.0, 300.0, 5.0], [20.0, 40.0]

    def reflection(lam, omega):
        rr, ri = tem._reflection(
            np.array([rho]), np.array([thk]), lam, np.array([omega]), np, False
        )
        return rr[0, 0] + 1j * ri[0, 0]

    x, w = np.polynomial.legendre.leggauss(24)
    edges = np.concatenate([np.geomspace(1e-6, 1, 40), np.arange(1, 4000, np.pi / 2)])
    lo, hi = edges[:-1, None], edges[1:, None]
    nodes = ((lo + hi) / 2 + (hi - lo) / 2 * x).ravel()
    weights = ((hi - lo) / 2 * w).ravel() * special.j1(nodes) ** 2
    lam, sheet = _tem_operator.loop_operator("coincident", "circle", radius)
    offsets = []
    for omega in (1e2, 1e4, 1e6):
        exact = 4e-7 * np.pi * np.sum(reflection(nodes / radius, omega) * weights) / radius
        ours = np.sum(reflection(lam, omega) * sheet)
        assert ours.real == pytest.approx(exact.real, rel=2e-4)
        offsets.append((ours.imag - exact.imag) / omega)
    np.testing.assert_allclose(offsets, offsets[0], rtol=0.02)


def test_coincident_circle_time_domain_matches_the_flux_integral():
    """The same flux integral on the model's own frequency grid, through its time operator:
    the coincident-loop transient agrees to 0.3 % (the ∝ ω offset above leaves no trace)."""
    from scipy import special

    from forward_models import _tem_operator, tem

    radius, rho, thk = 20.0, [30.0, 300.0, 5.0], [20.0, 40.0]
    times = np.geomspace(1e-5, 1e-2, 16)
    omega, a_im, _, _ = _tem_operator.time_operator(tuple(times))
    x, w = np.polynomial.legendre.leggauss(16)
    edges = np.concatenate([np.geomspace(1e-6, 1, 30), np.arange(1, 3000, np.pi / 2)])
    lo, hi = edges[:-1, None], edges[1:, None]
    nodes = ((lo + hi) / 2 + (hi - lo) / 2 * x).ravel()
    weights = ((hi - lo) / 2 * w).ravel() * special.j1(nodes) ** 2
    _, ri = tem._reflection(np.array([rho]), np.array([thk]), nodes / radius, omega, np, False)
    im_b = 4e-7 * np.pi * (ri[0] @ weights) / radius  # (n_ω,)
    exact = im_b @ a_im
    fm = create("tem-coincident-loop", times_s=times, loop_radius_m=radius)
    np.testing.assert_allclose(fm.forward(rho + thk)[0], exact, rtol=3e-3)
