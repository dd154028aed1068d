"""BPNetwork: parameters, reproducibility, training loop features and bad input."""

import inspect

import numpy as np
import pytest

import bpnet
from bpnet import BPNetwork, NotFittedError, TrainingDivergedError
from bpnet.network import HYPERPARAMETERS

FAST = dict(hidden=6, max_epochs=5, batch_size=64)


def test_constructor_only_stores_and_matches_the_table():
    sig = inspect.signature(BPNetwork.__init__)
    params = [p for p in sig.parameters if p != "self"]
    assert params == list(HYPERPARAMETERS)
    for name in params:
        assert sig.parameters[name].default == HYPERPARAMETERS[name].default
    net = BPNetwork(activation="nonsense", learning_rate=-1)  # not validated until fit
    assert net.activation == "nonsense"
    assert net.get_params()["learning_rate"] == -1


def test_get_and_set_params_and_repr():
    net = BPNetwork(hidden=7).set_params(optimizer="sgd")
    assert net.get_params()["optimizer"] == "sgd"
    assert repr(net) == "BPNetwork(hidden=7, optimizer='sgd')"
    with pytest.raises(ValueError, match="hiden: unknown parameter"):
        net.set_params(hiden=3)


def test_same_seed_same_network_other_seed_other_network(regression):
    X, Y = regression
    a = BPNetwork(**FAST, seed=3).fit(X, Y)
    b = BPNetwork(**FAST, seed=3).fit(X, Y)
    c = BPNetwork(**FAST, seed=4).fit(X, Y)
    np.testing.assert_array_equal(a.weights_["W1"], b.weights_["W1"])
    assert a.history_[-1]["val_loss"] == b.history_[-1]["val_loss"]
    assert not np.array_equal(a.weights_["W1"], c.weights_["W1"])


def test_fitted_attributes(regression):
    X, Y = regression
    net = BPNetwork(**FAST, validation_fraction=0.25)
    assert not hasattr(net, "weights_")
    net.fit(X, Y)
    assert net.n_features_in_ == 3 and net.n_outputs_ == 2
    assert net.weights_["W1"].shape == (3, 6) and net.weights_["W2"].shape == (6, 2)
    assert net.weights_["b1"].shape == (6,) and net.weights_["b2"].shape == (2,)
    assert net.device_ == ("gpu" if bpnet.gpu_available() else "cpu")
    assert net.dtype_ == "float32" and net.weights_["W1"].dtype == np.float32
    assert net.n_train_samples_ == 450
    assert [h["epoch"] for h in net.history_] == [1, 2, 3, 4, 5]
    assert 1 <= net.best_epoch_ <= 5
    assert net.predict(X).shape == (600, 2) and net.predict(X).dtype == np.float64


def test_no_bias_network_has_no_bias_arrays(regression):
    X, Y = regression
    net = BPNetwork(**FAST, bias=False).fit(X, Y)
    assert sorted(net.weights_) == ["W1", "W2"]


def test_callback_receives_epoch_info(regression):
    X, Y = regression
    seen = []
    BPNetwork(**FAST).fit(X, Y, callback=seen.append)
    assert [i["epoch"] for i in seen] == [1, 2, 3, 4, 5]
    keys = {"epoch", "max_epochs", "train_loss", "val_loss", "elapsed_s", "samples_per_s"}
    assert keys <= set(seen[0])
    assert seen[0]["max_epochs"] == 5 and seen[0]["samples_per_s"] > 0
    assert seen[-1]["elapsed_s"] >= seen[0]["elapsed_s"] > 0


def test_should_stop_cancels_between_epochs(regression):
    X, Y = regression
    calls = []

    def should_stop():
        calls.append(1)
        return len(calls) > 3

    net = BPNetwork(**{**FAST, "max_epochs": 50}).fit(X, Y, should_stop=should_stop)
    assert len(net.history_) == 3 and net.stop_reason_ == "cancelled"


def test_max_time_budget_stops_training(regression):
    X, Y = regression
    net = BPNetwork(hidden=6, max_epochs=100000, max_time_s=0.2, early_stopping=False)
    net.fit(X, Y)
    assert net.stop_reason_ == "max_time"
    assert 0.2 <= net.history_[-1]["elapsed_s"] < 2.0


def test_early_stopping_restores_the_best_weights(regression):
    X, Y = regression
    # a large learning rate makes validation loss bounce, so the best epoch is not the last
    net = BPNetwork(hidden=6, learning_rate=0.2, max_epochs=40, patience=5, dtype="float64")
    net.fit(X, Y)
    val = [h["val_loss"] for h in net.history_]
    assert net.stop_reason_ == "early_stopping"
    assert net.best_epoch_ == int(np.argmin(val)) + 1
    assert len(val) <= net.best_epoch_ + 5
    # recompute the validation loss of the restored weights on the same split
    idx = np.random.default_rng(0).permutation(600)
    val_rows = np.sort(idx[:90])
    mse = np.mean((net.predict(X[val_rows]) - Y[val_rows]) ** 2)
    assert mse == pytest.approx(min(val), rel=1e-9)


def test_progress_bar_writes_to_stderr(regression, capsys):
    X, Y = regression
    BPNetwork(**FAST, progress=True).fit(X, Y)
    err = capsys.readouterr().err
    assert "5/5" in err and "epoch" in err


def test_sigmoid_output_and_validation_fraction_zero(regression):
    X, Y = regression
    Y01 = (Y - Y.min(0)) / (Y.max(0) - Y.min(0))
    net = BPNetwork(**FAST, output_activation="sigmoid", validation_fraction=0.0).fit(X, Y01)
    pred = net.predict(X)
    assert net.history_[0]["val_loss"] is None
    assert ((pred > 0) & (pred < 1)).all()
    with pytest.raises(
        ValueError, match=r"Y: output_activation='sigmoid' needs targets in \[0, 1\]"
    ):
        BPNetwork(**FAST, output_activation="sigmoid").fit(X, Y)


def test_divergence_raises(regression):
    X, Y = regression
    with pytest.raises(TrainingDivergedError, match="diverged"):
        BPNetwork(hidden=6, activation="relu", optimizer="sgd", learning_rate=1e6).fit(X, Y * 1e3)


def test_one_dimensional_target_is_one_column(regression):
    X, Y = regression
    net = BPNetwork(**FAST).fit(X, Y[:, 0])
    assert net.n_outputs_ == 1 and net.predict(X).shape == (600, 1)


# -- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params,message",
    [
        ({"activation": "swish"}, "activation: unknown value 'swish'"),
        ({"optimizer": "adagrad"}, "optimizer: unknown value 'adagrad'"),
        ({"loss": "hinge"}, "loss: unknown value 'hinge'"),
        ({"init": "zeros"}, "init: unknown value 'zeros'"),
        ({"hidden": 0}, "hidden: must be >= 1"),
        ({"hidden": 2.5}, "hidden: must be an integer"),
        ({"learning_rate": 0.0}, "learning_rate: must be > 0.0"),
        ({"validation_fraction": 1.0}, "validation_fraction: must be < 1.0"),
        ({"early_stopping": "yes"}, "early_stopping: must be True or False"),
        ({"device": "tpu"}, "device: unknown value 'tpu'"),
        ({"dtype": "float16"}, "dtype: unknown value 'float16'"),
        ({"optimizer_params": {"beta_1": 2.0}}, "optimizer_params.beta_1: must be < 1.0"),
        ({"schedule": "cosine", "optimizer": "lm"}, "schedule: does not apply"),
        ({"max_time_s": float("nan")}, "max_time_s: must be finite"),
    ],
)
def test_bad_hyperparameters(params, message, regression):
    X, Y = regression
    with pytest.raises(ValueError, match=message):
        BPNetwork(**params).fit(X, Y)


def test_mismatched_lengths():
    with pytest.raises(ValueError, match=r"X, Y: different numbers of samples \(10 and 9\)"):
        BPNetwork().fit(np.zeros((10, 2)), np.zeros((9, 1)))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values(bad):
    X = np.ones((10, 2))
    X[3, 1] = bad
    with pytest.raises(ValueError, match=r"X: contains NaN or infinite values \(first at row 3"):
        BPNetwork().fit(X, np.zeros(10))
    with pytest.raises(ValueError, match="Y: contains NaN"):
        BPNetwork().fit(np.ones((10, 2)), np.where(np.arange(10) == 2, bad, 0.0))


def test_empty_arrays():
    with pytest.raises(ValueError, match=r"X: is empty \(shape \(0, 3\)\)"):
        BPNetwork().fit(np.zeros((0, 3)), np.zeros((0, 1)))
    with pytest.raises(ValueError, match="X: is empty"):
        BPNetwork().fit(np.zeros((4, 0)), np.zeros((4, 1)))


def test_non_numeric_and_wrong_rank():
    with pytest.raises(ValueError, match="X: must be a numeric array"):
        BPNetwork().fit([["a", "b"]], [1.0])
    with pytest.raises(ValueError, match=r"X: must be 2-D .* pass one sample as X\[None, :\]"):
        BPNetwork().fit(np.zeros(5), np.zeros(5))


def test_too_few_samples_for_the_validation_split():
    with pytest.raises(ValueError, match="validation_fraction: 0.5 of 1 samples leaves none"):
        BPNetwork(validation_fraction=0.5).fit(np.zeros((1, 2)), np.zeros(1))


def test_predict_before_fit():
    with pytest.raises(NotFittedError, match="predict: this BPNetwork is not fitted"):
        BPNetwork().predict(np.zeros((2, 3)))
    assert issubclass(NotFittedError, ValueError)


def test_wrong_feature_count_at_predict(regression):
    X, Y = regression
    net = BPNetwork(**FAST).fit(X, Y)
    with pytest.raises(ValueError, match="X: has 4 features, but the network was fitted with 3"):
        net.predict(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="X: contains NaN"):
        net.predict(np.full((2, 3), np.nan))


def test_callback_must_be_callable(regression):
    X, Y = regression
    with pytest.raises(ValueError, match="callback: must be callable"):
        BPNetwork(**FAST).fit(X, Y, callback=3)


def test_blas_threads_are_limited_during_fit_only(regression):
    from threadpoolctl import threadpool_info

    def blas_threads():
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

    X, Y = regression
    before = blas_threads()
    seen = []
    BPNetwork(**FAST).fit(X, Y, callback=lambda info: seen.append(blas_threads()))
    assert seen and all(t == [1] * len(before) for t in seen)
    assert blas_threads() == before
    with pytest.raises(ValueError, match="n_jobs: must be >= 1"):
        BPNetwork(**FAST, n_jobs=0).fit(X, Y)


def test_schedule_sets_each_epochs_learning_rate(regression):
    X, Y = regression
    net = BPNetwork(
        **{**FAST, "max_epochs": 6},
        optimizer="sgd",
        learning_rate=0.1,
        schedule="step",
        schedule_params={"step_size": 2, "gamma": 0.5},
    ).fit(X, Y)
    rates = [h["learning_rate"] for h in net.history_]
    assert rates == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025, 0.025])


def test_lm_reports_convergence_at_a_minimum():
    """Noise targets, one hidden unit and L2 decay (so the minimum is finite): LM reaches it,
    no step lowers the objective any more, μ climbs past mu_max: stop reason "converged"."""
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(30, 2)), rng.normal(size=(30, 1))
    net = BPNetwork(
        hidden=1,
        optimizer="lm",
        l2=0.01,
        max_epochs=2000,
        early_stopping=False,
        validation_fraction=0.0,
    ).fit(X, Y)
    assert net.stop_reason_ == "converged"
    assert len(net.history_) < 200
