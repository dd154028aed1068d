"""``POST /api/v1/invert``: the served networks, 503 + Retry-After until a method is ready."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

import forward_models
from inversion.served import TrainingSettings, save_set, train_set

TINY = TrainingSettings(
    n_samples=3000, n_members=2, network={"hidden": 16, "max_epochs": 8, "learning_rate": 3e-3}
)
AB2 = np.logspace(0, 2.5, 15)


@pytest.fixture(scope="module")
def tiny_ves():
    return train_set(("ves-schlumberger",), TINY)


def _ves() -> dict:
    fm = forward_models.create("ves-schlumberger", n_layers=2, ab2_m=AB2)
    rho = fm.forward([30.0, 300.0, 5.0])[0]
    return {"ab2_m": AB2.tolist(), "rho_a_ohmm": rho.tolist()}


def _mt() -> dict:
    periods = np.logspace(-2, 3, 20)
    data = forward_models.create("mt-1d", n_layers=1, periods_s=periods).forward([100.0])[0]
    return {
        "periods_s": periods.tolist(),
        "rho_a_ohmm": data[:20].tolist(),
        "phase_deg": data[20:].tolist(),
    }


def test_not_ready_is_503_with_retry_after(client):
    response = client.post("/api/v1/invert", json={"data": _ves()})
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    error = response.get_json()["error"]
    assert error["code"] == "not_ready" and "ves-schlumberger" in error["message"]
    assert error["details"][0]["missing_layers"] == [2, 3, 4, 5, 6]


def test_served_inversion_and_readiness_per_method(client, settings, tiny_ves):
    save_set(tiny_ves, settings.artifact_dir / "served")
    response = client.post("/api/v1/invert", json={"data": _ves(), "max_layers": 3})
    assert response.status_code == 200, response.get_json()
    doc = response.get_json()
    assert doc["method"] == "ves-schlumberger" and doc["n_layers"] == 2
    np.testing.assert_allclose(doc["model"]["rho_ohmm"], [30.0, 300.0], rtol=1e-3)
    assert doc["runner_up"]["n_layers"] != 2 and doc["elapsed_ms"] > 0
    # MT has no served networks in this folder: 503 naming what is ready
    response = client.post("/api/v1/invert", json={"data": _mt()})
    assert response.status_code == 503
    assert "ready: ves-schlumberger" in response.get_json()["error"]["message"]
    many = client.post("/api/v1/invert", json={"soundings": [_ves(), _ves()], "max_layers": 2})
    assert many.status_code == 200 and len(many.get_json()["items"]) == 2


@pytest.mark.parametrize(
    "body, status, field_text",
    [
        ({"data": {"ab2_m": [1, 10, 1e5], "rho_a_ohmm": [1, 2, 3]}}, 422, "served range"),
        ({"data": {"rho_a_ohmm": [1, 2, 3]}}, 400, "periods_s"),
        ({}, 400, "exactly one"),
        (
            {"data": {"ab2_m": [1, 2, 3], "rho_a_ohmm": [1, 2, 3]}, "max_layers": 9},
            400,
            "max_layers",
        ),
        (
            {"data": {"ab2_m": [1, 2, 3], "rho_a_ohmm": [1, 2, 3]}, "segment_shifts": "yes"},
            400,
            "segment_shifts",
        ),
    ],
)
def test_bad_requests(client, body, status, field_text):
    response = client.post("/api/v1/invert", json=body)
    assert response.status_code == status
    assert field_text in str(response.get_json()["error"])


def test_served_status_lists_readiness(client, settings, tiny_ves):
    empty = client.get("/api/v1/served").get_json()
    assert empty["methods"]["mt-1d"] == {
        "ready": False,
        "missing_layers": [2, 3, 4, 5, 6],
        "networks": {},
    }
    assert empty["training"] is None and empty["upgrade"] is None
    save_set(tiny_ves, settings.artifact_dir / "served")
    doc = client.get("/api/v1/served").get_json()
    assert doc["methods"]["ves-schlumberger"]["ready"] is True


def test_starter_set_is_queued_once_through_the_broker(app, settings, tmp_path):
    from service.starter import missing, plan, queue_starter_set

    folder = tmp_path / "served"
    queue = settings.var_dir / "broker" / "queue"
    before = set(queue.glob("*")) if queue.exists() else set()
    task_id = queue_starter_set(app.extensions["geobp_celery"], folder)
    assert task_id is not None
    sent = set(queue.glob("*")) - before
    assert len(sent) == 1 and "geobp.train_served" in next(iter(sent)).read_text()
    assert len(missing(folder)) == len(plan()) == 25  # 5 methods × 2–6 layers
    # a training under way (fresh progress) is not queued twice
    folder.mkdir()
    (folder / "progress.json").write_text('{"state": "training", "updated_at": 1e12}')
    assert queue_starter_set(app.extensions["geobp_celery"], folder) is None


def _sent(queue, before) -> list[str]:
    return [path.read_text() for path in set(queue.glob("*")) - before]


def test_upgrade_is_queued_until_done_and_not_while_under_way(app, settings, tmp_path):
    from service.starter import CHALLENGER_SETTINGS, queue_upgrade, upgrade_plan

    celery = app.extensions["geobp_celery"]
    folder = tmp_path / "served"
    queue = settings.var_dir / "broker" / "queue"
    before = set(queue.glob("*")) if queue.exists() else set()
    assert queue_upgrade(celery, folder, n_eval=20) is not None  # before the starter set: it waits
    (message,) = _sent(queue, before)
    assert "geobp.upgrade_served" in message
    assert upgrade_plan() == [
        [m, n] for m in ("ves-schlumberger", "mt-1d", "ves-wenner") for n in range(2, 7)
    ]
    assert CHALLENGER_SETTINGS.data_misfit_weight > 0  # the upgrade trains physics-guided
    folder.mkdir()
    names = [f"served-{m}-{n}l" for m, n in upgrade_plan()]
    record = {"done": [], "updated_at": time.time()}
    for state, age_s, queued in [
        ("waiting", 10.0, False),  # under way: not twice
        ("training", 10.0, False),
        ("training", 7200.0, True),  # silent for two hours: lost, queued again
        ("failed", 10.0, True),
    ]:
        record.update(state=state, updated_at=time.time() - age_s)
        (folder / "upgrade.json").write_text(json.dumps(record))
        assert (queue_upgrade(celery, folder) is not None) is queued, state
    # done for every network of the plan: never again; a wider plan goes on with the rest
    record.update(state="done", done=names[:5])
    (folder / "upgrade.json").write_text(json.dumps(record))
    assert queue_upgrade(celery, folder, upgrade_plan()[:5]) is None
    assert queue_upgrade(celery, folder) is not None


def test_window_keeps_the_data_inside_and_bad_windows_are_400(client, settings, tiny_ves):
    save_set(tiny_ves, settings.artifact_dir / "served")
    body = {"data": _ves(), "max_layers": 2, "window": {"min": 2.0, "max": 100.0}}
    response = client.post("/api/v1/invert", json=body)
    assert response.status_code == 200, response.get_json()
    doc = response.get_json()
    kept = AB2[(AB2 >= 2.0) & (AB2 <= 100.0)]
    np.testing.assert_allclose(doc["predicted"]["ab2_m"], kept)
    dropped = AB2.size - kept.size
    assert f"{dropped} of 15 data outside the window [2, 100] m of ab2_m dropped" in doc["warnings"]
    for window, field in [
        ({"min": 50.0, "max": 5.0}, "window"),
        ({"min": 200.0}, "window"),
        ({"min": -1.0}, "window.min"),
        ({"max": 3.0, "unknown": 1}, "window.unknown"),
    ]:
        bad = client.post("/api/v1/invert", json={"data": _ves(), "window": window})
        assert bad.status_code == 400, (window, bad.get_json())
        error = bad.get_json()["error"]
        assert field in str(error), (window, error)
