"""Each optimiser's update against its formula, and each one training a known problem."""

import math

import numpy as np
import pytest

from bpnet import BPNetwork
from bpnet.optimizers import OPTIMIZERS, make_optimizer

THETA0 = np.array([0.5, -1.0, 2.0, 0.0])
GRADS = [np.array([0.1, -0.2, 0.3, 0.0]), np.array([0.2, 0.1, -0.3, 0.4])]


def run(name, lr, **params):
    opt = make_optimizer(name, lr, params)
    opt.setup(np, THETA0.size, np.float64)
    theta = THETA0.copy()
    for g in GRADS:
        opt.update(theta, g.copy())
    return theta


def test_sgd_and_gd_formula():
    expected = THETA0 - 0.1 * (GRADS[0] + GRADS[1])
    np.testing.assert_allclose(run("sgd", 0.1), expected)
    np.testing.assert_allclose(run("gd", 0.1), expected)


def test_momentum_formula():
    v = -0.1 * GRADS[0]
    theta = THETA0 + v
    v = 0.9 * v - 0.1 * GRADS[1]
    np.testing.assert_allclose(run("momentum", 0.1, momentum=0.9), theta + v)


def test_nesterov_formula():
    theta, v = THETA0.copy(), np.zeros(4)
    for g in GRADS:
        v = 0.8 * v - 0.1 * g
        theta = theta + 0.8 * v - 0.1 * g
    np.testing.assert_allclose(run("nesterov", 0.1, momentum=0.8), theta)


def test_rmsprop_formula():
    theta, s = THETA0.copy(), np.zeros(4)
    for g in GRADS:
        s = 0.9 * s + 0.1 * g**2
        theta = theta - 0.01 * g / (np.sqrt(s) + 1e-8)
    np.testing.assert_allclose(run("rmsprop", 0.01, rho=0.9), theta)


def test_adam_formula():
    theta, m, v = THETA0.copy(), np.zeros(4), np.zeros(4)
    b1, b2, eps, lr = 0.9, 0.999, 1e-8, 0.01
    for t, g in enumerate(GRADS, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        theta = theta - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    np.testing.assert_allclose(run("adam", lr), theta, rtol=1e-12)


def test_rprop_formula():
    theta = THETA0.copy()
    step = np.full(4, 0.1)
    g0, g1 = GRADS
    theta = theta - np.sign(g0) * step
    prod = g1 * g0
    step = np.where(prod > 0, step * 1.2, np.where(prod < 0, step * 0.5, step))
    g1 = np.where(prod < 0, 0.0, g1)
    theta = theta - np.sign(g1) * step
    np.testing.assert_allclose(run("rprop", 0.1), theta)


def test_optimizer_params_are_validated():
    with pytest.raises(ValueError, match="optimizer_params.momentum: must be < 1.0"):
        make_optimizer("momentum", 0.1, {"momentum": 1.0})
    with pytest.raises(ValueError, match="optimizer_params.beta_3: unknown parameter"):
        make_optimizer("adam", 0.1, {"beta_3": 0.5})
    with pytest.raises(ValueError, match="optimizer: unknown name 'adagrad'"):
        make_optimizer("adagrad", 0.1)


SETTINGS = {
    "gd": 0.5,
    "sgd": 0.05,
    "momentum": 0.01,
    "nesterov": 0.01,
    "rmsprop": 1e-3,
    "adam": 3e-3,
    "rprop": 0.01,
    "lm": 1.0,
}


@pytest.mark.parametrize("name", list(SETTINGS))
def test_each_optimizer_reduces_the_loss(name, regression):
    assert set(SETTINGS) == set(OPTIMIZERS) | {"lm"}
    X, Y = regression
    net = BPNetwork(
        hidden=8,
        optimizer=name,
        learning_rate=SETTINGS[name],
        batch_size=32,
        max_epochs=15,
        early_stopping=False,
        dtype="float64",
    ).fit(X, Y)
    first, last = net.history_[0]["train_loss"], net.history_[-1]["train_loss"]
    assert last < 0.5 * first, (first, last)
    assert net.history_[-1]["val_loss"] < 0.5 * first


def rms_error(net, smooth_map, n=400):
    X = np.random.default_rng(7).uniform(-1, 1, size=(n, 3))
    return math.sqrt(np.mean((net.predict(X) - smooth_map(X)) ** 2))


def test_adam_fits_a_smooth_multi_output_function(regression, truth):
    """Adam, 3 → 16 tanh → 2, 150 epochs: test RMS error < 0.03 (targets have std ≈ 0.6)."""
    X, Y = regression
    net = BPNetwork(hidden=16, learning_rate=1e-2, batch_size=32, max_epochs=150, seed=1)
    net.fit(X, Y, callback=None)
    assert rms_error(net, truth) < 0.03


def test_lm_fits_a_smooth_multi_output_function(regression, truth):
    """Levenberg–Marquardt, 3 → 10 tanh → 2, ≤ 60 epochs: test RMS error < 0.01."""
    X, Y = regression
    net = BPNetwork(hidden=10, optimizer="lm", max_epochs=60, seed=1, patience=10)
    net.fit(X, Y)
    assert rms_error(net, truth) < 0.01
    assert net.dtype_ == "float64"


def test_lm_bounded_memory_chunks_give_the_same_step(regression):
    X, Y = regression
    kw = dict(hidden=6, optimizer="lm", max_epochs=3, early_stopping=False, seed=2)
    whole = BPNetwork(**kw).fit(X, Y)
    chunked = BPNetwork(**kw, optimizer_params={"chunk_rows": 37}).fit(X, Y)
    for k in whole.weights_:
        np.testing.assert_allclose(chunked.weights_[k], whole.weights_[k], rtol=1e-7, atol=1e-10)


def test_lm_rejects_non_mse_losses(regression):
    X, Y = regression
    with pytest.raises(ValueError, match="loss: optimizer 'lm'"):
        BPNetwork(optimizer="lm", loss="mae").fit(X, Y)
