"""Back-propagation gradients against central finite differences, every activation × loss."""

import itertools

import numpy as np
import pytest

from bpnet import _core
from bpnet._training import Problem
from bpnet.activations import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS, get_activation
from bpnet.initializers import initialize
from bpnet.levenberg import jacobian
from bpnet.losses import LOSSES, get_loss


def make_problem(act, out_act, loss, bias=True, l2=0.0, n=7, n_in=3, h=4, m=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_in))
    Y = rng.uniform(0.1, 0.9, size=(n, m)) if out_act == "sigmoid" else rng.normal(size=(n, m))
    layout = _core.Layout(n_in, h, m, bias)
    w = initialize("nguyen-widrow", rng, n_in, h, m)
    theta = layout.pack(w, np, np.float64)
    theta += rng.normal(scale=0.3, size=theta.shape)  # break symmetric/zero biases
    return Problem(
        np,
        layout,
        theta,
        (X, Y, None, None),
        get_activation(act),
        get_activation(out_act, output=True),
        get_loss(loss),
        l2,
        batch_rows=n,
    )


def objective(p: Problem) -> float:
    """Mean loss + l2/2 Σw² at p.theta (independent forward pass)."""
    out = _core.predict(np, p.P, p.X, p.act, p.out_act)
    w = p.theta[: p.layout.n_weights]
    return p.loss.value(np, out - p.Y) + 0.5 * p.l2 * float(w @ w)


def numeric_gradient(p: Problem, eps: float = 1e-6) -> np.ndarray:
    g = np.zeros_like(p.theta)
    for i in range(p.theta.size):
        old = p.theta[i]
        p.theta[i] = old + eps
        fp = objective(p)
        p.theta[i] = old - eps
        fm = objective(p)
        p.theta[i] = old
        g[i] = (fp - fm) / (2 * eps)
    return g


@pytest.mark.parametrize(
    "act,out_act,loss", list(itertools.product(HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS, LOSSES))
)
def test_gradient_matches_finite_differences(act, out_act, loss):
    p = make_problem(act, out_act, loss)
    total = p.batch_gradient(slice(0, p.n_train))
    num = numeric_gradient(p)
    np.testing.assert_allclose(p.grad, num, rtol=1e-5, atol=1e-8)
    # the returned value is the summed element loss: n·m times the mean loss
    assert float(total) == pytest.approx(objective(p) * p.Y.size, rel=1e-12)


@pytest.mark.parametrize("bias", [True, False])
def test_gradient_with_l2_and_without_bias(bias):
    p = make_problem("tanh", "linear", "mse", bias=bias, l2=0.05)
    p.batch_gradient(slice(0, p.n_train))
    np.testing.assert_allclose(p.grad, numeric_gradient(p), rtol=1e-5, atol=1e-8)
    assert p.theta.size == (3 * 4 + 4 * 2 + (4 + 2 if bias else 0))


def test_full_batch_gradient_in_chunks_equals_one_batch():
    p = make_problem("elu", "linear", "huber", n=23)
    p.batch_gradient(slice(0, p.n_train))
    whole = p.grad.copy()
    chunked = make_problem("elu", "linear", "huber", n=23)
    chunked.ws = _core.Workspace(np, 5, 4, 2, np.float64)  # force 5 chunks
    chunked.full_gradient()
    np.testing.assert_allclose(chunked.grad, whole, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("out_act", list(OUTPUT_ACTIVATIONS))
@pytest.mark.parametrize("bias", [True, False])
def test_lm_jacobian_matches_finite_differences(out_act, bias):
    p = make_problem("sigmoid", out_act, "mse", bias=bias, n=5)
    J, e = jacobian(p, p.X, p.Y)
    eps = 1e-6
    num = np.zeros_like(J)
    for i in range(p.theta.size):
        old = p.theta[i]
        p.theta[i] = old + eps
        up = _core.predict(np, p.P, p.X, p.act, p.out_act).reshape(-1)
        p.theta[i] = old - eps
        down = _core.predict(np, p.P, p.X, p.act, p.out_act).reshape(-1)
        p.theta[i] = old
        num[:, i] = (up - down) / (2 * eps)
    np.testing.assert_allclose(J, num, rtol=1e-5, atol=1e-9)
    out = _core.predict(np, p.P, p.X, p.act, p.out_act)
    np.testing.assert_allclose(e, (out - p.Y).reshape(-1))
