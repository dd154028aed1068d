"""``geobp invert DATA_FILE``: the served networks, --noise-floor, --start, --max-layers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import one_line_error

from inversion.served import TrainingSettings, save_set, train_set

FIELD = Path(__file__).resolve().parents[1] / "data" / "field"
TINY = TrainingSettings(
    n_samples=3000, n_members=2, network={"hidden": 16, "max_epochs": 8, "learning_rate": 3e-3}
)


@pytest.fixture(scope="module")
def served_env(tmp_path_factory) -> dict[str, str]:
    """GEOBP_ARTIFACT_DIR with tiny served Schlumberger networks (2 and 3 layers)."""
    artifacts = tmp_path_factory.mktemp("artifacts")
    save_set(train_set(("ves-schlumberger",), TINY, max_layers=3), artifacts / "served")
    return {"GEOBP_ARTIFACT_DIR": str(artifacts)}


@pytest.fixture
def with_served(served_env, monkeypatch) -> None:
    for key, value in served_env.items():
        monkeypatch.setenv(key, value)


def test_invert_without_a_network_uses_the_served_set(geobp_main, with_served, ves_csv):
    run = geobp_main("invert", str(ves_csv), "--format", "json", "--max-layers", "3")
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["method"] == "ves-schlumberger"
    assert doc["network"]["name"] == f"served-ves-schlumberger-{doc['n_layers']}l"
    assert doc["misfit"]["chi"] <= 1.2
    assert sorted(c["n_layers"] for c in doc["candidates"]) == [1, 2, 3]


def test_smooth_csv_and_dois_come_with_the_served_answer(geobp_main, with_served, ves_csv):
    run = geobp_main("invert", str(ves_csv), "--format", "smooth-csv", "--max-layers", "2")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == (
        "layer,top_m,bottom_m,rho_ohmm,rho_p10_ohmm,rho_p90_ohmm,"
        "below_doi_conservative,below_doi_standard"
    )
    assert 20 <= len(lines) - 1 <= 40 and lines[1].startswith("1,0.0,")
    assert lines[1].endswith("false,false") and lines[-1].endswith("true,true")
    table = geobp_main("invert", str(ves_csv), "--max-layers", "2").stdout
    assert "depth of investigation (layered model):" in table and "smooth model:" in table


def test_table_lists_the_candidates(geobp_main, with_served, ves_csv):
    run = geobp_main("invert", str(ves_csv), "--max-layers", "3")
    assert run.returncode == 0, run.stderr
    assert "candidate 1 layers: chi" in run.stdout and "<- selected" in run.stdout
    assert "networks alone (no refinement): " in run.stdout  # the set's network-only answer


def test_noise_floor_changes_chi(geobp_main, with_served, ves_csv):
    runs = [
        json.loads(
            geobp_main(
                "invert", str(ves_csv), "--format", "json", "--max-layers", "2", *extra
            ).stdout
        )
        for extra in ((), ("--noise-floor", "0.3"))
    ]
    one = [next(c for c in doc["candidates"] if c["n_layers"] == 1) for doc in runs]
    assert one[1]["chi"] == pytest.approx(one[0]["chi"] * 0.03 / 0.3, rel=0.05)


def test_start_is_accepted(geobp_main, with_served, ves_csv):
    run = geobp_main(
        "invert",
        str(ves_csv),
        "--format",
        "json",
        "--max-layers",
        "3",
        "--start",
        "100,10,500:4,15",
    )
    assert run.returncode == 0, run.stderr
    three = next(c for c in json.loads(run.stdout)["candidates"] if c["n_layers"] == 3)
    assert three["chi"] < 1.2


@pytest.mark.parametrize(
    "args, text",
    [
        (("--start", "100,10:4,15"), "2 resistivities need 1 thicknesses"),
        (("--start", "100,x"), "must be numbers"),
        (("--noise-floor", "-1"), "must be positive"),
        (("--noise-floor", "0.1,1,2"), "REL or REL,DEG"),
        (("--fix", "h1=3"), "need --network"),
        (("--segment-shifts", "maybe"), "invalid choice"),
        (("--smooth",), "need --network"),
    ],
)
def test_bad_served_options(geobp_main, with_served, ves_csv, args, text):
    run = geobp_main("invert", str(ves_csv), *args)
    assert run.returncode == 2 and text in one_line_error(run)


def test_outside_the_served_range_is_one_line(geobp_main, with_served, tmp_path):
    path = tmp_path / "far.csv"
    ab2 = np.logspace(2, 5, 10)
    path.write_text("AB/2 (m),rho_a (ohm.m)\n" + "".join(f"{a},{50}\n" for a in ab2))
    run = geobp_main("invert", str(path))
    assert run.returncode == 1
    assert "outside the served range [0.5, 30000] m" in one_line_error(run)


def test_no_served_networks_yet(geobp_main, tmp_path, monkeypatch, ves_csv):
    monkeypatch.setenv("GEOBP_ARTIFACT_DIR", str(tmp_path / "empty"))
    run = geobp_main("invert", str(ves_csv))
    assert run.returncode == 1 and "no served networks" in one_line_error(run)


def test_old_two_argument_form_still_works(geobp_main, networks, ves_csv):
    run = geobp_main("invert", str(networks["ves3"]), str(ves_csv), "--format", "json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["network"]["name"] == networks["ves3"].stem


def test_segment_factors_of_a_field_sounding_and_their_switch(geobp_main, with_served):
    """semien SE1's overlapping MN/2 segments disagree by up to 48 %: the table names the
    fitted factors and the fit with and without them; --segment-shifts never refits as measured."""
    path = str(FIELD / "ves_schlumberger_semien_se1.csv")
    common = ("--noise-floor", "0.05", "--max-layers", "3")
    table = geobp_main("invert", path, *common)
    assert table.returncode == 0, table.stderr
    line = next(x for x in table.stdout.splitlines() if x.startswith("segment factors applied"))
    assert "reference MN/2 = 1 m" in line and "chi without them" in line
    doc = json.loads(geobp_main("invert", path, *common, "--format", "json").stdout)
    never = geobp_main("invert", path, *common, "--segment-shifts", "never", "--format", "json")
    plain = json.loads(never.stdout)
    assert plain["segment_shifts"] is None
    assert doc["misfit"]["chi"] < 0.75 * plain["misfit"]["chi"]
    assert doc["segment_shifts"]["chi_without_shifts"] == pytest.approx(plain["misfit"]["chi"])
