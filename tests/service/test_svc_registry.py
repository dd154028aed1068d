"""Registry: versions per name, aliases, promotion rule, resolution, deletion, idempotence,
atomic checksummed artifacts — on the real SQLite database and real saved inverters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from svc_helpers import register_tiny, sounding

from service import registry
from service.artifacts import ArtifactStore, sha256_file
from service.models import Network


def _aliases(client, name: str) -> dict[int, list[str]]:
    items = client.get(f"/api/v1/networks?name={name}").get_json()["items"]
    return {item["version"]: item["aliases"] for item in items}


def test_versions_and_promotion(app, client, tiny_inverter) -> None:
    register_tiny(app, tiny_inverter, "n", held_out_loss=0.50)
    register_tiny(app, tiny_inverter, "n", held_out_loss=0.70)  # worse: production stays
    assert _aliases(client, "n") == {1: ["production"], 2: ["latest"]}
    register_tiny(app, tiny_inverter, "n", held_out_loss=0.50)  # equal = no worse: promoted
    assert _aliases(client, "n") == {1: [], 2: [], 3: ["latest", "production"]}
    register_tiny(app, tiny_inverter, "other")
    assert _aliases(client, "other") == {1: ["latest", "production"]}


def test_resolve_by_id_name_alias_and_version(app, client, tiny_inverter) -> None:
    first = register_tiny(app, tiny_inverter, "r", held_out_loss=0.2)
    second = register_tiny(app, tiny_inverter, "r", held_out_loss=0.9)
    get = client.get
    assert get(f"/api/v1/networks/{second}").get_json()["version"] == 2
    assert get("/api/v1/networks/r").get_json()["id"] == first  # production by default
    assert get("/api/v1/networks/r@latest").get_json()["id"] == second
    assert get("/api/v1/networks/r?alias=latest").get_json()["id"] == second
    assert get("/api/v1/networks/r@1").get_json()["id"] == first
    assert get("/api/v1/networks/r?version=2").get_json()["id"] == second


def test_explicit_production_alias(app, client, auth, tiny_inverter) -> None:
    register_tiny(app, tiny_inverter, "p", held_out_loss=0.1)
    second = register_tiny(app, tiny_inverter, "p", held_out_loss=0.9)
    response = client.post(
        f"/api/v1/networks/{second}/aliases", json={"alias": "production"}, headers=auth
    )
    assert response.status_code == 200
    assert response.get_json()["aliases"] == ["latest", "production"]
    assert client.get("/api/v1/networks/p").get_json()["id"] == second


def test_delete_repoints_aliases_and_removes_artifact(app, client, auth, tiny_inverter) -> None:
    first = register_tiny(app, tiny_inverter, "d")
    second = register_tiny(app, tiny_inverter, "d")
    path = Path(_path(app, second))
    assert path.is_file()
    assert client.delete(f"/api/v1/networks/{second}", headers=auth).status_code == 204
    assert not path.exists()
    assert _aliases(client, "d") == {1: ["latest", "production"]}
    assert client.get(f"/api/v1/networks/{second}").status_code == 404
    assert client.get("/api/v1/networks/d").get_json()["id"] == first


def _path(app, network_id: str) -> str:
    with app.extensions["geobp_db"].session() as session:
        stored = session.get(Network, network_id).artifact_path
    return str(app.extensions["geobp_artifacts"].locate(stored))


def test_registration_is_idempotent_per_job(app, tiny_inverter) -> None:
    from service.models import TrainingJob

    with app.extensions["geobp_db"].session() as session:
        session.add(TrainingJob(id="j" * 32, name="idem", spec={}, status="running"))
    first = register_tiny(app, tiny_inverter, "idem", job_id="j" * 32)
    again = register_tiny(app, tiny_inverter, "idem", job_id="j" * 32)
    assert again == first
    with app.extensions["geobp_db"].session() as session:
        assert session.query(Network).filter_by(name="idem").count() == 1
        job = session.get(TrainingJob, "j" * 32)
        assert (job.status, job.network_id) == ("succeeded", first)
    folder = Path(_path(app, first)).parent
    assert sorted(p.name for p in folder.iterdir()) == [f"{first}.npz"]


def test_artifact_checksum_matches_and_tamper_is_refused(app, client, tiny_inverter) -> None:
    network_id = register_tiny(app, tiny_inverter, "sum")
    path = Path(_path(app, network_id))
    detail = client.get(f"/api/v1/networks/{network_id}").get_json()
    assert detail["lineage"]["artifact_sha256"] == sha256_file(path)
    with open(path, "ab") as handle:
        handle.write(b"tampered")
    response = client.post(f"/api/v1/networks/{network_id}/invert", json={"data": sounding()})
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "artifact_invalid"


def test_write_atomic_leaves_nothing_on_failure(tmp_path) -> None:
    store = ArtifactStore(tmp_path)
    target = tmp_path / "x" / "a.npz"

    def failing(path: Path) -> None:
        np.savez(path, a=np.arange(3))
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        store.write_atomic(target, failing)
    assert list((tmp_path / "x").iterdir()) == []
    checksum = store.write_atomic(target, lambda p: np.savez(p, a=np.arange(3)))
    assert checksum == sha256_file(target) and [p.name for p in target.parent.iterdir()] == [
        "a.npz"
    ]


def test_resolve_unknown_raises_not_found(app) -> None:
    with app.extensions["geobp_db"].session() as session:
        with pytest.raises(registry.NotFound, match="no network with id or name 'missing'"):
            registry.resolve(session, "missing")
        with pytest.raises(registry.InvalidAlias, match="alias: must be one of"):
            registry.set_alias(session, None, "staging")
