"""End to end over the real stack: HTTP (Flask test client) → broker → worker process → database
→ registry → inversion; and what happens when the worker is SIGKILLed mid-training."""

from __future__ import annotations

import time

import pytest

import forward_models
from service.app import create_app

pytestmark = pytest.mark.integration

AB2_M = [1.0, 1.5, 2.2, 3.2, 4.6, 6.8, 10.0, 15.0, 22.0, 32.0, 46.0, 68.0, 100.0]
FM = {"name": "ves-schlumberger", "n_layers": 3, "ab2_m": AB2_M, "mn2_m": 0.5}
TERMINAL = ("succeeded", "failed", "cancelled")


def _spec(name: str, **network) -> dict:
    return {
        "name": name,
        "forward_model": FM,
        "n_samples": 3000,
        "n_chunks": 2,
        "n_test": 100,
        "network": {"hidden": 16, "max_epochs": 200, "n_members": 2, **network},
    }


def _submit(stack, spec: dict) -> str:
    response = stack.client.post("/api/v1/training-jobs", json=spec, headers=stack.auth)
    assert response.status_code == 202, response.get_json()
    return response.get_json()["id"]


def _watch(stack, job_id: str, timeout_s: float = 90.0, until=None) -> list[dict]:
    """Poll the job until it finishes (or ``until(job)``); return every distinct state seen."""
    seen: list[dict] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = stack.client.get(f"/api/v1/training-jobs/{job_id}").get_json()
        if (
            not seen
            or job["progress"] != seen[-1]["progress"]
            or job["status"] != seen[-1]["status"]
        ):
            seen.append(job)
        if job["status"] in TERMINAL or (until is not None and until(job)):
            return seen
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} stuck at {seen[-1]}\n{stack.log_tail()}")


def _sounding(model=(100.0, 10.0, 500.0, 5.0, 20.0)) -> dict:
    fm = forward_models.from_dict(FM)
    return {"ab2_m": AB2_M, "rho_a_ohmm": fm.forward(list(model))[0].tolist()}


def _networks_of(stack, job_id: str) -> list[dict]:
    items = stack.client.get("/api/v1/networks").get_json()["items"]
    return [item for item in items if item["lineage"]["job_id"] == job_id]


def test_health_sees_database_and_broker(stack) -> None:
    body = stack.client.get("/api/v1/health").get_json()
    assert body["status"] == "ok", body
    expected = "redis" if stack.kind == "redis-postgres" else "embedded"
    assert body["broker"]["kind"] == expected and body["database"]["revision"] == "0001_initial"


def test_train_over_http_then_invert(stack) -> None:
    job_id = _submit(stack, _spec(f"it-{stack.kind}"))
    seen = _watch(stack, job_id)
    final = seen[-1]
    assert final["status"] == "succeeded", (final, stack.log_tail())
    fractions = [job["progress"]["fraction"] for job in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    running = [job for job in seen if job["status"] == "running"]
    assert any(0 < job["progress"]["fraction"] < 1 for job in running), seen
    assert any(job["progress"].get("epoch") for job in running), seen  # epochs reported
    stages = [job["progress"]["stage"] for job in seen]
    assert stages.index("train") < stages.index("done")

    [network] = _networks_of(stack, job_id)
    assert network["id"] == final["network_id"] and network["version"] == 1
    assert network["aliases"] == ["latest", "production"]
    response = stack.client.post(
        f"/api/v1/networks/it-{stack.kind}/invert", json={"data": _sounding()}
    )
    assert response.status_code == 200, response.get_json()
    result = response.get_json()
    assert result["network"]["id"] == network["id"]
    assert result["misfit"]["rms_percent"] < 10


def test_cancel_running_job(stack) -> None:
    job_id = _submit(stack, _spec("it-cancel", max_epochs=20000, early_stopping=False))
    _watch(stack, job_id, until=lambda job: job["progress"].get("epoch"))
    response = stack.client.delete(f"/api/v1/training-jobs/{job_id}", headers=stack.auth)
    assert response.status_code == 202
    final = _watch(stack, job_id, timeout_s=30)[-1]
    assert final["status"] == "cancelled" and final["network_id"] is None
    assert _networks_of(stack, job_id) == []


def test_sigkill_mid_training_then_restart(stack) -> None:
    job_id = _submit(stack, _spec("it-kill", max_epochs=600, early_stopping=False))
    _watch(stack, job_id, until=lambda job: (job["progress"].get("epoch") or 0) >= 2)
    stack.kill_worker()
    job = stack.client.get(f"/api/v1/training-jobs/{job_id}").get_json()
    assert job["status"] == "running" and job["network_id"] is None
    assert _networks_of(stack, job_id) == []  # no partial network is visible
    assert not list(stack.settings.artifact_dir.glob("networks/it-kill/*"))

    stack.start_worker()  # same worker name: it takes its lost job back
    final = _watch(stack, job_id, timeout_s=120)[-1]
    assert final["attempts"] == 2, (final, stack.log_tail())
    assert "was lost" in final["retry_reasons"][0]
    assert final["status"] == "succeeded", (final, stack.log_tail())
    networks = _networks_of(stack, job_id)
    assert [n["id"] for n in networks] == [final["network_id"]]

    # restart the API on the same database: nothing registered is lost, artifacts intact
    before = stack.client.get("/api/v1/networks").get_json()["items"]
    restarted = create_app({"GEOBP": stack.settings, "TESTING": True})
    client = restarted.test_client()
    assert client.get("/api/v1/networks").get_json()["items"] == before
    response = client.post(
        f"/api/v1/networks/{final['network_id']}/invert", json={"data": _sounding()}
    )
    assert response.status_code == 200
    restarted.extensions["geobp_db"].dispose()
