"""``worker.served.train_served_set``: the served networks trained into a folder, rerun-safe."""

from __future__ import annotations

import json

from inversion.served import load_set
from worker.served import read_progress, train_served_set

TINY = {"n_samples": 2000, "n_members": 1, "network": {"hidden": 8, "max_epochs": 3}}


def test_trains_the_missing_networks_and_reports_progress(tmp_path):
    plan = [["ves-wenner", 2], ["ves-wenner", 3]]
    trained = train_served_set(None, str(tmp_path), plan, TINY)
    assert trained == ["served-ves-wenner-2l", "served-ves-wenner-3l"]
    progress = read_progress(tmp_path)
    assert progress["state"] == "done" and progress["done"] == trained and progress["total"] == 2
    assert sorted(load_set(tmp_path).networks) == [("ves-wenner", 2), ("ves-wenner", 3)]
    # a rerun finds both and trains nothing
    assert train_served_set(None, str(tmp_path), plan, TINY) == []


def test_a_failure_is_recorded(tmp_path):
    try:
        train_served_set(None, str(tmp_path), [["tem", 2]], TINY)
    except ValueError as exc:
        assert "tem" in str(exc)
    else:
        raise AssertionError("an unknown method must fail")
    doc = json.loads((tmp_path / "progress.json").read_text())
    assert doc["state"] == "failed" and "tem" in doc["error"]
