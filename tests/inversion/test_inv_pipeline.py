"""The one training pipeline (``inversion.pipeline``) that the worker and ``geobp train`` call."""

from __future__ import annotations

import json

import numpy as np
import pytest

import forward_models
from inversion import pipeline, problem
from inversion.pipeline import TrainingSetup, train_inverter

SPEC = {
    "name": "tiny",
    "forward_model": {
        "name": "ves-schlumberger",
        "n_layers": 3,
        "ab2_m": np.geomspace(1.0, 100.0, 10).tolist(),
        "mn2_m": None,
    },
    "bounds": {"rho_ohmm": [1, 1000], "thickness_m": [1, 50]},
    "noise": {"rho_a_rel": 0.03},
    "sampler": "sobol",
    "n_samples": 1500,
    "n_test": 80,
    "seed": 4,
    "network": {"hidden": 8, "max_epochs": 5, "n_members": 2, "device": "cpu"},
}
RECORD_KEYS = {
    "forward_model",
    "domain",
    "noise",
    "network_config",
    "metrics",
    "seed",
    "n_samples",
}


def _without_timings(metrics: dict) -> dict:
    refined = {k: v for k, v in metrics["refined"].items() if k != "median_ms"}
    return {**metrics, "refined": refined}


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    return pipeline.generate_training_data(SPEC)


@pytest.fixture(scope="module")
def outcome(data) -> pipeline.TrainingOutcome:
    return train_inverter(SPEC, *data)


def test_setup_from_spec() -> None:
    setup = TrainingSetup.from_spec(SPEC)
    assert setup.forward_model.n_layers == 3 and setup.n_members == 2 and setup.seed == 4
    assert setup.network == {"hidden": 8, "max_epochs": 5, "device": "cpu"}
    assert (setup.n_samples, setup.n_test, setup.sampler) == (1500, 80, "sobol")
    assert TrainingSetup.from_spec({**SPEC, "n_test": None}).n_test == 200  # at least 200


def test_chunks_make_the_training_set(data) -> None:
    models, noisy = data
    chunks = [pipeline.generate_chunk(SPEC, i, 3) for i in range(3)]
    assert np.array_equal(np.concatenate([c[0] for c in chunks]), models)
    np.testing.assert_allclose(np.concatenate([c[1] for c in chunks]), noisy, rtol=1e-12)
    assert models.shape == (1500, 5) and noisy.shape == (1500, 10)


def test_held_out_set_uses_the_offset_seed() -> None:
    setup = TrainingSetup.from_spec(SPEC)
    seen = []
    models, data = pipeline.generate_held_out(setup, on_rows=lambda done, n: seen.append((done, n)))
    expected = forward_models.generate_dataset(
        setup.forward_model,
        setup.space,
        80,
        sampler="sobol",
        seed=4 + problem.TEST_SEED_OFFSET,
        noise=setup.noise,
    )
    assert np.array_equal(models, expected.models) and np.array_equal(data, expected.data)
    assert seen == [(80, 80)]


def test_outcome_metrics_and_record(outcome) -> None:
    assert not outcome.cancelled
    metrics = outcome.metrics
    assert {"val_loss", "held_out_loss", "n", "refined", "median_abs_log10_error"} <= set(metrics)
    assert metrics["held_out_loss"] == metrics["val_loss"] and metrics["n"] == 80
    assert metrics["refined"]["n"] == 50  # min(50, n_test)
    assert set(outcome.record) == RECORD_KEYS and outcome.record["metrics"] is metrics
    assert outcome.record["n_samples"] == 1500 and outcome.record["seed"] == 4
    assert outcome.record["network_config"] == SPEC["network"]
    assert set(outcome.record["domain"]) == {"rho1", "rho2", "rho3", "h1", "h2"}
    json.dumps(outcome.record, allow_nan=False)  # plain JSON, no NaN or infinity
    assert outcome.inverter.n_layers == 3


def test_same_seed_same_metrics(outcome, data) -> None:
    again = train_inverter(TrainingSetup.from_spec(SPEC), *data)
    assert _without_timings(again.metrics) == _without_timings(outcome.metrics)
    assert again.record["domain"] == outcome.record["domain"]


def test_callbacks_report_stages_epochs_and_rows(data) -> None:
    stages, epochs, rows = [], [], []
    train_inverter(
        SPEC,
        *data,
        callback=epochs.append,
        on_stage=stages.append,
        on_rows=lambda done, n: rows.append((done, n)),
    )
    assert stages == ["train", "evaluate"]
    assert {e["member"] for e in epochs} == {0, 1} and max(e["epoch"] for e in epochs) <= 5
    assert rows == [(80, 80)]


def test_should_stop_cancels_before_the_evaluation(data) -> None:
    stages, asked = [], []

    def stop() -> bool:
        asked.append(1)
        return True

    result = train_inverter(SPEC, *data, should_stop=stop, on_stage=stages.append)
    assert result.cancelled and result.metrics == {} and result.record == {}
    assert asked and stages == ["train"]


def test_a_stop_request_after_the_last_epoch_cancels(data, monkeypatch) -> None:
    fitted = []
    fit = pipeline.Inverter.fit

    def fit_and_note(self, *args, **kwargs):
        out = fit(self, *args, **kwargs)
        fitted.append(True)
        return out

    monkeypatch.setattr(pipeline.Inverter, "fit", fit_and_note)
    result = train_inverter(SPEC, *data, should_stop=lambda: bool(fitted))
    assert fitted and result.cancelled and result.metrics == {}


def test_headline_metrics() -> None:
    assert pipeline.headline_metrics({"val_loss": 0.5}) == {"val_loss": 0.5, "held_out_loss": 0.5}
    assert pipeline.headline_metrics({"val_loss": None}) == {"val_loss": None}


MT_CRUSTAL = {
    "name": "mt-crustal",
    "forward_model": {
        "name": "mt-1d",
        "n_layers": 3,
        "periods_s": np.geomspace(1e-3, 1e3, 16).tolist(),
    },
    "bounds": {"rho_ohmm": [0.1, 1e5], "thickness_m": [10, 1e5]},
    "noise": {"rho_a_rel": 0.03, "phase_deg": 1.5},
    "n_samples": 1500,
    "n_test": 60,
    "seed": 1,
    "network": {"hidden": 8, "max_epochs": 3, "n_members": 2, "device": "cpu"},
}


@pytest.fixture(scope="module")
def mt_data() -> tuple[np.ndarray, np.ndarray]:
    return pipeline.generate_training_data(MT_CRUSTAL)


def test_mt_training_with_phases_past_the_quadrant_succeeds(mt_data) -> None:
    """Noisy synthetic phases leave [0°, 90°]; calibration and evaluation must not refuse them."""
    models, data = mt_data
    phases = data[:, 16:]
    assert ((phases < 0) | (phases > 90)).any()  # the case the field check used to refuse
    _, held_out = pipeline.generate_held_out(MT_CRUSTAL)
    assert ((held_out[:, 16:] < 0) | (held_out[:, 16:] > 90)).any()
    result = train_inverter(MT_CRUSTAL, models, data)
    assert not result.cancelled
    assert result.metrics["refined"]["n"] == 50
    assert len(result.inverter.calibration_["refined_scale"]) == 5


def test_a_cancelled_training_skips_the_calibration(mt_data) -> None:
    result = train_inverter(MT_CRUSTAL, *mt_data, should_stop=lambda: True)
    assert result.cancelled and result.inverter.ensemble_.stop_reason_ == "cancelled"
    assert not hasattr(result.inverter, "calibration_")
