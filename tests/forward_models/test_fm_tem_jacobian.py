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
