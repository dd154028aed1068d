"""Happy paths of every endpoint, the OpenAPI document and the API page."""

from __future__ import annotations

import numpy as np
from svc_helpers import AB2_M, FM_SPEC, job_spec, register_tiny, sounding

import forward_models

API_RULES_NOT_IN_DOC = {
    "/api/v1/openapi.json",
    "/api/v1/docs",
    "/api/v1/docs/init.js",
    "/api/v1/docs/{asset}",
}


def test_health_reports_database_and_broker(client) -> None:
    body = client.get("/api/v1/health").get_json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] and body["database"]["revision"] == "0001_initial"
    assert body["broker"] == {**body["broker"], "ok": True, "kind": "embedded"}


def test_forward_models_listing_and_forward_matches_library(client) -> None:
    items = {
        item["name"]: item for item in client.get("/api/v1/forward-models").get_json()["items"]
    }
    assert set(items) == set(forward_models.names())
    ves = items["ves-schlumberger"]
    assert ves["parameters"] == ["rho1", "rho2", "rho3", "h1", "h2"]
    assert ves["axis_name"] == "ab2_m" and "mn2_m" in ves["geometry_fields"]
    models = [[100.0, 10.0, 500.0, 5.0, 20.0], [50.0, 50.0, 50.0, 1.0, 1.0]]
    response = client.post(
        "/api/v1/forward-models/ves-schlumberger/forward",
        json={"config": {"n_layers": 3, "ab2_m": AB2_M, "mn2_m": 0.5}, "models": models},
    )
    assert response.status_code == 200
    data = np.array(response.get_json()["data"])
    expected = forward_models.from_dict(FM_SPEC).forward(np.array(models))
    np.testing.assert_allclose(data, expected, rtol=1e-12)
    np.testing.assert_allclose(data[1], 50.0, rtol=1e-3)  # homogeneous half-space: ρa = ρ


def test_invert_one_and_many(app, client, tiny_inverter) -> None:
    network_id = register_tiny(app, tiny_inverter, "inv")
    one = client.post("/api/v1/networks/inv/invert", json={"data": sounding(), "refine": False})
    assert one.status_code == 200
    result = one.get_json()
    assert result["network"] == {"id": network_id, "name": "inv", "version": 1}
    assert len(result["model"]["rho_ohmm"]) == 3 and len(result["model"]["thickness_m"]) == 2
    assert set(result) >= {
        "model",
        "uncertainty",
        "predicted",
        "misfit",
        "in_domain",
        "warnings",
        "elapsed_ms",
    }
    many = client.post(
        f"/api/v1/networks/{network_id}/invert",
        json={"soundings": [sounding(), sounding((20.0, 200.0, 20.0, 3.0, 10.0))]},
    )
    assert many.status_code == 200
    items = many.get_json()["items"]
    assert len(items) == 2 and all(item["network"]["id"] == network_id for item in items)
    # refined inversion of noise-free data fits it
    assert items[0]["misfit"]["rms_percent"] < 10
    assert "smooth" not in items[0]  # opt-in on the registry path
    smooth = client.post(
        f"/api/v1/networks/{network_id}/invert", json={"data": sounding(), "smooth": True}
    ).get_json()
    assert len(smooth["smooth"]["rho_ohmm"]) >= 20
    assert smooth["smooth"]["misfit"]["chi"] < 1.5
    assert smooth["doi_m"]["conservative"] <= smooth["doi_m"]["standard"]


def test_schedules_create_list_tick_delete(app, client, auth, tiny_inverter) -> None:
    from datetime import datetime, timedelta, timezone

    from service.models import Network, TrainingJob
    from service.schemas import TrainingJobCreate

    register_tiny(app, tiny_inverter, "sched")
    with app.extensions["geobp_db"].session() as session:  # give the network a training job
        spec = TrainingJobCreate.model_validate(job_spec(name="sched", seed=4)).model_dump()
        job = TrainingJob(id="a" * 32, name="sched", spec=spec, status="succeeded")
        session.add(job)
        session.query(Network).filter_by(name="sched").one().job_id = job.id
    response = client.post(
        "/api/v1/schedules",
        json={"name": "nightly", "cron": "0 3 * * *", "network": "sched"},
        headers=auth,
    )
    assert response.status_code == 201
    schedule = response.get_json()
    assert schedule["next_run_at"].endswith("T03:00:00.000000Z")
    assert [s["id"] for s in client.get("/api/v1/schedules").get_json()["items"]] == [
        schedule["id"]
    ]
    store = app.extensions["geobp_celery"].geobp_store
    assert store.create_due_jobs(datetime.now(timezone.utc)) == []
    later = datetime.now(timezone.utc) + timedelta(days=1, minutes=1)
    created = store.create_due_jobs(later)
    assert len(created) == 1
    assert store.create_due_jobs(later) == []  # advanced: not due twice
    job = client.get(f"/api/v1/training-jobs/{created[0]}").get_json()
    assert job["schedule_id"] == schedule["id"] and job["spec"]["seed"] == 5
    assert client.delete(f"/api/v1/schedules/{schedule['id']}", headers=auth).status_code == 204
    assert client.get("/api/v1/schedules").get_json()["items"] == []


def test_schedule_with_a_full_spec_submits_that_spec(app, client, auth) -> None:
    from datetime import datetime, timedelta, timezone

    body = {"name": "weekly", "cron": "30 2 * * 1", "spec": job_spec(name="weekly", seed=10)}
    response = client.post("/api/v1/schedules", json=body, headers=auth)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["spec"]["network"]["hidden"] == 8  # hyperparameters kept
    store = app.extensions["geobp_celery"].geobp_store
    [job_id] = store.create_due_jobs(datetime.now(timezone.utc) + timedelta(days=8))
    job = client.get(f"/api/v1/training-jobs/{job_id}").get_json()
    assert job["name"] == "weekly" and job["spec"]["seed"] == 11
    assert job["spec"]["network"]["n_members"] == 2


def test_openapi_documents_every_route(app, client) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        path = rule.rule.replace("<", "{").replace(">", "}")
        if not path.startswith("/api/v1") or path in API_RULES_NOT_IN_DOC:
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method.lower()) in documented, (path, method)
    create = doc["paths"]["/api/v1/training-jobs"]["post"]
    assert create["security"] == [{"bearerAuth": []}]
    ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.split("/")[-1] in doc["components"]["schemas"]
    assert "401" in create["responses"] and "202" in create["responses"]
    result = doc["components"]["schemas"]["InversionResult"]["properties"]
    assert "smooth" in result and "doi_m" in result  # issue 16: both answers are documented
    smooth = doc["components"]["schemas"]["SmoothModel"]["properties"]
    assert {"depth_m", "rho_ohmm", "p10", "p90", "misfit", "doi_m"} <= set(smooth)
    for schema in doc["components"]["schemas"].values():  # every $ref resolves
        text = str(schema)
        for name in [part.split("'")[0] for part in text.split("#/components/schemas/")[1:]]:
            assert name in doc["components"]["schemas"]


def test_api_page_is_served_locally(client) -> None:
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and b"swagger-ui-bundle.js" in page.data
    assert b"http" not in page.data  # no CDN links
    asset = client.get("/api/v1/docs/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.data) > 100_000
    assert client.get("/api/v1/docs/..%2Fsecret").status_code == 404


def test_unreachable_broker_is_503_not_500(settings) -> None:
    from service.app import create_app

    down = settings.with_changes(broker_url="redis://127.0.0.1:1/0")
    app = create_app({"GEOBP": down, "TESTING": True})
    client = app.test_client()
    health = client.get("/api/v1/health")
    assert health.status_code == 503 and health.get_json()["status"] == "degraded"
    assert health.get_json()["broker"]["ok"] is False
    response = client.post(
        "/api/v1/training-jobs", json=job_spec(), headers={"Authorization": "Bearer test-token-123"}
    )
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "broker_unavailable"
    [job] = client.get("/api/v1/training-jobs").get_json()["items"]
    assert job["status"] == "failed" and "broker" in job["error"]
