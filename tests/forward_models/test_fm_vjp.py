"""forward_and_vjp: the vector–Jacobian product against the full Jacobian's contraction."""

from __future__ import annotations

import numpy as np
import pytest

import forward_models

TEM_TIMES = np.geomspace(1e-5, 1e-2, 20)
CASES = {
    "mt": ("mt-1d", {"periods_s": np.geomspace(1e-4, 1e3, 31)}),
    "schlumberger finite MN": (
        "ves-schlumberger",
        {"ab2_m": np.geomspace(1.0, 3000.0, 33), "mn2_m": 0.5},
    ),
    "schlumberger ideal": ("ves-schlumberger", {"ab2_m": np.geomspace(1.0, 3000.0, 33)}),
    "wenner": ("ves-wenner", {"a_m": np.geomspace(1.0, 1000.0, 19)}),
    "tem": ("tem-central-loop", {"times_s": TEM_TIMES, "loop_radius_m": 20.0}),
}


def random_models(n_layers: int, n: int, seed: int, h_max: float = 3000.0) -> np.ndarray:
    """ρ log-uniform in 0.1–10⁵ Ω·m, h in 0.1 m–``h_max``."""
    rng = np.random.default_rng(seed)
    rho = 10.0 ** rng.uniform(-1, 5, (n, n_layers))
    thk = 10.0 ** rng.uniform(-1, np.log10(h_max), (n, n_layers - 1))
    return np.hstack([rho, thk])


@pytest.mark.parametrize("n_layers", [1, 2, 3, 5])
@pytest.mark.parametrize("case", sorted(CASES))
def test_the_vjp_is_the_cotangent_times_the_jacobian(case, n_layers) -> None:
    name, geometry = CASES[case]
    fm = forward_models.create(name, n_layers=n_layers, **geometry)
    tem = name.startswith("tem")
    models = random_models(
        n_layers, 12 if tem else 300, seed=n_layers, h_max=300.0 if tem else 3000.0
    )
    if tem:
        models[:, :n_layers] = np.clip(models[:, :n_layers], 1.0, 1e4)
    data, jac = fm.forward_and_jacobian(models)
    data_vjp, vjp = fm.forward_and_vjp(models)
    # BLAS row blocks round differently; where the filter sum cancels (extreme contrasts, ideal
    # Schlumberger) that shows at 10⁻¹¹ relative
    np.testing.assert_allclose(data_vjp, data, rtol=1e-9)
    rng = np.random.default_rng(7)
    for _ in range(2):  # vjp may be called again
        cotangent = rng.normal(size=data.shape)
        grad = vjp(cotangent)
        expected = np.einsum("nd,ndp->np", cotangent, jac)
        # each row against the size of its terms (cancellation makes single entries small)
        scale = np.abs(cotangent[:, :, None] * jac).sum(axis=1).max(axis=1, keepdims=True)
        assert grad.shape == (models.shape[0], fm.n_params)
        assert np.all(np.abs(grad - expected) <= 1e-10 * scale)
    assert np.abs(expected).max() > 0  # not a comparison of zeros


@pytest.mark.parametrize("case", ["mt", "wenner"])
def test_the_cotangent_is_checked(case) -> None:
    name, geometry = CASES[case]
    fm = forward_models.create(name, n_layers=2, **geometry)
    _, vjp = fm.forward_and_vjp(random_models(2, 4, seed=1))
    with pytest.raises(ValueError, match=r"cotangent: expected shape \(4, "):
        vjp(np.ones((4, fm.n_data + 1)))
    bad = np.ones((4, fm.n_data))
    bad[2, 3] = np.nan
    with pytest.raises(ValueError, match="cotangent: values must be finite"):
        vjp(bad)
    with pytest.raises(ValueError, match="rho2"):
        fm.forward_and_vjp([10.0, -1.0, 5.0])


@pytest.mark.parametrize(("case", "n"), [("schlumberger finite MN", 1100), ("mt", 2100)])
def test_blocks_across_the_thread_pool_give_the_same_product(case, n) -> None:
    """Batches beyond one block (VES 256 rows, MT 1 024) run in blocks on the thread pool, as
    the Jacobian does; every row equals the contraction of its Jacobian."""
    name, geometry = CASES[case]
    fm = forward_models.create(name, n_layers=3, **geometry)
    assert n > fm.jacobian_block_rows
    models = random_models(3, n, seed=11)
    data, jac = fm.forward_and_jacobian(models)
    data_vjp, vjp = fm.forward_and_vjp(models)
    np.testing.assert_allclose(data_vjp, data, rtol=1e-9)
    cotangent = np.random.default_rng(3).normal(size=data.shape)
    expected = np.einsum("nd,ndp->np", cotangent, jac)
    scale = np.abs(cotangent[:, :, None] * jac).sum(axis=1).max(axis=1, keepdims=True)
    assert np.all(np.abs(vjp(cotangent) - expected) <= 1e-10 * scale)
    with pytest.raises(ValueError, match="cotangent: expected shape"):
        vjp(cotangent[:-1])


@pytest.mark.parametrize("n", [300, 2100])  # one block, and blocks on the thread pool
@pytest.mark.parametrize("n_layers", [1, 3, 5])
def test_mt_single_precision_derivatives_agree_with_double(n_layers, n) -> None:
    """MT's float32 forward_and_jacobian / forward_and_vjp (the physics-guided training's):
    float32 results as close to float64's as the float32 forward's (ρ 0.1–10⁵ Ω·m: data
    5·10⁻⁴ relative / 5·10⁻³°), each derivative within 10⁻³ of its datum's largest, the VJP
    within 10⁻³ of its terms."""
    name, geometry = CASES["mt"]
    fm = forward_models.create(name, n_layers=n_layers, **geometry)
    models = random_models(n_layers, n, seed=20 + n_layers)
    data, jac = fm.forward_and_jacobian(models)
    data32, jac32 = fm.forward_and_jacobian(models, precision="single")
    assert data32.dtype == jac32.dtype == np.float32 and jac32.shape == jac.shape
    k = fm.n_data // 2
    forward32 = fm.forward(models, precision="single")
    for got in (data32, forward32):
        np.testing.assert_allclose(got[:, :k], data[:, :k], rtol=5e-4)
        np.testing.assert_allclose(got[:, k:], data[:, k:], atol=5e-3)
    # ρa derivatives scale with ρa, phase derivatives are degrees
    scale = np.abs(jac).max(axis=2, keepdims=True)
    assert np.all(np.abs(jac32 - jac) <= 1e-3 * scale + 1e-6)
    data_vjp, vjp = fm.forward_and_vjp(models, precision="single")
    assert data_vjp.dtype == np.float32
    np.testing.assert_allclose(data_vjp, data32, rtol=1e-5, atol=1e-5)
    cotangent = np.random.default_rng(5).normal(size=data.shape)
    grad = vjp(cotangent)
    expected = np.einsum("nd,ndp->np", cotangent, jac)
    terms = np.abs(cotangent[:, :, None] * jac).sum(axis=1).max(axis=1, keepdims=True)
    assert grad.dtype == np.float32
    assert np.all(np.abs(grad - expected) <= 1e-3 * terms)
    assert np.abs(expected).max() > 0


@pytest.mark.parametrize("case", ["schlumberger finite MN", "wenner", "tem"])
def test_single_precision_derivatives_are_refused_where_not_offered(case) -> None:
    name, geometry = CASES[case]
    fm = forward_models.create(name, n_layers=2, **geometry)
    assert fm.derivative_precisions == ("double",)
    models = random_models(2, 3, seed=2, h_max=100.0)
    for call in (fm.forward_and_jacobian, fm.forward_and_vjp):
        with pytest.raises(ValueError, match=r"precision: .* derivatives come in \['double'\]"):
            call(models, precision="single")


def test_an_unknown_derivative_precision_is_refused() -> None:
    name, geometry = CASES["mt"]
    fm = forward_models.create(name, n_layers=2, **geometry)
    with pytest.raises(ValueError, match="precision: mt-1d derivatives come in"):
        fm.forward_and_jacobian(random_models(2, 3, seed=1), precision="half")
