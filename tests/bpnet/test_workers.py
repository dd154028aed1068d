"""Data-parallel CPU training: ``n_jobs > 1`` splits large batches across worker processes."""

import glob
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from bpnet import BPNetwork, _training, _workers


@pytest.fixture
def big_regression(truth) -> tuple[np.ndarray, np.ndarray]:
    """5,000 samples of the smooth 3 → 2 map: enough rows for two shards of 2,048."""
    rng = np.random.default_rng(7)
    X = rng.uniform(-1, 1, size=(5000, 3))
    return X, truth(X)


def _fit(X, Y, n_jobs: int | None, callback=None, **kw) -> BPNetwork:
    params = dict(
        hidden=16,
        max_epochs=4,
        batch_size=4096,
        validation_fraction=0.0,
        early_stopping=False,
        dtype="float64",
        seed=3,
    )
    return BPNetwork(**{**params, **kw}, n_jobs=n_jobs).fit(X, Y, callback=callback)


def _children() -> set[int]:
    """PIDs of this process's live child processes."""
    path = f"/proc/{os.getpid()}/task/{os.getpid()}/children"
    with open(path) as f:
        pids = {int(p) for p in f.read().split()}
    return {p for p in pids if _state(p) not in ("Z", None)}


def _state(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return None


def _shared_files() -> set[str]:
    return set(glob.glob("/dev/shm/bpnet-*"))


pytestmark = pytest.mark.skipif(not _workers.supported(), reason="worker processes need Linux")


@pytest.mark.parametrize("optimizer", ["adam", "gd", "rprop"])
def test_two_jobs_give_the_same_weights_as_one(big_regression, optimizer):
    X, Y = big_regression
    one = _fit(X, Y, 1, optimizer=optimizer)
    two = _fit(X, Y, 2, optimizer=optimizer)
    for key, w in one.weights_.items():
        np.testing.assert_allclose(two.weights_[key], w, rtol=1e-9, atol=1e-12)
    assert one.history_[-1]["train_loss"] < one.history_[0]["train_loss"]
    assert two.history_[-1]["train_loss"] == pytest.approx(one.history_[-1]["train_loss"])


def test_large_batches_start_workers_that_end_with_the_fit(big_regression):
    X, Y = big_regression
    before, files_before = _children(), _shared_files()
    during: list[set[int]] = []
    _fit(X, Y, 2, callback=lambda info: during.append(_children() - before))
    assert all(len(pids) == 1 for pids in during)  # one helper: this process is the other job
    (helper,) = during[0]
    assert _state(helper) is None  # ended and reaped: no zombie left
    assert _shared_files() == files_before  # the shared file was unlinked
    during.clear()
    _fit(X, Y, 2, max_epochs=1, batch_size=1024, callback=lambda i: during.append(_children()))
    assert not during[0] - before  # 2 × 512 rows: too small to split, no worker started


def test_jobs_only_for_numpy_and_large_enough_batches():
    rows = 2 * _training.MIN_SHARD_ROWS
    assert _training._jobs(np, 2, rows) == 2
    assert _training._jobs(np, 2, rows - 1) == 1
    assert _training._jobs(np, 1, rows) == 1
    fake_xp = type("FakeModule", (), {})()
    assert _training._jobs(fake_xp, 2, rows) == 1


def test_a_killed_worker_fails_the_fit_with_a_clear_error(big_regression):
    X, Y = big_regression
    before = _children()

    def kill_helper(info):
        if info["epoch"] == 1:
            for pid in _children() - before:
                os.kill(pid, signal.SIGKILL)

    with pytest.raises(_workers.WorkerError, match="training worker 0 stopped"):
        _fit(X, Y, 2, callback=kill_helper, max_epochs=3)
    assert not _children() - before


def test_a_worker_error_is_reported_with_its_message(big_regression, monkeypatch):
    X, Y = big_regression
    # a worker fails on a request it cannot serve: rows beyond its index buffer
    pool = _workers.WorkerPool(
        {
            "workers": 1,
            "layout": [3, 4, 2, True],
            "train_shape": [10, 6],
            "theta_size": 3 * 4 + 4 * 2 + 4 + 2,
            "shard_rows": 4,
            "dtype": "float64",
            "act": "tanh",
            "out_act": "linear",
            "loss": "mse",
        }
    )
    pool.start()
    try:
        pool.submit(0, slice(0, 10), 10)  # 10 rows for a 4-row workspace
        with pytest.raises(_workers.WorkerError, match="training worker 0 failed: ValueError"):
            pool.wait(0)
    finally:
        pool.close()


def test_n_jobs_none_uses_all_cores_and_fits(big_regression):
    X, Y = big_regression
    net = _fit(X, Y, None)
    assert np.isfinite(net.predict(X[:10])).all()


def test_ctrl_c_during_a_fit_ends_the_workers_quietly(tmp_path):
    """SIGINT to the whole process group (as Ctrl-C sends it): the fit raises
    KeyboardInterrupt, the worker ends without a traceback of its own, nothing is left."""
    script = tmp_path / "fit.py"
    script.write_text(
        "import os, signal, numpy as np, bpnet\n"
        # a shell runs background jobs with SIGINT ignored, and Python keeps an inherited
        # SIG_IGN: restore the interactive default so Ctrl-C raises KeyboardInterrupt
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "X = np.random.default_rng(0).uniform(-1, 1, (20000, 3)); Y = np.sin(X[:, :2])\n"
        "def cb(info):\n"
        "    if info['epoch'] == 2: os.killpg(os.getpgrp(), signal.SIGINT)\n"
        "try:\n"
        "    bpnet.BPNetwork(hidden=8, batch_size=4096, max_epochs=50, n_jobs=2,\n"
        "                    validation_fraction=0.0).fit(X, Y, callback=cb)\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted')\n"
    )
    before = _shared_files()
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        start_new_session=True,  # its own process group: the SIGINT stays there
    )
    # the child's exit code and stderr in the message: say how the fit ended
    assert done.stdout.strip() == "interrupted", (done.returncode, done.stderr[-3000:])
    assert "Traceback" not in done.stderr
    assert _shared_files() == before
