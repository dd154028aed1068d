"""``geobp invert TEM_FILE``: a real TEM file through the served networks, table and figure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inversion.served import TrainingSettings, save_set, train_set

FIELD = Path(__file__).resolve().parents[1] / "data" / "field"
TINY = TrainingSettings(n_samples=150, n_members=1, network={"hidden": 8, "max_epochs": 3})


@pytest.fixture
def with_tem(tmp_path, monkeypatch) -> None:
    """GEOBP_ARTIFACT_DIR with tiny served coincident-loop TEM networks (2–3 layers)."""
    save_set(train_set(("tem-coincident-loop",), TINY, max_layers=3), tmp_path / "served")
    monkeypatch.setenv("GEOBP_ARTIFACT_DIR", str(tmp_path))


def test_invert_a_tem_file_with_a_figure(geobp_main, with_tem, tmp_path):
    data = FIELD / "tem_temfast_salzlacken_P2_21_loop50m.csv"
    figure = tmp_path / "tem.png"
    args = ("--noise-floor", "0.05", "--max-layers", "1", "--figure", str(figure))
    run = geobp_main("invert", str(data), "--format", "json", *args)
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["method"] == "tem-coincident-loop" and doc["n_layers"] == 1
    assert doc["predicted"]["times_s"] and doc["misfit"]["chi"] > 0
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_window_drops_the_early_gates_and_says_so(geobp_main, with_tem):
    data = FIELD / "tem_temfast_salzlacken_P2_21_loop50m.csv"
    args = ("--noise-floor", "0.05", "--max-layers", "1", "--format", "json")
    run = geobp_main("invert", str(data), "--window", "2e-5,", *args)
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert min(doc["predicted"]["times_s"]) >= 2e-5
    assert any("outside the window [2e-05, inf] s of times_s dropped" in w for w in doc["warnings"])
    one = geobp_main("invert", str(data), "--window", "2e-5", *args)
    assert one.returncode == 2 and "'MIN,' for no upper bound" in one.stderr
    bad = geobp_main("invert", str(data), "--window", "1e-2,1e-3", *args)
    assert bad.returncode == 2 and "MIN must be below MAX" in bad.stderr
    few = geobp_main("invert", str(data), "--window", "3e-3,", *args)
    assert few.returncode != 0 and "at least 3 are needed" in few.stderr
    assert "Traceback" not in bad.stderr + few.stderr


def test_several_data_files_are_inverted_one_after_the_other(geobp_main, with_tem, tmp_path):
    """Two files (one with two soundings of the same ids as a copy of it): every sounding is
    inverted, ids that two files share get the file name; a missing file is named as data."""
    big = FIELD / "tem_temfast_salzlacken_P2_21_loop50m.csv"
    copy = tmp_path / big.name  # the same sounding id as the original
    copy.write_bytes(big.read_bytes())
    args = ("--noise-floor", "0.05", "--max-layers", "1", "--format", "json")
    run = geobp_main("invert", str(big), str(copy), *args)
    assert run.returncode == 0, run.stderr
    docs = json.loads(run.stdout)
    ids = [d["sounding"] for d in docs]
    assert ids == [f"{big}:{big.stem}", f"{copy}:{big.stem}"]
    missing = geobp_main("invert", str(tmp_path / "typo.csv"), str(big), *args)
    assert (
        missing.returncode != 0 and "data file" in missing.stderr and "typo.csv" in missing.stderr
    )
