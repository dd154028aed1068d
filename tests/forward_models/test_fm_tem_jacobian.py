"""TEM kernel and Jacobian: the in-place recursion against a plain complex one, and the exact
(reverse-accumulated) Jacobian against central differences of the forward model."""

from __future__ import annotations

import numpy as np
import pytest

import forward_models
from forward_models import tem

MU0 = 4e-7 * np.pi
TIMES = np.geomspace(1e-5, 1e-2, 20)


def plain_reflection(rho, thk, lam, omega):
    """r_TE(λ, ω) (n_ω, n_λ) for one model by the textbook recursion in complex128:
    u_j = √(λ² + iωμσ_j), r = (u_a − u_b)/(u_a + u_b), R = (r + R' e^{−2uh})/(1 + r R' e^{−2uh})."""
    lam2 = lam[None, :] ** 2
    iwm = 1j * omega[:, None] * MU0
    u = [np.sqrt(lam2 + iwm / r) for r in rho]
    upper = [lam[None, :] + 0j, *u[:-1]]
    big_r = (upper[-1] - u[-1]) / (upper[-1] + u[-1])
    for k in range(len(rho) - 2, -1, -1):
        r = (upper[k] - u[k]) / (upper[k] + u[k])
        x = big_r * np.exp(-2 * u[k] * thk[k])
        big_r = (r + x) / (1 + r * x)
    return big_r


@pytest.mark.parametrize("n_layers", [1, 2, 3, 5, 6, 40])
def test_kernel_matches_the_plain_complex_recursion(n_layers):
    rng = np.random.default_rng(n_layers)
    rho = 10 ** rng.uniform(-1, 4, (4, n_layers))
    thk = 10 ** rng.uniform(-1, 3, (4, n_layers - 1))
    lam, omega = np.geomspace(1e-5, 50, 60), np.geomspace(1e-2, 1e8, 40)
    for fast in (False, True):
        re, im = tem._reflection(rho, thk, lam, omega, np, fast)
        for i in range(rho.shape[0]):
            exact = plain_reflection(rho[i], thk[i], lam, omega)
            np.testing.assert_allclose(
                re[i] + 1j * im[i], exact, rtol=0, atol=1e-6 if fast else 1e-13
            )
            # Im r_TE with relative accuracy (it is ~1e-9 of |r_TE| at low frequencies)
            if not fast:
                np.testing.assert_allclose(im[i], exact.imag, rtol=1e-8, atol=1e-300)


GEOMETRIES = [
    ("tem-central-loop", {"loop_radius_m": 20.0}),
    ("tem-central-loop", {"loop_side_m": 40.0}),
    ("tem-coincident-loop", {"loop_radius_m": 15.0}),
    (
        "tem-central-loop",
        {"loop_radius_m": 30.0, "ramp_off_s": 4e-6, "gate_open_s": TIMES * 0.9,
         "gate_close_s": TIMES * 1.1, "lowpass_hz": [2e5], "tx_turns": 2},
    ),
]  # fmt: skip


@pytest.mark.parametrize(("name", "geometry"), GEOMETRIES, ids=["circle", "square", "coinc", "all"])
@pytest.mark.parametrize("n_layers", [1, 2, 4])
def test_jacobian_matches_central_differences(name, geometry, n_layers):
    fm = forward_models.create(name, n_layers=n_layers, times_s=TIMES, **geometry)
    rng = np.random.default_rng(10 * n_layers + len(geometry))
    models = np.column_stack(
        [10 ** rng.uniform(0, 3, (3, n_layers)), 10 ** rng.uniform(0.5, 2, (3, n_layers - 1))]
    )
    data, jac = fm.forward_and_jacobian(models)
    assert data.shape == (3, TIMES.size) and jac.shape == (3, TIMES.size, fm.n_params)
    # the same sums in another order: late, cancelling gates agree to ~1e-9
    np.testing.assert_allclose(data, fm.forward(models, precision="double"), rtol=1e-8)
    step = 1e-4
    for j in range(fm.n_params):
        factor = np.ones(fm.n_params)
        factor[j] = np.exp(step)
        up = fm.forward(models * factor, precision="double")
        down = fm.forward(models / factor, precision="double")
        central = (up - down) / (2 * step)
        np.testing.assert_allclose(jac[:, :, j], central, rtol=1e-5, atol=1e-9 * np.abs(data).max())


def test_jacobian_of_a_large_batch_runs_in_chunks_with_the_same_rows():
    fm = forward_models.create("tem-central-loop", n_layers=3, times_s=TIMES, loop_radius_m=20.0)
    rng = np.random.default_rng(3)
    n = fm.chunk_rows + 5
    models = np.column_stack([10 ** rng.uniform(0, 3, (n, 3)), 10 ** rng.uniform(0, 2, (n, 2))])
    data, jac = fm.forward_and_jacobian(models)
    for i in (0, fm.chunk_rows - 1, fm.chunk_rows, n - 1):
        one_data, one_jac = fm.forward_and_jacobian(models[i])
        # several models per block: BLAS sums the operator products in another order (≤ 1e-12
        # relative seen); a misplaced row would differ by far more
        np.testing.assert_allclose(data[i], one_data[0], rtol=1e-10)
        scale = np.abs(one_jac[0]).max(axis=1, keepdims=True)  # per datum
        assert np.all(np.abs(jac[i] - one_jac[0]) <= 1e-10 * scale), i


def _deep_stack(n_layers: int = 30) -> np.ndarray:
    """One coincident-loop stack model (2N−1,): ρ 5–500 Ω·m over log-spaced layers to 600 m."""
    rng = np.random.default_rng(7)
    thk = np.diff(np.geomspace(1.0, 600.0, n_layers))
    return np.concatenate([10 ** rng.uniform(0.7, 2.7, n_layers), thk])


def test_pairs_that_cannot_see_deep_layers_are_left_out_without_changing_the_data(monkeypatch):
    """Pairs with 2λz beyond SEEN_NEPERS skip the layers below z (the recursion's work on a
    30-layer stack roughly halves); data and Jacobian equal the full recursion's."""
    from forward_models import _tem_kernel

    model = _deep_stack()
    fm = forward_models.create(
        "tem-coincident-loop", n_layers=30, times_s=np.geomspace(1e-5, 3e-3, 25), loop_side_m=25.0
    )
    seen = _tem_kernel.active_pairs(model[None, 30:], fm._pairs(np))
    assert seen[0] == fm._pairs(np).size and seen == sorted(seen, reverse=True)
    assert sum(seen) < 0.7 * 30 * seen[0]
    pruned = fm.forward(model, precision="double"), *fm.forward_and_jacobian(model)
    monkeypatch.setattr(_tem_kernel, "SEEN_NEPERS", np.inf)
    assert _tem_kernel.active_pairs(model[None, 30:], fm._pairs(np)) == [seen[0]] * 30
    full = fm.forward(model, precision="double"), *fm.forward_and_jacobian(model)
    # late gates cancel ~10⁵-fold in the sine transform: rounding shows at ~10⁻¹²
    np.testing.assert_allclose(pruned[0], full[0], rtol=1e-10)
    np.testing.assert_allclose(pruned[1], full[1], rtol=1e-10)
    scale = np.abs(full[2][0]).max(axis=1, keepdims=True)  # per datum
    assert np.all(np.abs(pruned[2][0] - full[2][0]) <= 1e-11 * scale)


def test_jacobians_in_concurrent_threads_keep_their_own_buffers():
    """The gradient's buffers are kept per thread: two threads alternating between two models
    get each model's own Jacobian, every time."""
    from concurrent.futures import ThreadPoolExecutor

    fm = forward_models.create(
        "tem-coincident-loop", n_layers=30, times_s=np.geomspace(1e-5, 3e-3, 25), loop_side_m=25.0
    )
    a = _deep_stack()
    b = a.copy()
    b[:30] = b[:30][::-1]
    expected = {0: fm.forward_and_jacobian(a)[1], 1: fm.forward_and_jacobian(b)[1]}
    assert not np.allclose(expected[0], expected[1])
    with ThreadPoolExecutor(2) as pool:
        got = list(pool.map(lambda i: (i % 2, fm.forward_and_jacobian((a, b)[i % 2])[1]), range(8)))
    for which, jac in got:
        np.testing.assert_array_equal(jac, expected[which])
