"""VES forward_and_jacobian (Schlumberger ideal and finite MN, Wenner): exact derivatives
against central finite differences and against identities of the physics."""

from __future__ import annotations

import numpy as np
import pytest
from jacobian_helpers import central_differences

import forward_models

GEOMETRIES = {
    "schlumberger-ideal": ("ves-schlumberger", {"ab2_m": np.geomspace(1.0, 3000.0, 25)}),
    "schlumberger-finite-mn": (
        "ves-schlumberger",
        {"ab2_m": np.geomspace(1.0, 3000.0, 25), "mn2_m": 0.5},
    ),
    "wenner": ("ves-wenner", {"a_m": np.geomspace(1.0, 1000.0, 20)}),
}


def random_models(n_layers: int, n: int, seed: int) -> np.ndarray:
    """Log-uniform models: ρ 1–10⁴ Ω·m, h 0.5–1000 m (thin to deeper than the spread)."""
    rng = np.random.default_rng(seed)
    low = np.log([1.0] * n_layers + [0.5] * (n_layers - 1))
    high = np.log([1e4] * n_layers + [1000.0] * (n_layers - 1))
    return np.exp(rng.uniform(low, high, (n, 2 * n_layers - 1)))


@pytest.mark.parametrize("geometry", sorted(GEOMETRIES))
@pytest.mark.parametrize("n_layers", [1, 2, 3, 5])
def test_the_exact_jacobian_matches_finite_differences(geometry, n_layers) -> None:
    name, geo = GEOMETRIES[geometry]
    fm = forward_models.create(name, n_layers=n_layers, **geo)
    models = random_models(n_layers, 150, seed=n_layers)
    data, jac = fm.forward_and_jacobian(models)
    np.testing.assert_allclose(data, fm.forward(models, precision="double"), rtol=1e-10)
    assert jac.shape == (150, fm.n_data, fm.n_params)
    # In the units the misfit uses: ∂ln ρa/∂ln m (dimensionless).
    exact = jac / data[:, :, None]
    approx = central_differences(fm, models, step=1e-4) / data[:, :, None]
    np.testing.assert_allclose(exact, approx, rtol=0, atol=2e-6)
    assert np.abs(exact).max() >= 0.5  # the comparison is not trivially between zeros


@pytest.mark.parametrize("geometry", sorted(GEOMETRIES))
def test_resistivity_derivatives_sum_to_the_data(geometry) -> None:
    """ρa is homogeneous of degree one in the resistivities: Σ_j ∂ρa/∂ln ρ_j = ρa, for a
    half-space (where ∂ρa/∂ln ρ_1 = ρa alone) and for a layered model."""
    name, geo = GEOMETRIES[geometry]
    fm = forward_models.create(name, n_layers=4, **geo)
    for model in (
        [50.0, 50.0, 50.0, 50.0, 3.0, 10.0, 30.0],
        [300.0, 5.0, 900.0, 20.0, 4.0, 20.0, 80.0],
    ):
        data, jac = fm.forward_and_jacobian(model)
        np.testing.assert_allclose(jac[0, :, :4].sum(axis=1), data[0], rtol=1e-9)
    half = forward_models.create(name, n_layers=1, **geo)
    data, jac = half.forward_and_jacobian([70.0])
    np.testing.assert_allclose(jac[0, :, 0], data[0], rtol=1e-12)
    np.testing.assert_allclose(data[0], 70.0, rtol=1e-6)


def test_a_large_batch_equals_single_models_across_blocks_and_chunks() -> None:
    """Rows on both sides of the Jacobian's row blocks and the thread pool's chunks come out as
    for one model alone."""
    fm = forward_models.create("ves-schlumberger", n_layers=3, ab2_m=np.geomspace(1, 1e3, 30))
    n = fm.chunk_rows + 188
    models = random_models(3, n, seed=7)
    data, jac = fm.forward_and_jacobian(models)
    edges = [0, fm.jacobian_block_rows - 1, fm.jacobian_block_rows, fm.chunk_rows, n - 1]
    for row in edges:
        one_data, one_jac = fm.forward_and_jacobian(models[row])
        # BLAS sums a block's rows in another order than one row alone: on rows whose filter
        # sum cancels strongly that moves the data by up to ~1e-10 (docs/benchmarks.md); a
        # misplaced row would differ by far more
        np.testing.assert_allclose(data[row], one_data[0], rtol=1e-9)
        np.testing.assert_allclose(jac[row], one_jac[0], rtol=1e-9, atol=1e-9 * data[row].max())
