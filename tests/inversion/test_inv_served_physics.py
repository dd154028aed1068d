"""The canonical-frame data misfit of served networks (inversion.served.physics)."""

from __future__ import annotations

import numpy as np
import pytest

from inversion.served.frame import METHODS
from inversion.served.network import TrainingSettings, synthetic, train_served
from inversion.served.physics import CanonicalMisfitLoss

NOISE = TrainingSettings(rho_a_rel=0.03, phase_deg=1.0)


def _loss(
    method: str, n_layers: int, x: np.ndarray, y: np.ndarray, cauchy_scale: float | None = None
) -> CanonicalMisfitLoss:
    return CanonicalMisfitLoss(
        METHODS[method],
        n_layers,
        x.mean(axis=0),
        x.std(axis=0) + 1e-6,
        y.mean(axis=0),
        y.std(axis=0) + 1e-6,
        y.min(axis=0),
        y.max(axis=0),
        NOISE.rho_a_rel,
        NOISE.phase_deg,
        weight=1.0,
        cauchy_scale=cauchy_scale,
    )


@pytest.mark.parametrize("method", ["ves-schlumberger", "ves-wenner", "mt-1d"])
def test_true_models_fit_their_noisy_features_to_chi_one(method: str) -> None:
    """The frame is consistent: each synthetic row's own true model, fed back as the
    network's answer, explains its noisy features to χ² ≈ 1 per datum (3 % / 1° noise)."""
    x, y = synthetic(method, 3, 400, NOISE, np.random.default_rng(1))
    loss = _loss(method, 3, x, y)
    xs, ys = (x - loss.x_mean) / loss.x_std, (y - loss.y_mean) / loss.y_std
    value, _ = loss(xs, ys)
    assert value / x.shape[0] == pytest.approx(1.0, abs=0.1)
    wrong, _ = loss(xs, ys[::-1])  # the answers of other rows do not fit
    assert wrong / x.shape[0] > 20.0


@pytest.mark.parametrize(
    ("method", "cauchy_scale"),
    [("ves-schlumberger", None), ("ves-schlumberger", 2.0), ("mt-1d", None), ("mt-1d", 2.0)],
)
def test_gradient_matches_finite_differences(method: str, cauchy_scale: float | None) -> None:
    x, y = synthetic(method, 3, 50, NOISE, np.random.default_rng(2))
    loss = _loss(method, 3, x, y, cauchy_scale)
    xs = (x[:4] - loss.x_mean) / loss.x_std
    out = (y[:4] - loss.y_mean) / loss.y_std + np.random.default_rng(3).normal(0, 0.3, (4, 5))
    _, served_grad = loss(xs, out)  # MT: float32 (loss_precision)
    loss.precision = "double"  # central differences of 10⁻⁶ need float64
    _, grad = loss(xs, out)
    np.testing.assert_allclose(served_grad, grad, rtol=1e-3, atol=1e-4 * np.abs(grad).max())
    step = 1e-6
    numeric = np.zeros_like(out)
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            up, down = out.copy(), out.copy()
            up[i, j] += step
            down[i, j] -= step
            numeric[i, j] = (
                (loss(xs[i : i + 1], up[i : i + 1])[0]) - loss(xs[i : i + 1], down[i : i + 1])[0]
            )
    numeric /= 2 * step
    np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-6 * np.abs(numeric).max())


def test_the_cauchy_term_is_chi_squared_near_a_fit_and_caps_the_pull_of_a_misfit() -> None:
    """c ln(1 + χ²/c) per row, its gradient the χ² one times 1/(1 + χ²/c): unchanged where a
    row fits (χ² ≈ 1 ≪ c… within 1/(1 + 1/c)), a fraction where it does not."""
    x, y = synthetic("ves-schlumberger", 3, 200, NOISE, np.random.default_rng(6))
    plain, robust = _loss("ves-schlumberger", 3, x, y), _loss("ves-schlumberger", 3, x, y, 2.0)
    xs, ys = (x - plain.x_mean) / plain.x_std, (y - plain.y_mean) / plain.y_std
    answers = ys.copy()  # the first half: the true models; the second: perturbed
    answers[100:] += np.random.default_rng(7).normal(0.0, 0.5, answers[100:].shape)
    chi2, grad = plain.rows(xs, answers)
    values, robust_grad = robust.rows(xs, answers)
    np.testing.assert_allclose(values, 2.0 * np.log1p(chi2 / 2.0), rtol=1e-12)
    np.testing.assert_allclose(robust_grad, grad / (1.0 + chi2 / 2.0)[:, None], rtol=1e-12)
    assert chi2.min() < 3.0 and chi2.max() > 50.0  # both kinds of row are in the test
    far = chi2 > 50.0
    assert np.all(values[far] < 0.25 * chi2[far])  # a misfit of 50+ counts for a fraction


def test_the_served_settings_choose_the_robust_term_per_method() -> None:
    """Cauchy for VES by default, χ² for MT; the scale is part of the saved settings and
    changes what a VES network learns."""
    assert TrainingSettings().misfit_cauchy_scale == {"ves-schlumberger": 2.0, "ves-wenner": 2.0}
    common = dict(n_samples=1500, n_members=1, data_misfit_weight=0.3,
                  network={"hidden": 8, "max_epochs": 3})  # fmt: skip
    robust = train_served("ves-schlumberger", 2, TrainingSettings(**common))
    plain = train_served("ves-schlumberger", 2, TrainingSettings(**common, misfit_cauchy_scale={}))
    assert robust.settings["misfit_cauchy_scale"]["ves-schlumberger"] == 2.0
    assert plain.settings["misfit_cauchy_scale"] == {}
    x, _ = synthetic("ves-schlumberger", 2, 20, NOISE, np.random.default_rng(8))
    assert not np.allclose(robust.predict(x), plain.predict(x))
    with pytest.raises(ValueError, match="misfit_cauchy_scale"):
        TrainingSettings(misfit_cauchy_scale={"ves-schlumberger": 0.0})


def test_outputs_beyond_the_clip_get_no_gradient() -> None:
    x, y = synthetic("ves-schlumberger", 2, 50, NOISE, np.random.default_rng(4))
    loss = _loss("ves-schlumberger", 2, x, y)
    xs = (x[:2] - loss.x_mean) / loss.x_std
    out = np.full((2, 3), 1e3)  # thousands of standard deviations out
    value, grad = loss(xs, out)
    assert np.isfinite(value)
    assert np.all(grad == 0.0)


def test_tem_is_refused() -> None:
    with pytest.raises(ValueError, match="VES and MT"):
        CanonicalMisfitLoss(METHODS["tem-central-loop"], 2, *[np.zeros(3)] * 6, 0.03, 1.0, 1.0)


def test_training_with_the_term_lowers_the_held_out_misfit() -> None:
    """Same data, seed and network: the term lowers the misfit of the answers on held-out
    soundings (the point of physics-guided training)."""
    common = dict(n_samples=3000, n_members=1, network={"hidden": 16, "max_epochs": 15})
    plain = train_served("mt-1d", 2, TrainingSettings(**common))
    guided = train_served("mt-1d", 2, TrainingSettings(**common, data_misfit_weight=1.0))
    assert guided.settings["data_misfit_weight"] == 1.0
    x, y = synthetic("mt-1d", 2, 300, NOISE, np.random.default_rng(5))
    misfits = []
    for net in (plain, guided):
        loss = CanonicalMisfitLoss(
            METHODS["mt-1d"], 2, net.x_mean, net.x_std, net.y_mean, net.y_std,
            y.min(axis=0), y.max(axis=0), 0.03, 1.0, 1.0,
        )  # fmt: skip
        answer = net.predict(x).mean(axis=0)
        misfits.append(loss((x - net.x_mean) / net.x_std, (answer - net.y_mean) / net.y_std)[0])
    assert misfits[1] < 0.7 * misfits[0]
