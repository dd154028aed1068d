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
