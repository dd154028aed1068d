"""Data-parallel CPU training: ``threads > 1`` splits large batches across threads."""

import threading

import numpy as np
import pytest

from bpnet import BPNetwork, _training


@pytest.fixture
def big_regression(truth) -> tuple[np.ndarray, np.ndarray]:
    """5,000 samples of the smooth 3 → 2 map: enough rows for two shards of 2,048."""
    rng = np.random.default_rng(7)
    X = rng.uniform(-1, 1, size=(5000, 3))
    return X, truth(X)


def _fit(X, Y, threads: int, **kw) -> BPNetwork:
    params = dict(
        hidden=16,
        max_epochs=4,
        batch_size=4096,
        validation_fraction=0.0,
        early_stopping=False,
        dtype="float64",
        seed=3,
    )
    return BPNetwork(**{**params, **kw}, threads=threads).fit(X, Y)


@pytest.mark.parametrize("optimizer", ["adam", "gd", "rprop"])
def test_two_threads_give_the_same_weights_as_one(big_regression, optimizer):
    X, Y = big_regression
    one = _fit(X, Y, 1, optimizer=optimizer)
    two = _fit(X, Y, 2, optimizer=optimizer)
    for key, w in one.weights_.items():
        np.testing.assert_allclose(two.weights_[key], w, rtol=1e-9, atol=1e-12)
    assert one.history_[-1]["train_loss"] < one.history_[0]["train_loss"]


def test_large_batches_are_split_across_threads(big_regression, monkeypatch):
    X, Y = big_regression
    seen: set[str] = set()
    original = _training._core.loss_and_gradient

    def spy(*args, **kwargs):
        seen.add(threading.current_thread().name)
        return original(*args, **kwargs)

    monkeypatch.setattr(_training._core, "loss_and_gradient", spy)
    _fit(X, Y, 2, max_epochs=1)
    assert len(seen) == 2  # the calling thread and one pool thread
    seen.clear()
    _fit(X, Y, 2, max_epochs=1, batch_size=1024)  # 2 × 512 rows: too small to split
    assert seen == {threading.current_thread().name}


def test_shards_only_for_numpy_and_large_enough_batches():
    from bpnet._core import Layout

    layout = Layout(3, 4, 2, True)
    theta = np.zeros(layout.size)
    rows = 2 * _training.MIN_SHARD_ROWS
    assert len(_training._make_shards(np, layout, rows, 2, np.float64, 2, theta)) == 2
    assert _training._make_shards(np, layout, rows - 1, 2, np.float64, 2, theta) == []
    assert _training._make_shards(np, layout, rows, 2, np.float64, 1, theta) == []
    fake_xp = type("FakeModule", (), {})()
    assert _training._make_shards(fake_xp, layout, rows, 2, np.float64, 2, theta) == []


def test_threads_none_uses_all_cores_and_fits(big_regression):
    X, Y = big_regression
    net = _fit(X, Y, None)
    assert np.isfinite(net.predict(X[:10])).all()
