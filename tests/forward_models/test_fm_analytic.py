"""Accuracy against closed-form solutions: half-space, two-layer image series, two-layer MT."""

from __future__ import annotations

import numpy as np
import pytest

import forward_models

MU0 = 4e-7 * np.pi
AB2 = np.geomspace(1.0, 1000.0, 30)
A_M = np.geomspace(1.0, 300.0, 20)
PERIODS = np.geomspace(1e-4, 1e4, 41)
TWO_LAYER = [(100.0, 10.0, 10.0), (10.0, 1000.0, 20.0), (50.0, 400.0, 2.0), (300.0, 30.0, 60.0)]


def image_pole_pole(r, rho1, rho2, h):
    """Pole-pole apparent resistivity of two layers: ρ1 [1 + 2 Σ k^n / √(1 + (2nh/r)²)]."""
    k = (rho2 - rho1) / (rho2 + rho1)
    n = np.arange(1, 4000)[:, None]
    return rho1 * (1 + 2 * np.sum(k**n / np.sqrt(1 + (2 * n * h / r) ** 2), axis=0))


def image_ideal_schlumberger(s, rho1, rho2, h):
    """Ideal Schlumberger by images: ρ1 [1 + 2 Σ k^n s³ / (s² + (2nh)²)^{3/2}]."""
    k = (rho2 - rho1) / (rho2 + rho1)
    n = np.arange(1, 4000)[:, None]
    return rho1 * (1 + 2 * np.sum(k**n * s**3 / (s**2 + (2 * n * h) ** 2) ** 1.5, axis=0))


def mt_two_layer(periods, rho1, rho2, h):
    """Closed-form two-layer impedance in complex arithmetic (e^{iωt}): ρ_a and phase (deg)."""
    omega = 2 * np.pi / periods
    z1, z2 = np.sqrt(1j * omega * MU0 * rho1), np.sqrt(1j * omega * MU0 * rho2)
    k1 = np.sqrt(1j * omega * MU0 / rho1)
    t = np.tanh(k1 * h)
    z = z1 * (z2 + z1 * t) / (z1 + z2 * t)
    return np.abs(z) ** 2 / (omega * MU0), np.degrees(np.angle(z))


@pytest.mark.parametrize("precision", ["single", "double"])
def test_half_space_gives_its_resistivity(precision):
    rho = np.array([[1.0], [37.5], [5000.0]])
    for name, geo in [
        ("ves-schlumberger", {"ab2_m": AB2}),
        ("ves-schlumberger", {"ab2_m": AB2, "mn2_m": AB2 / 5}),
        ("ves-wenner", {"a_m": A_M}),
    ]:
        out = forward_models.create(name, n_layers=1, **geo).forward(rho, precision=precision)
        np.testing.assert_allclose(out, np.repeat(rho, out.shape[1], axis=1), rtol=1e-6)
    mt = forward_models.create("mt-1d", n_layers=1, periods_s=PERIODS).forward(rho)
    np.testing.assert_allclose(mt[:, :41], np.repeat(rho, 41, axis=1), rtol=1e-6)
    np.testing.assert_allclose(mt[:, 41:], 45.0, atol=1e-6)


def test_layers_of_equal_resistivity_are_a_half_space():
    model = [[80.0, 80.0, 80.0, 3.0, 40.0]]
    for name, geo in [
        ("ves-schlumberger", {"ab2_m": AB2, "mn2_m": 0.5}),
        ("mt-1d", {"periods_s": PERIODS}),
    ]:
        out = forward_models.create(name, n_layers=3, **geo).forward(model)
        np.testing.assert_allclose(out[0, : AB2.size if name != "mt-1d" else 41], 80.0, rtol=1e-5)


@pytest.mark.parametrize("precision", ["single", "double"])
@pytest.mark.parametrize("rho1, rho2, h", TWO_LAYER)
def test_ideal_schlumberger_matches_images(rho1, rho2, h, precision):
    fm = forward_models.create("ves-schlumberger", n_layers=2, ab2_m=AB2, mn2_m=None)
    out = fm.forward([rho1, rho2, h], precision=precision)[0]
    expected = image_ideal_schlumberger(AB2, rho1, rho2, h)
    assert np.max(np.abs(out / expected - 1)) < 5e-4


@pytest.mark.parametrize("precision", ["single", "double"])
@pytest.mark.parametrize("rho1, rho2, h", TWO_LAYER)
@pytest.mark.parametrize("ratio", [0.02, 0.1, 0.4])
def test_finite_mn_schlumberger_matches_images(rho1, rho2, h, ratio, precision):
    mn2 = ratio * AB2
    fm = forward_models.create("ves-schlumberger", n_layers=2, ab2_m=AB2, mn2_m=mn2)
    out = fm.forward([rho1, rho2, h], precision=precision)[0]
    big, small = AB2 + mn2, AB2 - mn2
    expected = (
        (AB2**2 - mn2**2)
        / (2 * mn2)
        * (
            image_pole_pole(small, rho1, rho2, h) / small
            - image_pole_pole(big, rho1, rho2, h) / big
        )
    )
    assert np.max(np.abs(out / expected - 1)) < 5e-4


@pytest.mark.parametrize("precision", ["single", "double"])
@pytest.mark.parametrize("rho1, rho2, h", TWO_LAYER)
def test_wenner_matches_images(rho1, rho2, h, precision):
    fm = forward_models.create("ves-wenner", n_layers=2, a_m=A_M)
    out = fm.forward([rho1, rho2, h], precision=precision)[0]
    expected = 2 * image_pole_pole(A_M, rho1, rho2, h) - image_pole_pole(2 * A_M, rho1, rho2, h)
    assert np.max(np.abs(out / expected - 1)) < 5e-4


def test_finite_mn_tends_to_the_ideal_limit():
    model = [100.0, 10.0, 1000.0, 5.0, 20.0]
    ideal = forward_models.create("ves-schlumberger", 3, ab2_m=AB2).forward(
        model, precision="double"
    )
    tiny = forward_models.create("ves-schlumberger", 3, ab2_m=AB2, mn2_m=AB2 * 1e-3)
    np.testing.assert_allclose(tiny.forward(model, precision="double"), ideal, rtol=2e-4)


@pytest.mark.parametrize("precision", ["single", "double"])
@pytest.mark.parametrize(
    "rho1, rho2, h", [(100.0, 10.0, 500.0), (10.0, 1000.0, 1000.0), (5000.0, 1.0, 30.0)]
)
def test_mt_two_layer_closed_form(rho1, rho2, h, precision):
    fm = forward_models.create("mt-1d", n_layers=2, periods_s=PERIODS)
    out = fm.forward([rho1, rho2, h], precision=precision)[0]
    rho_a, phase = mt_two_layer(PERIODS, rho1, rho2, h)
    assert np.max(np.abs(out[:41] / rho_a - 1)) < 1e-4
    assert np.max(np.abs(out[41:] - phase)) < 1e-2
    assert np.all((out[41:] > 0) & (out[41:] < 90))


def test_mt_five_layers_match_complex_recursion():
    rho = np.array([300.0, 1000.0, 30.0, 3000.0, 100.0])
    thk = np.array([200.0, 1000.0, 100.0, 2000.0])
    omega = 2 * np.pi / PERIODS
    z = np.sqrt(1j * omega * MU0 * rho[-1])
    for r, h in zip(rho[-2::-1], thk[::-1], strict=True):
        zi = np.sqrt(1j * omega * MU0 * r)
        t = np.tanh(np.sqrt(1j * omega * MU0 / r) * h)
        z = zi * (z + zi * t) / (zi + z * t)
    out = forward_models.create("mt-1d", 5, periods_s=PERIODS).forward(np.r_[rho, thk])[0]
    np.testing.assert_allclose(out[:41], np.abs(z) ** 2 / (omega * MU0), rtol=1e-4)
    np.testing.assert_allclose(out[41:], np.degrees(np.angle(z)), atol=1e-2)
