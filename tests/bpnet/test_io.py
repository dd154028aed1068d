"""save/load: round trips, metadata, checksums, tampering, atomic writes."""

import json
import os

import numpy as np
import pytest

import bpnet
from bpnet import BPEnsemble, BPNetwork, IntegrityError
from bpnet.io import META_KEY, SHA_KEY, load_arrays, save_arrays


@pytest.fixture
def fitted(regression):
    X, Y = regression
    return BPNetwork(hidden=5, max_epochs=3, seed=1).fit(X, Y), X


def test_network_round_trip(fitted, tmp_path):
    net, X = fitted
    path = tmp_path / "net.npz"
    net.save(str(path), metadata={"name": "schlumberger-3l", "transforms": {"mean": [1.0]}})
    back = bpnet.load(path)
    assert isinstance(back, BPNetwork)
    np.testing.assert_array_equal(back.predict(X), net.predict(X))
    assert back.metadata_ == {"name": "schlumberger-3l", "transforms": {"mean": [1.0]}}
    assert back.get_params() == net.get_params()
    assert back.history_ == net.history_
    assert back.best_epoch_ == net.best_epoch_ and back.n_features_in_ == 3
    assert back.library_version_ == bpnet.io.library_version()
    assert sorted(os.listdir(tmp_path)) == ["net.npz"]  # no temporary file left behind


def test_file_holds_no_pickled_objects(fitted, tmp_path):
    net, _ = fitted
    net.save(tmp_path / "n.npz")
    with np.load(tmp_path / "n.npz", allow_pickle=False) as npz:
        meta = json.loads(str(npz[META_KEY]))
        assert all(npz[k].dtype != object for k in npz.files)
    assert meta["kind"] == "BPNetwork" and meta["architecture"]["hidden"] == 5
    assert meta["hyperparameters"]["seed"] == 1 and len(meta["fitted"]["history"]) == 3


def test_ensemble_round_trip_as_one_file(regression, tmp_path):
    X, Y = regression
    ens = BPEnsemble(n_members=3, hidden=4, max_epochs=2).fit(X, Y)
    ens.save(tmp_path / "ens.npz", metadata={"k": 1})
    back = bpnet.load(tmp_path / "ens.npz")
    assert isinstance(back, BPEnsemble) and len(back.members_) == 3
    np.testing.assert_array_equal(back.predict(X, return_members=True), ens.predict(X, True))
    assert back.metadata_ == {"k": 1} and back.get_ensemble_params() == ens.get_ensemble_params()


def test_flipped_byte_is_refused(fitted, tmp_path):
    net, _ = fitted
    path = tmp_path / "n.npz"
    net.save(path)
    raw = bytearray(path.read_bytes())
    with np.load(path) as npz:
        w = npz["W1"].tobytes()
    pos = bytes(raw).index(w) + 5  # inside the W1 array data
    raw[pos] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(IntegrityError, match="n.npz"):
        bpnet.load(path)


def test_truncated_or_foreign_files_are_refused(fitted, tmp_path):
    net, _ = fitted
    path = tmp_path / "n.npz"
    net.save(path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(IntegrityError, match="not a readable bpnet file"):
        bpnet.load(path)
    np.savez(tmp_path / "plain.npz", W1=np.zeros(3))
    with pytest.raises(IntegrityError, match="missing metadata or checksum"):
        bpnet.load(tmp_path / "plain.npz")
    with pytest.raises(FileNotFoundError, match="no such file"):
        bpnet.load(tmp_path / "missing.npz")


def rewrite(path, edit):
    with np.load(path, allow_pickle=False) as npz:
        content = {k: npz[k] for k in npz.files}
    edit(content)
    with open(path, "wb") as fh:
        np.savez(fh, **content)


def test_edited_array_is_refused(fitted, tmp_path):
    net, _ = fitted
    path = tmp_path / "n.npz"
    net.save(path)

    def edit(c):
        c["W2"] = c["W2"] + np.float32(1e-3)

    rewrite(path, edit)
    with pytest.raises(IntegrityError, match="array checksum mismatch"):
        bpnet.load(path)


def test_edited_json_is_refused(fitted, tmp_path):
    net, _ = fitted
    path = tmp_path / "n.npz"
    net.save(path)

    def edit(c):
        meta = json.loads(str(c[META_KEY]))
        meta["hyperparameters"]["activation"] = "relu"
        c[META_KEY] = np.array(json.dumps(meta, sort_keys=True))

    rewrite(path, edit)
    with pytest.raises(IntegrityError, match="metadata checksum mismatch"):
        bpnet.load(path)


def test_consistently_forged_array_hash_is_still_caught(fitted, tmp_path):
    """Editing an array and its digest in the JSON breaks the JSON checksum."""
    net, _ = fitted
    path = tmp_path / "n.npz"
    net.save(path)

    def edit(c):
        c["b1"] = c["b1"] * 0
        meta = json.loads(str(c[META_KEY]))
        arrays = {k: v for k, v in c.items() if k not in (META_KEY, SHA_KEY)}
        meta["arrays_sha256"] = bpnet.io.arrays_digest(arrays)
        c[META_KEY] = np.array(json.dumps(meta, sort_keys=True))

    rewrite(path, edit)
    with pytest.raises(IntegrityError, match="metadata checksum mismatch"):
        bpnet.load(path)


def test_generic_container_for_other_objects(tmp_path):
    arrays = {"mean": np.arange(3.0), "scale": np.ones((2, 2), dtype=np.float32)}
    save_arrays(tmp_path / "x.npz", arrays, {"what": "transforms"})
    back, meta = load_arrays(tmp_path / "x.npz")
    assert meta["what"] == "transforms"
    np.testing.assert_array_equal(back["scale"], arrays["scale"])
    assert back["scale"].dtype == np.float32
    with pytest.raises(ValueError, match="metadata: not JSON-serialisable"):
        save_arrays(tmp_path / "y.npz", arrays, {"bad": object()})
    with pytest.raises(ValueError, match="must be a numeric NumPy array"):
        save_arrays(tmp_path / "y.npz", {"o": np.array([None])}, {})
    assert not (tmp_path / "y.npz").exists()


def test_save_before_fit_and_bad_metadata(fitted, tmp_path):
    with pytest.raises(ValueError, match="save: this BPNetwork is not fitted"):
        BPNetwork().save(tmp_path / "n.npz")
    net, _ = fitted
    with pytest.raises(ValueError, match="metadata: must be a dict"):
        net.save(tmp_path / "n.npz", metadata=["a"])
    with pytest.raises(FileNotFoundError, match="path: directory .* does not exist"):
        net.save(tmp_path / "missing" / "n.npz")


def test_numpy_scalars_in_parameters_and_metadata_are_saved_as_numbers(regression, tmp_path):
    X, Y = regression
    net = BPNetwork(hidden=np.int64(4), learning_rate=np.float32(0.01), max_epochs=2).fit(X, Y)
    net.save(tmp_path / "n.npz", metadata={"mean": np.arange(2.0), "n": np.int32(3)})
    back = bpnet.load(tmp_path / "n.npz")
    assert back.hidden == 4 and back.metadata_ == {"mean": [0.0, 1.0], "n": 3}
    np.testing.assert_array_equal(back.predict(X), net.predict(X))


def test_files_from_before_the_n_jobs_rename_still_load(fitted, tmp_path):
    net, X = fitted
    net.save(tmp_path / "net.npz")
    arrays, meta = load_arrays(tmp_path / "net.npz")
    meta["hyperparameters"]["threads"] = meta["hyperparameters"].pop("n_jobs")
    save_arrays(tmp_path / "old.npz", arrays, meta)
    back = bpnet.load(tmp_path / "old.npz")
    assert back.get_params() == net.get_params()
    np.testing.assert_array_equal(back.predict(X), net.predict(X))


def test_job_specs_from_before_the_rename_give_the_new_keywords():
    from inversion.problem import network_keywords

    kwargs, n_members = network_keywords({"network": {"threads": 2, "hidden": 8, "n_members": 3}})
    assert kwargs == {"n_jobs": 2, "hidden": 8} and n_members == 3
    BPNetwork(**kwargs)  # accepted
