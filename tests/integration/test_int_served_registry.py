"""Served networks through a real Celery worker (``python -m worker.main``), on Redis +
PostgreSQL and on the embedded default (SQLite, filesystem broker): the starter set queued and
trained, registered as versions with a ``production`` alias that ``POST /api/v1/invert`` serves,
a champion/challenger retraining through the same worker, and the first-start upgrade that
waits for the starter set."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from served import wait_until

from inversion.served import TrainingSettings, served_name
from service.starter import queue_starter_set, queue_upgrade
from worker.queues import TRAIN_QUEUE
from worker.served_upgrade import read_upgrade

TINY = TrainingSettings(n_samples=2000, n_members=1, network={"hidden": 8, "max_epochs": 3})
PLAN = [["mt-1d", n] for n in range(2, 7)]
#: a physics-guided challenger (the data misfit of its own answer in the loss), as scheduled ones
STRONG = {
    "n_samples": 4000,
    "n_members": 2,
    "network": {"hidden": 32, "max_epochs": 25},
    "data_misfit_weight": 0.3,
}
FIELD = {
    "periods_s": [0.001, 0.01, 0.1, 1.0, 10.0, 100.0],
    "rho_a_ohmm": [100.0, 99.0, 80.0, 35.0, 14.0, 11.0],
    "phase_deg": [45.0, 47.0, 58.0, 60.0, 52.0, 46.0],
}
NAME = served_name("mt-1d", 3)


def _wait(predicate, timeout_s: float, stack, what: str):
    return wait_until(what, predicate, timeout_s, interval_s=0.5, context=stack.log_tail)


def _versions(stack) -> dict[int, dict]:
    items = stack.client.get("/api/v1/networks").get_json()["items"]
    return {n["version"]: n for n in items if n["name"] == NAME}


@pytest.mark.parametrize("stack", ["redis-postgres", "embedded"], indirect=True)
def test_starter_set_through_the_worker_registers_versions_and_champion_challenger(stack):
    assert stack.settings.broker_url.startswith("redis://") == (stack.kind == "redis-postgres")
    refused = stack.client.post("/api/v1/invert", json={"data": FIELD})
    assert refused.status_code == 503 and refused.headers["Retry-After"]

    folder = stack.settings.artifact_dir / "served"
    celery = stack.app.extensions["geobp_celery"]
    assert queue_starter_set(celery, folder, PLAN, TINY)
    _wait(
        lambda: stack.client.get("/api/v1/served").get_json()["methods"]["mt-1d"]["ready"],
        180,
        stack,
        "mt-1d served",
    )
    answer = stack.client.post("/api/v1/invert", json={"data": FIELD, "max_layers": 3})
    assert answer.status_code == 200, answer.get_json()
    versions = _wait(lambda: _versions(stack), 30, stack, "registration")
    assert sorted(versions) == [1] and versions[1]["aliases"] == ["latest", "production"]
    champion_id = versions[1]["id"]
    status = stack.client.get("/api/v1/served").get_json()["methods"]
    assert status["mt-1d"]["networks"]["3"] == {"id": champion_id, "name": NAME, "version": 1}
    assert status["ves-schlumberger"]["ready"] is False  # only the tiny MT plan was queued

    celery.send_task(
        "geobp.retrain_served",
        kwargs={
            "folder": str(folder),
            "method": "mt-1d",
            "n_layers": 3,
            "settings": STRONG,
            "n_eval": 10,
        },
        queue=TRAIN_QUEUE,
    )
    versions = _wait(lambda: len(_versions(stack)) == 2 and _versions(stack), 240, stack, "v2")
    challenger = stack.client.get(f"/api/v1/networks/{versions[2]['id']}").get_json()
    record = challenger["metrics"]["champion_challenger"]
    assert challenger["network"]["data_misfit_weight"] == 0.3  # trained physics-guided
    assert challenger["network"]["misfit_cauchy_scale"] is None  # MT: the χ² form
    assert record["champion_id"] == champion_id and record["champion_version"] == 1
    # the larger challenger is better on the held-out set, so it becomes production
    assert record["challenger"]["median_network_chi"] < record["champion"]["median_network_chi"]
    assert record["promoted"] is True
    assert versions[2]["aliases"] == ["latest", "production"] and versions[1]["aliases"] == []
    status = stack.client.get("/api/v1/served").get_json()["methods"]
    assert status["mt-1d"]["networks"]["3"]["version"] == 2


@pytest.mark.parametrize("stack", ["redis-postgres"], indirect=True)
def test_a_served_schedule_is_claimed_once_on_postgres(stack):
    body = {
        "name": "served-nightly",
        "cron": "0 3 * * *",
        "served": {"method": "mt-1d", "n_layers": 3, "settings": STRONG},
    }
    created = stack.client.post("/api/v1/schedules", json=body, headers=stack.auth)
    assert created.status_code == 201, created.get_json()
    store = stack.app.extensions["geobp_celery"].geobp_store
    later = datetime.now(timezone.utc) + timedelta(days=2)
    due = store.due_served_retrains(later)
    assert [d["schedule_id"] for d in due] == [created.get_json()["id"]]
    assert due[0]["settings"]["n_samples"] == 4000 and due[0]["n_layers"] == 3
    assert store.due_served_retrains(later) == [] and store.create_due_jobs(later) == []


@pytest.mark.parametrize("stack", ["redis-postgres", "embedded"], indirect=True)
def test_upgrade_waits_for_the_starter_set_then_promotes_physics_guided_networks(stack):
    folder = stack.settings.artifact_dir / "served"
    celery = stack.app.extensions["geobp_celery"]
    plan = [["ves-schlumberger", 2]]  # the stack is shared: MT is in already
    # sent first, as `geobp serve` does on a fresh deployment: it waits for the starter network
    assert queue_upgrade(celery, folder, plan, TrainingSettings(**STRONG), n_eval=10, wait_s=1.0)
    waiting = _wait(lambda: read_upgrade(folder), 60, stack, "the upgrade's record")
    assert waiting["state"] == "waiting" and waiting["done"] == []
    assert queue_upgrade(celery, folder, plan) is None  # under way: not sent twice
    assert queue_starter_set(celery, folder, plan, TINY)
    name = served_name("ves-schlumberger", 2)
    done = _wait(
        lambda: (
            (read_upgrade(folder) or {}).get("state") in ("done", "failed") and read_upgrade(folder)
        ),
        300,
        stack,
        "the upgrade",
    )
    assert done["state"] == "done", done
    assert done["done"] == [name] and done["promoted"] == [name]
    items = stack.client.get("/api/v1/networks").get_json()["items"]
    versions = {n["version"]: n for n in items if n["name"] == name}
    assert sorted(versions) == [1, 2] and versions[2]["aliases"] == ["latest", "production"]
    record = stack.client.get(f"/api/v1/networks/{versions[2]['id']}").get_json()
    assert record["network"]["data_misfit_weight"] == 0.3
    assert record["network"]["misfit_cauchy_scale"] == 2.0  # VES: the robust form
    assert record["metrics"]["champion_challenger"]["origin"] == "upgrade"
    assert record["metrics"]["champion_challenger"]["champion_version"] == 1
    status = stack.client.get("/api/v1/served").get_json()
    assert status["upgrade"]["state"] == "done"
    assert status["methods"]["ves-schlumberger"]["networks"]["2"]["version"] == 2
    assert queue_upgrade(celery, folder, plan) is None  # done: never again
