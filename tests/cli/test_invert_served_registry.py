"""``geobp invert FILE`` serves the registry's production version of each served network (as
``POST /api/v1/invert`` does), and refuses a served network named with ``--network``."""

from __future__ import annotations

import json

import pytest
from cli_helpers import one_line_error

from inversion.served import TrainingSettings, served_name, train_served
from service.artifacts import ArtifactStore
from service.db import Database
from service.served_registry import register_served_file

NAME = served_name("ves-schlumberger", 2)


@pytest.fixture(scope="module")
def two_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("served-files")
    paths = []
    for seed in (0, 1):
        settings = TrainingSettings(
            n_samples=1500, n_members=1, network={"hidden": 8, "max_epochs": 3}, seed=seed
        )
        path = folder / f"v{seed}.npz"
        train_served("ves-schlumberger", 2, settings).save(str(path))
        paths.append(path)
    return paths


def test_the_production_version_serves_the_command_line(geobp_main, registry, two_files, ves_csv):
    db = Database(f"sqlite:///{registry['var'] / 'geobp.sqlite'}")
    store = ArtifactStore(registry["var"] / "artifacts")
    register_served_file(db, store, NAME, two_files[0])
    promoted = register_served_file(db, store, NAME, two_files[1], production="always")
    db.dispose()
    run = geobp_main("invert", str(ves_csv), "--format", "json", "--max-layers", "2")
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["n_layers"] == 2
    assert doc["network"]["id"] == promoted and doc["network"]["version"] == 2

    named = geobp_main("invert", str(ves_csv), "--network", NAME)
    assert named.returncode == 1
    assert "is a served network: leave out --network" in one_line_error(named)
