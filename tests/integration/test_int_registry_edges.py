"""The registry's edges on SQLite and on PostgreSQL (the app in-process on the real databases):
NUL characters in paths and queries, and no artifact left without its row when the database
refuses one. (Alias moves racing deletes over real servers: test_int_hardening.py.)"""

from __future__ import annotations

import uuid

import pytest

from service import registry
from service.app import create_app
from service.config import load_settings

pytestmark = pytest.mark.integration

TOKEN = "race-token"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def app(request, tmp_path_factory):
    overrides = {"var_dir": tmp_path_factory.mktemp(f"races-{request.param}"), "api_token": TOKEN}
    if request.param == "postgres":
        overrides["database_url"] = request.getfixturevalue("postgres_url")
    app = create_app({"GEOBP": load_settings(env={}, **overrides), "TESTING": True})
    yield app
    app.extensions["geobp_db"].dispose()


@pytest.mark.parametrize(
    ("path", "needle"),
    [("/api/v1/networks/a%00b", "path: NUL"), ("/api/v1/networks?name=a%00b", "query: NUL")],
)
def test_nul_characters_in_paths_and_queries_are_400(app, path, needle):
    response = app.test_client().get(path)
    assert response.status_code == 400 and needle in response.get_json()["error"]["message"]


def test_no_artifact_is_left_without_its_registry_row(app):
    """A seed beyond 32 bits (what scheduled retraining used to produce) is refused by
    PostgreSQL's integer column; the artifact written before the insert is removed with it."""
    name = f"seed-{uuid.uuid4().hex[:8]}"
    record_seed = 2**31 + 5
    db, store = app.extensions["geobp_db"], app.extensions["geobp_artifacts"]
    record = {
        "name": name,
        "forward_model": {},
        "domain": {},
        "noise": {},
        "network_config": {},
        "metrics": {},
        "job_id": None,
        "seed": record_seed,
        "n_samples": 100,
        "code_version": "test",
    }
    try:
        registry.register_network(db, store, record, lambda path: path.write_bytes(b"x"))
    except Exception:  # noqa: BLE001 - PostgreSQL refuses the value; SQLite stores it
        pass
    files = list(store.network_path(name, "any").parent.glob("*"))
    rows = app.test_client().get(f"/api/v1/networks?name={name}").get_json()["items"]
    assert len(files) == len(rows)
    assert [row["lineage"]["seed"] for row in rows] == ([record_seed] if rows else [])
