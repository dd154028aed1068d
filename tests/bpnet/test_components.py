"""Activations, losses, initialisers and schedules against their formulas."""

import math

import numpy as np
import pytest

from bpnet.activations import get_activation
from bpnet.initializers import initialize
from bpnet.losses import get_loss, mean_loss
from bpnet.schedules import make_schedule

Z = np.linspace(-3, 3, 13)

REFERENCE = {
    "sigmoid": (1 / (1 + np.exp(-Z)), np.exp(-Z) / (1 + np.exp(-Z)) ** 2),
    "tanh": (np.tanh(Z), 1 / np.cosh(Z) ** 2),
    "relu": (np.maximum(Z, 0), (Z > 0).astype(float)),
    "leaky_relu": (np.where(Z > 0, Z, 0.01 * Z), np.where(Z > 0, 1.0, 0.01)),
    "elu": (np.where(Z > 0, Z, np.expm1(Z)), np.where(Z > 0, 1.0, np.exp(Z))),
}


@pytest.mark.parametrize("name", list(REFERENCE))
def test_activation_value_and_derivative(name):
    act = get_activation(name)
    value, slope = REFERENCE[name]
    np.testing.assert_allclose(act.value(np, Z), value, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(act.derivative(np, Z), slope, rtol=1e-12, atol=1e-15)


def test_activation_forward_adds_bias_in_place():
    z = np.array([[0.0, 1.0], [-1.0, 2.0]])
    get_activation("tanh").forward_(np, z, np.array([0.5, -0.5]), np.empty_like(z))
    np.testing.assert_allclose(z, np.tanh([[0.5, 0.5], [-0.5, 1.5]]))


def test_linear_output_is_identity():
    np.testing.assert_array_equal(get_activation("linear", output=True).value(np, Z), Z)


def test_unknown_activation_names_the_field():
    with pytest.raises(ValueError, match="activation: unknown name 'swish'"):
        get_activation("swish")
    with pytest.raises(ValueError, match="output_activation"):
        get_activation("tanh", output=True)


R = np.array([[-2.5, -0.5], [0.2, 3.0]])


def test_loss_values():
    assert mean_loss("mse", R, 0 * R) == pytest.approx(np.mean(R**2))
    assert mean_loss("mae", R, 0 * R) == pytest.approx(np.mean(np.abs(R)))
    huber = [2.0, 0.125, 0.02, 2.5]  # 1·(2.5−0.5), 0.5·0.25, 0.5·0.04, 1·(3−0.5)
    assert mean_loss("huber", R, 0 * R) == pytest.approx(np.mean(huber))


@pytest.mark.parametrize(
    "name,slope",
    [("mse", 2 * R), ("mae", np.sign(R)), ("huber", np.clip(R, -1, 1))],
)
def test_loss_gradient_and_sum(name, slope):
    r = R.copy()
    total = get_loss(name).grad_(np, r, np.empty_like(r), 0.25)
    np.testing.assert_allclose(r, 0.25 * slope)
    assert float(total) == pytest.approx(mean_loss(name, R, 0 * R) * R.size)


def test_xavier_and_he_limits():
    rng = np.random.default_rng(0)
    w = initialize("xavier", rng, 30, 64, 5)
    assert np.abs(w["W1"]).max() <= math.sqrt(6 / 94)
    assert np.abs(w["W1"]).max() > 0.9 * math.sqrt(6 / 94)
    assert not w["b1"].any() and not w["b2"].any()
    h = initialize("he", rng, 30, 64, 5)
    assert np.abs(h["W1"]).max() <= math.sqrt(6 / 30)
    assert np.abs(h["W1"]).max() > 0.9 * math.sqrt(6 / 30)


def test_fan_in_limits_cover_weights_and_biases():
    w = initialize("fan-in", np.random.default_rng(0), 30, 64, 5)
    for name, fan_in in (("W1", 30), ("b1", 30), ("W2", 64), ("b2", 64)):
        limit = 1 / math.sqrt(fan_in)
        assert np.abs(w[name]).max() <= limit, name
    assert np.abs(w["W1"]).max() > 0.9 / math.sqrt(30)
    assert np.abs(w["b1"]).max() > 0.9 / math.sqrt(30)  # biases are drawn, not zero
    assert np.abs(w["W2"]).max() > 0.9 / math.sqrt(64)


def test_nguyen_widrow_scales_hidden_weight_vectors():
    w = initialize("nguyen-widrow", np.random.default_rng(0), 4, 10, 2)
    beta = 0.7 * 10 ** (1 / 4)
    np.testing.assert_allclose(np.linalg.norm(w["W1"], axis=0), beta)
    assert np.abs(w["b1"]).max() <= beta
    assert np.abs(w["W2"]).max() <= 0.5


def test_initializers_depend_only_on_the_generator():
    a = initialize("xavier", np.random.default_rng(3), 3, 4, 2)
    b = initialize("xavier", np.random.default_rng(3), 3, 4, 2)
    np.testing.assert_array_equal(a["W1"], b["W1"])
    with pytest.raises(ValueError, match="init: unknown name"):
        initialize("orthogonal", np.random.default_rng(0), 3, 4, 2)


def test_step_schedule():
    s = make_schedule("step", 100, {"step_size": 10, "gamma": 0.1})
    assert [s.factor(e, 0.0) for e in (0, 9, 10, 25)] == pytest.approx([1, 1, 0.1, 0.01])


def test_cosine_schedule():
    s = make_schedule("cosine", 100, {"min_factor": 0.1})
    assert s.factor(0, 0.0) == pytest.approx(1.0)
    assert s.factor(50, 0.0) == pytest.approx(0.55)
    assert s.factor(100, 0.0) == pytest.approx(0.1)


def test_plateau_schedule_reduces_after_patience():
    s = make_schedule("plateau", 100, {"patience": 2, "gamma": 0.5})
    factors = [s.factor(e, loss) for e, loss in enumerate([1.0, 0.5, 0.5, 0.5, 0.5, 0.4])]
    assert factors == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5]


def test_schedule_validation():
    with pytest.raises(ValueError, match="schedule: unknown name 'linear'"):
        make_schedule("linear", 10)
    with pytest.raises(ValueError, match="schedule_params.gamma: must be <= 1"):
        make_schedule("step", 10, {"gamma": 2.0})
    with pytest.raises(ValueError, match="schedule_params.warmup: unknown parameter"):
        make_schedule("cosine", 10, {"warmup": 3})
