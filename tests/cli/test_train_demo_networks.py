"""``geobp train``, ``geobp demo`` and ``geobp networks`` (with a registry database)."""

from __future__ import annotations

import json

import pytest
from cli_helpers import AB2_M, one_line_error

SPEC = {
    "name": "tiny-ves",
    "forward_model": {
        "name": "ves-schlumberger",
        "n_layers": 3,
        "ab2_m": AB2_M.tolist(),
        "mn2_m": None,
    },
    "bounds": {"rho_ohmm": [1, 1000], "thickness_m": [1, 50]},
    "n_samples": 1500,
    "n_test": 100,
    "seed": 2,
    "network": {"hidden": 16, "max_epochs": 8, "n_members": 2, "device": "cpu"},
}


def test_train_writes_a_network_that_invert_uses(geobp, tmp_path, ves_csv) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(SPEC))
    out = tmp_path / "nets"
    run = geobp("train", str(spec), "--out", str(out))
    assert run.returncode == 0, run.stderr
    assert "training 'tiny-ves': ves-schlumberger, 3 layers, 10 data" in run.stdout
    assert "held-out loss" in run.stdout and "saved" in run.stdout
    assert "training: 100%" in run.stderr and "dataset: 100%" in run.stderr  # progress bars
    record = json.loads((out / "tiny-ves.json").read_text())
    assert record["spec"]["n_samples"] == 1500 and record["spec"]["sampler"] == "sobol"
    assert record["metrics"]["n"] == 100
    inverted = geobp("invert", str(out / "tiny-ves.npz"), str(ves_csv), "--format", "json")
    assert inverted.returncode == 0, inverted.stderr
    assert len(json.loads(inverted.stdout)["model"]["rho_ohmm"]) == 3


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ('{"name": "x",\n "forward_model": {"name": "ves-schlumberger"},,}', "line 2, column"),
        ('{"name": "x"}', "forward_model: Field required"),
        ('{"name": "x", "forward_model": {"name": "gravity"}}', "forward_model"),
        (json.dumps({**SPEC, "n_samples": 10}), "n_samples"),
        (json.dumps({**SPEC, "network": {"hidden": 0}}), "network.hidden"),
    ],
)
def test_train_rejects_bad_specs_in_one_line(geobp_main, tmp_path, document, message) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(document)
    run = geobp_main("train", str(spec), "--out", str(tmp_path / "out"))
    assert run.returncode == 1
    assert message in one_line_error(run)


def test_demo_runs_end_to_end(geobp, tmp_path) -> None:
    out = tmp_path / "demo"
    run = geobp(
        "demo", "--out", str(out), "--samples", "2000", "--epochs", "10", "--members", "1",
        "--hidden", "16",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    for step in range(1, 7):
        assert f"[{step}/6]" in run.stdout
    assert "true model: rho 100, 10, 1000 ohm.m" in run.stdout and "done in" in run.stdout
    assert (out / "demo_fit.png").read_bytes().startswith(b"\x89PNG")
    result = json.loads((out / "demo_result.json").read_text())
    assert len(result["model"]["rho_ohmm"]) == 3
    assert (out / "demo_sounding.csv").read_text().startswith("AB/2 (m),rho_a (ohm.m)")


def test_networks_lists_the_registry(geobp, registry) -> None:
    env = {"GEOBP_VAR_DIR": str(registry["var"])}
    run = geobp("networks", env=env)
    assert run.returncode == 0, run.stderr
    header, row = run.stdout.splitlines()
    assert header.split()[:3] == ["id", "name", "version"]
    assert row.split()[:4] == [registry["id"], "ves-3l", "1", "latest,production"]
    listing = geobp("networks", "--format", "json", env=env)
    items = json.loads(listing.stdout)["items"]
    assert [item["id"] for item in items] == [registry["id"]]


def test_invert_by_registry_name_and_id(geobp_main, registry, ves_csv) -> None:
    for ref in ("ves-3l", "ves-3l@production", "ves-3l@1", registry["id"]):
        run = geobp_main("invert", ref, str(ves_csv), "--format", "json")
        assert run.returncode == 0, run.stderr
        network = json.loads(run.stdout)["network"]
        assert network == {"id": registry["id"], "name": "ves-3l", "version": 1}
    missing = geobp_main("invert", "ves-3l@7", str(ves_csv))
    assert missing.returncode == 1 and "has no version 7" in one_line_error(missing)


def test_registry_not_found_is_one_cli_line(geobp_main, registry, ves_csv) -> None:
    run = geobp_main("invert", "ves-3l@staging", str(ves_csv))
    assert run.returncode == 1
    assert one_line_error(run) == (
        "geobp: error: network 'ves-3l' has no alias 'staging' "
        "(and no file 'ves-3l@staging' exists)"
    )


def test_cli_worker_and_persistence_modules_do_not_import_flask() -> None:
    import subprocess
    import sys

    modules = [
        "service.cli",
        "service.cli.training",
        "service.cli.demo",
        "service.cli.invert",
        "service.cli.networks",
        "service.registry",
        "service.training_spec",
        "worker.tasks",
        "inversion.pipeline",
    ]
    code = f"import sys\nfor m in {modules!r}: __import__(m)\nprint('flask' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
