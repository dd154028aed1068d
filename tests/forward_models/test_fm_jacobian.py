"""MT1D.forward_and_jacobian: exact derivatives against central finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from jacobian_helpers import central_differences

import forward_models
from forward_models import _trig, mt

PERIODS = np.geomspace(1e-4, 1e2, 25)


def random_models(n_layers: int, n: int, seed: int) -> np.ndarray:
    """Log-uniform models: ρ in 0.1–10⁵ Ω·m, h in 0.1–3000 m (thin to skin-depth-deep layers)."""
    rng = np.random.default_rng(seed)
    low = np.log([0.1] * n_layers + [0.1] * (n_layers - 1))
    high = np.log([1e5] * n_layers + [3000.0] * (n_layers - 1))
    return np.exp(rng.uniform(low, high, (n, 2 * n_layers - 1)))


@pytest.mark.parametrize("n_layers", [1, 2, 3, 5])
def test_the_exact_jacobian_matches_finite_differences(n_layers) -> None:
    fm = forward_models.create("mt-1d", n_layers=n_layers, periods_s=PERIODS)
    models = random_models(n_layers, 200, seed=n_layers)
    data, jac = fm.forward_and_jacobian(models)
    np.testing.assert_allclose(data, fm.forward(models, precision="double"), rtol=1e-12)
    assert jac.shape == (200, fm.n_data, fm.n_params)
    numeric = central_differences(fm, models)
    k = PERIODS.size
    # In the units the misfit uses: ∂ln ρa/∂ln m (dimensionless) and ∂φ/∂ln m (degrees).
    exact = np.concatenate([jac[:, :k] / data[:, :k, None], jac[:, k:]], axis=1)
    approx = np.concatenate([numeric[:, :k] / data[:, :k, None], numeric[:, k:]], axis=1)
    np.testing.assert_allclose(exact, approx, rtol=0, atol=1e-6)
    assert np.abs(exact).max() >= 0.5  # the comparison is not trivially between zeros


def test_half_space_derivatives() -> None:
    fm = forward_models.create("mt-1d", n_layers=3, periods_s=PERIODS)
    data, jac = fm.forward_and_jacobian([70.0, 70.0, 70.0, 10.0, 300.0])
    k = PERIODS.size
    # ρa scales with the (common) resistivity: Σ_j ∂ρa/∂ln ρ_j = ρa; phases stay at 45°.
    np.testing.assert_allclose(jac[0, :k, :3].sum(axis=1), data[0, :k], rtol=1e-10)
    np.testing.assert_allclose(jac[0, k:, :3].sum(axis=1), 0.0, atol=1e-9)
    # Scaling every ρ and h by c² and c (periods fixed) changes ρa by c²: the derivative along
    # (2, 2, 2, 1, 1) is 2 ρa whatever the layering — here, and for a layered model too.
    direction = np.array([2.0, 2.0, 2.0, 1.0, 1.0])
    model = np.array([[300.0, 5.0, 900.0, 40.0, 200.0]])
    data, jac = fm.forward_and_jacobian(model)
    np.testing.assert_allclose(jac[0, :k] @ direction, 2 * data[0, :k], rtol=1e-9)
    np.testing.assert_allclose(jac[0, k:] @ direction, 0.0, atol=1e-8)


def test_the_jacobian_validates_models_like_forward() -> None:
    fm = forward_models.create("mt-1d", n_layers=2, periods_s=PERIODS)
    with pytest.raises(ValueError, match="rho2"):
        fm.forward_and_jacobian([10.0, -1.0, 5.0])


def test_a_large_batch_equals_single_models_across_blocks_and_chunks() -> None:
    """Rows on both sides of the Jacobian's row blocks and the thread pool's chunks come out as
    for one model alone."""
    fm = forward_models.create("mt-1d", n_layers=3, periods_s=PERIODS)
    n = 2 * fm.chunk_rows + 17
    models = random_models(3, n, seed=11)
    data, jac = fm.forward_and_jacobian(models)
    block = fm.jacobian_block_rows
    for row in [0, block - 1, block, fm.chunk_rows - 1, fm.chunk_rows, n - 1]:
        one_data, one_jac = fm.forward_and_jacobian(models[row])
        np.testing.assert_allclose(data[row], one_data[0], rtol=1e-13)
        np.testing.assert_allclose(jac[row], one_jac[0], rtol=1e-13, atol=1e-13 * data[row].max())


@pytest.mark.parametrize("half_angle", [True, False])
def test_both_ways_to_e_to_the_m_times_cis_m_agree_with_numpy(half_angle) -> None:
    """The half-angle (tan) form and the cos/sin form of e^m (cos m + i sin m), in float64,
    over the range the recursion uses (m from −40, the cap, to 0)."""
    m = -np.geomspace(1e-8, 40.0, 5001)
    re, im = np.empty_like(m), np.empty_like(m)
    scratch = m.copy()
    _trig.exp_cis(scratch, scratch, re, im, np, half_angle=half_angle)
    np.testing.assert_allclose(re, np.exp(m) * np.cos(m), rtol=0, atol=1e-15)
    np.testing.assert_allclose(im, np.exp(m) * np.sin(m), rtol=0, atol=1e-15)


@pytest.mark.parametrize("half_angle", [True, False])
def test_e_to_the_a_times_cis_phi_with_separate_amplitude_and_phase(half_angle) -> None:
    """The TEM recursion's form: amplitude exponent and phase differ (E = e^{−2uh}, u complex)."""
    rng = np.random.default_rng(3)
    a, phi = rng.uniform(-40.0, 0.0, (2, 4001))
    re, im = np.empty_like(a), np.empty_like(a)
    _trig.exp_cis(a.copy(), phi.copy(), re, im, np, half_angle=half_angle)
    np.testing.assert_allclose(re, np.exp(a) * np.cos(phi), rtol=0, atol=1e-15)
    np.testing.assert_allclose(im, np.exp(a) * np.sin(phi), rtol=0, atol=1e-15)


@pytest.mark.parametrize("polynomial", [True, False])
def test_both_float32_phase_evaluations_agree_with_float64(polynomial) -> None:
    """45° + arg ζ in float32 by the arctan polynomial or by arctan2, for |arg ζ| ≤ 45°."""
    angle = np.linspace(-np.pi / 4, np.pi / 4, 2001)
    x = (3.0 * np.cos(angle)).astype(np.float32)
    y = (3.0 * np.sin(angle)).astype(np.float32)
    out = np.empty_like(x)
    mt._phase_deg(x, y, np, out, polynomial=polynomial)
    expected = 45 + np.degrees(np.arctan2(y.astype(float), x.astype(float)))
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-4)
