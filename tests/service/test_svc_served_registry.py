"""Served networks as registry versions (SQLite): registration, the production alias serving
``/invert``, served-retraining schedules and champion/challenger through the real task."""

from __future__ import annotations

import base64
import json
import shutil
from datetime import datetime, timedelta, timezone

import pytest

from inversion.served import TrainingSettings, served_name, train_served
from service.artifacts import sha256_file
from service.models import Schedule
from service.served_registry import (
    check_served_retrain,
    production_of,
    production_set,
    register_served_file,
    served_record,
)
from service.starter import CHALLENGER_SETTINGS

NAME = served_name("mt-1d", 2)
WEAK = TrainingSettings(n_samples=600, n_members=1, network={"hidden": 4, "max_epochs": 1})
STRONG = {"n_samples": 4000, "n_members": 2, "network": {"hidden": 32, "max_epochs": 25}}
FIELD = {  # a 2-layer MT sounding (100 over 10 ohm.m), periods 1e-3 to 1e2 s
    "periods_s": [0.001, 0.01, 0.1, 1.0, 10.0, 100.0],
    "rho_a_ohmm": [100.0, 99.0, 80.0, 35.0, 14.0, 11.0],
    "phase_deg": [45.0, 47.0, 58.0, 60.0, 52.0, 46.0],
}


@pytest.fixture(scope="module")
def weak_files(tmp_path_factory):
    """Two different weak 2-layer MT served network files."""
    folder = tmp_path_factory.mktemp("weak")
    paths = []
    for seed in (0, 1):
        net = train_served("mt-1d", 2, TrainingSettings(**{**WEAK.to_dict(), "seed": seed}))
        path = folder / f"weak{seed}.npz"
        net.save(str(path))
        paths.append(path)
    return paths


def _db_store(app):
    return app.extensions["geobp_db"], app.extensions["geobp_artifacts"]


def _versions(client) -> dict[int, dict]:
    items = client.get("/api/v1/networks").get_json()["items"]
    return {n["version"]: n for n in items if n["name"] == NAME}


def test_registration_versions_aliases_and_checksum(app, client, weak_files):
    db, store = _db_store(app)
    first = register_served_file(db, store, NAME, weak_files[0])
    assert register_served_file(db, store, NAME, weak_files[0]) == first  # same file: same row
    second = register_served_file(db, store, NAME, weak_files[1])  # "if_none": not production
    versions = _versions(client)
    assert sorted(versions) == [1, 2]
    assert versions[1]["id"] == first and versions[1]["aliases"] == ["production"]
    assert versions[2]["id"] == second and versions[2]["aliases"] == ["latest"]
    assert versions[1]["forward_model"] == {"name": "mt-1d", "n_layers": 2, "served": True}
    row = production_of(db, store, NAME)
    assert row["id"] == first and row["path"].parent == store.root / "networks" / NAME
    assert sha256_file(row["path"]) == sha256_file(weak_files[0]) == row["sha256"]
    register_served_file(db, store, NAME, weak_files[1], production="always")
    assert production_of(db, store, NAME)["id"] == second
    with pytest.raises(ValueError, match="does not match"):
        register_served_file(db, store, served_name("mt-1d", 4), weak_files[0])


def test_the_served_set_is_production_then_folder_files(app, weak_files):
    db, store = _db_store(app)
    first = register_served_file(db, store, NAME, weak_files[0])
    second = register_served_file(db, store, NAME, weak_files[1])
    folder = app.config["GEOBP"].artifact_dir / "served"
    folder.mkdir(parents=True)
    shutil.copyfile(weak_files[1], folder / f"{NAME}.npz")  # the registry's wins over a file
    three = train_served("mt-1d", 3, WEAK)
    three.save(str(folder / f"{served_name('mt-1d', 3)}.npz"))  # a layer count not registered
    served = production_set(db, store, folder)
    assert served.info_of("mt-1d", 2) == {"id": first, "name": NAME, "version": 1}
    assert served.info_of("mt-1d", 3) == {"name": served_name("mt-1d", 3)}
    assert served.missing("mt-1d") == [4, 5, 6]
    result = served.invert(FIELD, max_layers=2)[0]
    assert result["n_layers"] == 2 and result["network"]["id"] == first
    register_served_file(db, store, NAME, weak_files[1], production="always")
    assert production_set(db, store, folder).info_of("mt-1d", 2)["id"] == second


def test_a_served_schedule_is_claimed_as_a_retraining_not_a_job(app, client, auth, weak_files):
    body = {
        "name": "nightly",
        "cron": "0 3 * * *",
        "served": {"method": "mt-1d", "n_layers": 2, "settings": {"n_samples": 5000}},
    }
    response = client.post("/api/v1/schedules", json=body, headers=auth)
    assert response.status_code == 201, response.get_json()
    spec = response.get_json()["spec"]["retrain_served"]
    assert spec["settings"]["n_samples"] == 5000 and spec["settings"]["n_members"] == 3
    bad = {**body, "served": {"method": "ves-nowhere", "n_layers": 2}}
    refused = client.post("/api/v1/schedules", json=bad, headers=auth)
    assert refused.status_code == 400 and "served.method" in refused.get_json()["error"]["message"]
    db, artifacts = _db_store(app)
    register_served_file(db, artifacts, NAME, weak_files[0])
    by_name = {"name": "wrong", "cron": "0 3 * * *", "network": NAME}
    refused = client.post("/api/v1/schedules", json=by_name, headers=auth)
    assert refused.status_code == 400 and "'served'" in refused.get_json()["error"]["message"]
    store = app.extensions["geobp_celery"].geobp_store
    later = datetime.now(timezone.utc) + timedelta(days=2)
    assert store.create_due_jobs(later) == []
    due = store.due_served_retrains(later)
    assert len(due) == 1 and due[0]["method"] == "mt-1d" and due[0]["n_layers"] == 2
    assert due[0]["folder"].endswith("served")
    assert store.due_served_retrains(later) == []  # claimed: advanced to the next cron time


def test_champion_challenger_moves_production_only_when_better(app, client, weak_files):
    db, store = _db_store(app)
    champion = register_served_file(db, store, NAME, weak_files[0])
    task = app.extensions["geobp_celery"].tasks["geobp.retrain_served"]
    common = {
        "folder": str(app.config["GEOBP"].artifact_dir / "served"),
        "method": "mt-1d",
        "n_layers": 2,
        "n_eval": 20,
    }
    won = task.apply(kwargs={**common, "settings": STRONG}).get()
    assert won["promoted"] is True
    assert won["challenger"]["median_network_chi"] < won["champion"]["median_network_chi"]
    assert production_of(db, store, NAME)["id"] == won["network_id"] != champion
    lost = task.apply(kwargs={**common, "settings": WEAK.to_dict()}).get()
    assert lost["promoted"] is False
    assert lost["champion"]["median_network_chi"] == won["challenger"]["median_network_chi"]
    assert production_of(db, store, NAME)["id"] == won["network_id"]
    versions = _versions(client)
    assert sorted(versions) == [1, 2, 3] and versions[2]["aliases"] == ["production"]
    detail = client.get(f"/api/v1/networks/{lost['network_id']}").get_json()
    record = detail["metrics"]["champion_challenger"]
    assert record["promoted"] is False and record["champion_id"] == won["network_id"]
    assert record["champion_version"] == 2
    assert detail["metrics"]["held_out"] == {
        "metric": "median_network_chi",
        "n": 20,
        "seed": 20261206,
    }


def test_a_served_version_is_not_inverted_as_a_registry_network(app, client, weak_files):
    db, store = _db_store(app)
    network_id = register_served_file(db, store, NAME, weak_files[0])
    response = client.post(f"/api/v1/networks/{network_id}/invert", json={"data": FIELD})
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "served_network" and "POST /api/v1/invert" in error["message"]


def test_the_starter_task_registers_each_network_once(app, client, weak_files):
    folder = app.config["GEOBP"].artifact_dir / "served"
    folder.mkdir(parents=True)
    shutil.copyfile(weak_files[0], folder / f"{NAME}.npz")  # trained before registration existed
    task = app.extensions["geobp_celery"].tasks["geobp.train_served"]
    plan = [["mt-1d", 2], ["mt-1d", 3]]
    tiny = {"n_samples": 600, "n_members": 1, "network": {"hidden": 4, "max_epochs": 1}}
    assert task.apply(args=(str(folder), plan, tiny)).get() == [served_name("mt-1d", 3)]
    assert task.apply(args=(str(folder), plan, tiny)).get() == []  # nothing new, nothing twice
    items = client.get("/api/v1/networks").get_json()["items"]
    listed = sorted((n["name"], n["version"], tuple(n["aliases"])) for n in items)
    assert listed == [
        (NAME, 1, ("latest", "production")),
        (served_name("mt-1d", 3), 1, ("latest", "production")),
    ]
    status = client.get("/api/v1/served").get_json()["methods"]["mt-1d"]["networks"]
    assert status["2"]["version"] == status["3"]["version"] == 1 and "id" in status["3"]


def test_beat_tick_sends_the_due_served_retraining(app, client, auth):
    body = {
        "name": "soon",
        "cron": "* * * * *",
        "served": {"method": "ves-wenner", "n_layers": 4, "n_eval": 7},
    }
    schedule_id = client.post("/api/v1/schedules", json=body, headers=auth).get_json()["id"]
    db, _ = _db_store(app)
    with db.session() as session:
        session.get(Schedule, schedule_id).next_run_at = datetime.now(timezone.utc) - timedelta(
            minutes=1
        )
    tick = app.extensions["geobp_celery"].tasks["geobp.tick_schedules"]
    assert tick.apply().get() == []  # no training job: the retraining is a task
    queue = app.config["GEOBP"].var_dir / "broker" / "queue"
    messages = [json.loads(p.read_text()) for p in queue.iterdir()]
    sent = [m for m in messages if m["headers"]["task"] == "geobp.retrain_served"]
    assert len(sent) == 1
    _, kwargs, _ = json.loads(base64.b64decode(sent[0]["body"]))
    assert kwargs["n_eval"] == 7 and kwargs["schedule_id"] == schedule_id
    assert kwargs["method"] == "ves-wenner" and kwargs["folder"].endswith("served")
    # no settings given: the physics-guided challenger defaults
    assert kwargs["settings"]["data_misfit_weight"] == 0.3
    assert kwargs["settings"]["network"]["hidden"] == 256


def test_served_retraining_settings_fill_from_the_challenger_defaults():
    spec = check_served_retrain(
        {"method": "mt-1d", "n_layers": 3, "settings": {"n_samples": 500, "data_misfit_weight": 0}}
    )
    assert spec["settings"]["n_samples"] == 500 and spec["settings"]["data_misfit_weight"] == 0
    assert spec["settings"]["network"] == CHALLENGER_SETTINGS.network
    with pytest.raises(ValueError, match="served.settings"):
        check_served_retrain({"method": "mt-1d", "n_layers": 3, "settings": {"hiden": 3}})
    assert spec["settings"]["misfit_cauchy_scale"] == {"ves-schlumberger": 2.0, "ves-wenner": 2.0}


def test_the_record_names_the_physics_terms_form():
    common = {"n_samples": 600, "n_members": 1, "network": {"hidden": 4, "max_epochs": 1}}
    ves = train_served("ves-schlumberger", 2, TrainingSettings(**common, data_misfit_weight=0.3))
    mt = train_served("mt-1d", 2, TrainingSettings(**common, data_misfit_weight=0.3))
    plain = train_served("ves-schlumberger", 2, TrainingSettings(**common))
    config = {k: served_record(n, "x", None)["network_config"] for k, n in
              {"ves": ves, "mt": mt, "plain": plain}.items()}  # fmt: skip
    assert config["ves"]["misfit_cauchy_scale"] == 2.0  # VES: the robust term by default
    assert config["mt"]["misfit_cauchy_scale"] is None  # MT: χ²
    assert config["plain"]["misfit_cauchy_scale"] is None  # no physics term at all
    assert config["plain"]["data_misfit_weight"] == 0.0


@pytest.mark.parametrize(
    ("training", "message"),
    [
        ({"misfit_cauchy_scale": {"ves-schlumberger": -1.0}}, "finite number > 0"),
        ({"misfit_cauchy_scale": {"ves-schlumberger": "2"}}, "finite number > 0"),
        ({"misfit_cauchy_scale": {"tem-central-loop": 2.0}}, "is not one of"),
        ({"misfit_cauchy_scale": [2.0]}, "must map method names"),
        ({"data_misfit_weight": -0.3}, "data_misfit_weight"),
    ],
)
def test_bad_physics_settings_of_a_served_schedule_are_a_400(client, auth, training, message):
    body = {"name": "bad", "cron": "0 3 * * *", "served": {"method": "ves-schlumberger",
            "n_layers": 3, "settings": training}}  # fmt: skip
    response = client.post("/api/v1/schedules", json=body, headers=auth)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_request" and message in error["message"]
