"""``geobp invert NAME@V`` checks the registry's SHA-256 of the artifact before using it."""

from __future__ import annotations

import json
import shutil

from cli_helpers import one_line_error


def test_invert_refuses_an_artifact_swapped_after_registration(
    geobp_main, networks, ves_csv, tmp_path, monkeypatch
) -> None:
    from service.artifacts import ArtifactStore
    from service.db import Database
    from service.migrate import upgrade_head
    from service.registry import register_network

    var = tmp_path / "var"
    var.mkdir()
    monkeypatch.setenv("GEOBP_VAR_DIR", str(var))
    monkeypatch.delenv("GEOBP_DATABASE_URL", raising=False)
    monkeypatch.delenv("GEOBP_ARTIFACT_DIR", raising=False)
    db = Database(f"sqlite:///{var / 'geobp.sqlite'}")
    upgrade_head(db.engine)
    record = {
        "name": "ves-3l",
        "forward_model": {"name": "ves-schlumberger", "n_layers": 3},
        "domain": {},
        "noise": {},
        "network_config": {},
        "metrics": {},
        "job_id": None,
        "seed": 0,
        "n_samples": 3000,
        "code_version": "test",
    }
    store = ArtifactStore(var / "artifacts")
    register_network(db, store, record, lambda p: shutil.copy(networks["ves3"], p))
    db.dispose()
    [artifact] = (var / "artifacts").rglob("*.npz")

    good = geobp_main("invert", "ves-3l@1", str(ves_csv), "--format", "json")
    assert good.returncode == 0 and json.loads(good.stdout)["network"]["version"] == 1

    shutil.copy(networks["ves2"], artifact)  # a valid network, but not the registered one
    swapped = geobp_main("invert", "ves-3l@1", str(ves_csv))
    assert swapped.returncode == 1
    assert "does not match the registry's SHA-256" in one_line_error(swapped)
