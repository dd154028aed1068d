"""BPEnsemble: member seeds, bootstrap, mean/members/quantiles, callbacks, bad input."""

import numpy as np
import pytest

from bpnet import BPEnsemble, BPNetwork, NotFittedError

KW = dict(hidden=5, max_epochs=4, batch_size=64)


def test_members_use_seed_plus_index(regression):
    X, Y = regression
    ens = BPEnsemble(n_members=3, seed=10, **KW).fit(X, Y)
    assert [m.seed for m in ens.members_] == [10, 11, 12]
    solo = BPNetwork(seed=11, **KW).fit(X, Y)
    np.testing.assert_array_equal(ens.members_[1].weights_["W1"], solo.weights_["W1"])
    assert len(ens.history_) == 3 and ens.n_features_in_ == 3 and ens.n_outputs_ == 2


def test_predictions_mean_members_std_and_quantiles(regression):
    X, Y = regression
    ens = BPEnsemble(n_members=4, **KW).fit(X, Y)
    stack = ens.predict(X[:10], return_members=True)
    assert stack.shape == (4, 10, 2)
    assert np.ptp(stack, axis=0).max() > 0  # members differ
    np.testing.assert_allclose(ens.predict(X[:10]), stack.mean(axis=0))
    mean, std = ens.predict(X[:10], return_std=True)
    np.testing.assert_allclose(std, stack.std(axis=0))
    q = ens.predict_quantiles(X[:10], q=(0.0, 0.5, 1.0))
    assert q.shape == (3, 10, 2)
    np.testing.assert_allclose(q[0], stack.min(axis=0))
    np.testing.assert_allclose(q[1], np.median(stack, axis=0))
    np.testing.assert_allclose(q[2], stack.max(axis=0))
    with pytest.raises(ValueError, match="q: quantiles must be"):
        ens.predict_quantiles(X[:2], q=(0.5, 1.5))


def test_bootstrap_changes_members(regression):
    X, Y = regression
    plain = BPEnsemble(n_members=2, **KW).fit(X, Y)
    boot = BPEnsemble(n_members=2, bootstrap=True, **KW).fit(X, Y)
    assert not np.array_equal(plain.members_[0].weights_["W1"], boot.members_[0].weights_["W1"])
    again = BPEnsemble(n_members=2, bootstrap=True, **KW).fit(X, Y)
    np.testing.assert_array_equal(boot.predict(X), again.predict(X))


def test_callback_reports_member_and_should_stop_skips_the_rest(regression):
    X, Y = regression
    seen = []
    ens = BPEnsemble(n_members=3, **KW).fit(X, Y, callback=seen.append)
    assert [(i["member"], i["epoch"]) for i in seen][:5] == [(0, 1), (0, 2), (0, 3), (0, 4), (1, 1)]
    assert all(i["n_members"] == 3 for i in seen) and len(seen) == 12
    assert len(ens.members_) == 3 and ens.stop_reason_ == "completed"
    seen2 = []
    stop = BPEnsemble(n_members=3, **KW).fit(X, Y, seen2.append, lambda: len(seen2) >= 4)
    assert len(stop.members_) == 1 and stop.members_[0].stop_reason_ == "max_epochs"
    assert stop.stop_reason_ == "cancelled"


def test_bad_ensemble_input(regression):
    X, Y = regression
    with pytest.raises(ValueError, match="hiden: unknown parameter"):
        BPEnsemble(hiden=3)
    with pytest.raises(ValueError, match="n_members: must be >= 1"):
        BPEnsemble(n_members=0).fit(X, Y)
    with pytest.raises(ValueError, match="activation: unknown value"):
        BPEnsemble(activation="x").fit(X, Y)
    with pytest.raises(NotFittedError, match="predict: this BPEnsemble is not fitted"):
        BPEnsemble().predict(X)
    with pytest.raises(ValueError, match="X, Y: different numbers"):
        BPEnsemble().fit(X, Y[:5])


def test_time_budget_is_shared_by_the_members(regression):
    X, Y = regression
    ens = BPEnsemble(
        n_members=2, hidden=5, max_epochs=100000, max_time_s=0.4, early_stopping=False
    ).fit(X, Y)
    for member in ens.members_:
        assert member.stop_reason_ == "max_time"
        assert 0.2 <= member.history_[-1]["elapsed_s"] < 1.0
