"""``fit(..., output_loss=…)``: an extra loss on the network's own outputs (e.g. a data misfit of
the forward response of the predicted model, supplied by the caller on plain arrays)."""

import numpy as np
import pytest

from bpnet import BPEnsemble, BPNetwork, _core
from bpnet._training import Problem
from bpnet.activations import get_activation
from bpnet.initializers import initialize
from bpnet.losses import get_loss

TARGET = np.array([0.5, -1.0])


def quartic_pull(inputs, outputs):
    """Σ_rows Σ_j (o_j − t_j)⁴ · (1 + x_0²): depends on inputs and outputs, non-quadratic."""
    weight = 1.0 + inputs[:, :1] ** 2
    diff = outputs - TARGET
    return float(np.sum(weight * diff**4)), 4 * weight * diff**3


def make_problem(output_loss, sigmoid=False, n=9, n_in=3, h=5, m=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_in))
    Y = rng.uniform(0.1, 0.9, size=(n, m)) if sigmoid else rng.normal(size=(n, m))
    layout = _core.Layout(n_in, h, m, True)
    theta = layout.pack(initialize("fan-in", rng, n_in, h, m), np, np.float64)
    return Problem(
        np,
        layout,
        theta,
        (X, Y, X, Y),
        get_activation("tanh"),
        get_activation("sigmoid" if sigmoid else "linear", output=True),
        get_loss("mse"),
        0.0,
        batch_rows=n,
        output_loss=output_loss,
    )


@pytest.mark.parametrize("sigmoid", [False, True])
def test_gradient_of_the_combined_loss_matches_finite_differences(sigmoid):
    p = make_problem(quartic_pull, sigmoid)
    n, m = p.Y.shape
    total = p.batch_gradient(slice(0, n))
    analytic = p.grad.copy()
    assert float(total) == pytest.approx(p.mean_loss(p.X, p.Y) * n * m, rel=1e-12)
    numeric = np.zeros_like(p.theta)
    eps = 1e-6
    for i in range(p.theta.size):
        old = p.theta[i]
        p.theta[i] = old + eps
        up = p.mean_loss(p.X, p.Y)
        p.theta[i] = old - eps
        down = p.mean_loss(p.X, p.Y)
        p.theta[i] = old
        numeric[i] = (up - down) / (2 * eps)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-8)
    without = make_problem(None, sigmoid)
    without.batch_gradient(slice(0, n))
    assert np.abs(analytic - without.grad).max() > 1e-3  # the extra term changed the gradient


def test_training_with_an_output_loss_moves_outputs_toward_what_it_rewards():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(3000, 4))
    Y = X[:, :2] @ np.array([[1.0, 0.5], [-0.5, 1.0]])

    def pull(inputs, outputs):  # 5 · Σ (o − t)²: pulls every output toward TARGET
        diff = outputs - TARGET
        return 5.0 * float(np.sum(diff**2)), 10.0 * diff

    keywords = {"hidden": 16, "max_epochs": 30, "dtype": "float64", "seed": 0}
    plain = BPNetwork(**keywords).fit(X, Y)
    pulled = BPNetwork(**keywords, n_jobs=2).fit(X, Y, output_loss=pull)
    # the minimiser of (o − y)² + 5 (o − t)² is (y + 5 t)/6 for each row
    expected = (Y + 5 * TARGET) / 6
    error_pulled = np.abs(pulled.predict(X) - expected).mean()
    error_plain = np.abs(plain.predict(X) - expected).mean()
    assert error_pulled < 0.1 * error_plain, (error_pulled, error_plain)
    assert pulled.history_[-1]["val_loss"] > plain.history_[-1]["val_loss"]  # it counts there


def test_ensemble_members_get_the_output_loss():
    X = np.random.default_rng(2).normal(size=(600, 3))
    Y = X[:, :2].copy()
    seen = []

    def spy(inputs, outputs):
        seen.append(outputs.shape)
        return 0.0, np.zeros_like(outputs)

    BPEnsemble(n_members=2, hidden=4, max_epochs=2, seed=0).fit(X, Y, output_loss=spy)
    assert seen and all(shape[1] == 2 for shape in seen)


def test_output_loss_is_checked():
    X, Y = np.zeros((50, 2)), np.zeros((50, 1))
    with pytest.raises(ValueError, match="output_loss: must be callable"):
        BPNetwork(max_epochs=1).fit(X, Y, output_loss=3)
    with pytest.raises(ValueError, match="output_loss: optimizer 'lm'"):
        BPNetwork(optimizer="lm", max_epochs=1).fit(X, Y, output_loss=quartic_pull)
