"""Champion/challenger (inversion.served.champion): the fixed held-out set, the metric and the
promotion rule."""

from __future__ import annotations

import math

import numpy as np
import pytest

import forward_models
from inversion.misfit import chi
from inversion.served import ServedSet, TrainingSettings, train_served
from inversion.served.champion import (
    FIELD_POINTS_PER_DECADE,
    FIELD_SPANS_DECADES,
    challenger_wins,
    evaluate,
    held_out_set,
    held_out_soundings,
    random_truth,
)

WEAK = TrainingSettings(n_samples=600, n_members=1, network={"hidden": 4, "max_epochs": 1})
STRONG = TrainingSettings(
    n_samples=4000, n_members=2, network={"hidden": 32, "max_epochs": 25, "learning_rate": 3e-3}
)


@pytest.fixture(scope="module")
def nets():
    return {name: train_served("mt-1d", 2, s) for name, s in (("weak", WEAK), ("strong", STRONG))}


def test_the_held_out_set_is_fixed_by_method_layers_and_seed() -> None:
    a, b = held_out_soundings("mt-1d", 3, 5), held_out_soundings("mt-1d", 3, 5)
    assert a == b
    assert a != held_out_soundings("mt-1d", 2, 5)
    assert a != held_out_soundings("mt-1d", 3, 5, seed=1)
    ves = held_out_soundings("ves-schlumberger", 3, 3)
    assert all(0.5 <= min(o["ab2_m"]) and max(o["ab2_m"]) <= 3e4 for o in ves)
    with pytest.raises(ValueError, match="method"):
        held_out_soundings("no-such-method", 3, 5)


@pytest.mark.parametrize(("method", "kind"), [("ves-schlumberger", "ves"), ("mt-1d", "mt")])
def test_field_geometries_have_the_spans_and_densities_of_real_soundings(method, kind) -> None:
    rng = np.random.default_rng(3)
    low, high = FIELD_SPANS_DECADES[kind]
    for _ in range(50):
        axis, model, data = random_truth(method, (1, 5), rng, "field")
        span = np.log10(axis[-1] / axis[0])
        assert low - 1e-9 <= span <= high + 1e-9
        assert int(span * FIELD_POINTS_PER_DECADE[0]) + 1 <= axis.size
        assert axis.size <= int(span * FIELD_POINTS_PER_DECADE[1]) + 1
        assert np.all(np.diff(axis) >= 0) and np.all(np.isfinite(data)) and model.size % 2 == 1
    wide = [random_truth(method, 2, rng)[0] for _ in range(200)]
    assert min(np.log10(a[-1] / a[0]) for a in wide) < low  # the wide default is wider
    with pytest.raises(ValueError, match="geometry"):
        random_truth(method, 2, rng, "sparse")


def test_the_held_out_set_carries_the_true_model_of_each_sounding() -> None:
    pairs = held_out_set("mt-1d", 3, 20)
    assert [obs for obs, _ in pairs] == held_out_soundings("mt-1d", 3, 20)
    chis = []
    for obs, truth in pairs:
        assert truth.shape == (5,) and np.all(truth > 0)
        fm = forward_models.create("mt-1d", n_layers=3, periods_s=obs["periods_s"])
        data = fm.forward(truth, precision="double")[0]
        noisy = np.concatenate([obs["rho_a_ohmm"], obs["phase_deg"]])
        is_phase = np.arange(data.size) >= len(obs["periods_s"])
        chis.append(float(chi(noisy, data, is_phase, np.where(is_phase, 1.0, 0.03))))
    # the truth explains its noisy data to the noise (3 %, 1°): χ about 1, not the misfit of
    # another sounding's model
    assert 0.7 < np.median(chis) < 1.3
    with pytest.raises(ValueError, match="method"):
        held_out_set("tem-central-loop", 3, 2)


def test_the_network_fit_is_the_model_behind_the_network_chi(nets) -> None:
    served = ServedSet([nets["strong"]], max_layers=2)
    for obs in held_out_soundings("mt-1d", 2, 5):
        (sounding,) = served.parse(obs)
        model, value = served.network_fit(sounding, 2)
        assert value == served.network_chi(sounding, 2)
        fm = forward_models.create("mt-1d", n_layers=2, periods_s=obs["periods_s"])
        data = fm.forward(model, precision="double")[0]
        noisy = np.concatenate([obs["rho_a_ohmm"], obs["phase_deg"]])
        is_phase = np.arange(data.size) >= len(obs["periods_s"])
        sigma = np.where(is_phase, 1.0, 0.03)
        assert float(chi(noisy, data, is_phase, sigma)) == pytest.approx(value, rel=1e-6)
    assert served.network_fit(sounding, 3) is None  # no 3-layer network in this set


def test_metric_is_the_network_only_chi_of_the_full_served_path(nets) -> None:
    soundings = held_out_soundings("mt-1d", 2, 12)
    metrics = evaluate(nets["strong"], soundings)
    full = ServedSet([nets["strong"]], max_layers=2).invert(soundings, max_layers=2)
    expected = [next(c["network_chi"] for c in r["candidates"] if c["n_layers"] == 2) for r in full]
    assert metrics["n_evaluated"] == 12 and metrics["n_refused"] == 0
    assert metrics["median_network_chi"] == pytest.approx(float(np.median(expected)), rel=1e-9)


def test_a_better_trained_network_scores_lower(nets) -> None:
    soundings = held_out_soundings("mt-1d", 2, 30)
    weak, strong = evaluate(nets["weak"], soundings), evaluate(nets["strong"], soundings)
    assert strong["median_network_chi"] < weak["median_network_chi"]
    assert challenger_wins(weak, strong) and not challenger_wins(strong, weak)


@pytest.mark.parametrize(
    ("champion", "challenger", "margin", "wins"),
    [
        (None, 3.0, 0.0, True),
        (math.inf, 3.0, 0.0, True),
        (4.0, 3.0, 0.0, True),
        (3.0, 3.0, 0.0, False),
        (3.0, 4.0, 0.0, False),
        (4.0, 3.9, 0.05, False),
        (4.0, 3.7, 0.05, True),
        (4.0, math.inf, 0.0, False),
        (None, math.nan, 0.0, False),
    ],
)
def test_promotion_rule(champion, challenger, margin, wins) -> None:
    old = None if champion is None else {"median_network_chi": champion}
    assert challenger_wins(old, {"median_network_chi": challenger}, margin) is wins
