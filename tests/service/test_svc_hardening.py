"""Hardening (issue 14): bounded work and bounded answers per request, no 500 on odd input."""

from __future__ import annotations

import json

import pytest
from svc_helpers import AB2_M, job_spec

import forward_models
from service.api.forward_models import MAX_GEOMETRY_VALUES, MAX_LAYERS, MAX_OUTPUT_VALUES
from service.errors import MAX_DETAILS, MAX_MESSAGE_CHARS

FWD = "/api/v1/forward-models/ves-schlumberger/forward"


@pytest.mark.parametrize(
    ("config", "models", "field"),
    [
        ({"n_layers": 3_000_000, "ab2_m": [1, 2]}, [[1.0]], "config.n_layers"),
        ({"n_layers": MAX_LAYERS + 1, "ab2_m": [1, 2]}, [[1.0]], "config.n_layers"),
        ({"n_layers": 2, "ab2_m": list(range(1, MAX_GEOMETRY_VALUES + 2))}, [[1.0]], "ab2_m"),
        ({"n_layers": 2, "ab2_m": list(range(1, 1001))}, [[10.0, 10.0, 5.0]] * 1001, "models"),
    ],
    ids=["n_layers-3e6", "n_layers-over", "geometry-over", "models-x-data-over"],
)
def test_oversized_forward_requests_get_a_short_400(client, config, models, field) -> None:
    response = client.post(FWD, json={"config": config, "models": models})
    assert response.status_code == 400
    assert len(response.data) < 1000
    error = response.get_json()["error"]
    assert error["code"] == "too_large" and field in error["message"]
    assert "limit" in error["message"]


def test_the_largest_allowed_forward_request_is_answered(client) -> None:
    ab2_m = [float(x) for x in range(1, 101)]
    n_models = MAX_OUTPUT_VALUES // len(ab2_m) // 100  # within the bound, quick to compute
    response = client.post(
        FWD, json={"config": {"n_layers": 2, "ab2_m": ab2_m}, "models": [[10, 100, 5]] * n_models}
    )
    assert response.status_code == 200
    data = response.get_json()["data"]
    fm = forward_models.create("ves-schlumberger", n_layers=2, ab2_m=ab2_m)
    assert len(data) == n_models and data[0] == pytest.approx(fm.forward([10, 100, 5])[0].tolist())


def test_forward_data_that_overflow_are_refused_not_answered_as_nan(client) -> None:
    body = {"config": {"n_layers": 2, "ab2_m": AB2_M}, "models": [[10, 10, 5], [1e308, 1e308, 5]]}
    response = client.post(FWD, json=body)
    assert response.status_code == 422
    text = response.data.decode()
    json.loads(text)  # valid JSON (no NaN)
    assert "models[1]" in response.get_json()["error"]["message"]


def test_error_answers_stay_small_whatever_the_input(client) -> None:
    long_key = "k" * 100_000
    response = client.post(FWD, json={"config": {"n_layers": 2, long_key: 1}, "models": [[1.0]]})
    assert response.status_code == 400
    assert len(response.get_json()["error"]["message"]) <= MAX_MESSAGE_CHARS
    many_bad = {"config": {"n_layers": 2, "ab2_m": [1, 2]}, "models": [["x"]] * 5000}
    response = client.post(FWD, json=many_bad)
    assert response.status_code == 400
    assert len(response.get_json()["error"]["details"]) == MAX_DETAILS
    assert len(response.data) < 10_000


@pytest.mark.parametrize(
    ("path", "status", "needle"),
    [
        ("/api/v1/networks/x?version=²", 400, "version: must be an integer"),
        ("/api/v1/networks/x?version=99999999999999999999", 400, "version: must be an integer"),
        ("/api/v1/networks/x@²", 404, "does not exist"),
        ("/api/v1/networks/x@99999999999999999999", 404, "no version"),
        ("/api/v1/training-jobs?limit=²", 400, "limit: an integer"),
        ("/api/v1/networks/a%00b", 400, "path: NUL"),
        ("/api/v1/networks?name=a%00", 400, "query: NUL"),
    ],
)
def test_odd_references_and_queries_are_4xx_not_500(client, path, status, needle) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert needle in response.get_json()["error"]["message"]


def test_json_nested_too_deeply_is_400(client) -> None:
    deep = '{"config": ' + "[" * 100_000 + "]" * 100_000 + ', "models": [[1]]}'
    response = client.post(FWD, data=deep, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == "request body is nested too deeply"


def test_a_cron_that_never_fires_is_refused(client, auth) -> None:
    body = {"name": "never", "cron": "0 0 30 2 *", "spec": job_spec()}
    response = client.post("/api/v1/schedules", json=body, headers=auth)
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == "cron: '0 0 30 2 *' never fires"


RESULT = {
    "model": {"rho_ohmm": [100.0, 10.0, 500.0], "thickness_m": [5.0, 20.0]},
    "misfit": {"rms_percent": 2.0, "chi": 0.7},
}


@pytest.mark.parametrize(
    ("kind", "result"),
    [
        ("result.csv", {**RESULT, "model": {"rho_ohmm": [100.0, 10.0], "thickness_m": [5, 20]}}),
        ("figure.png", {**RESULT, "misfit": "good"}),
        ("profile.csv", {**RESULT, "misfit": "good"}),
    ],
    ids=["lengths-disagree", "figure-misfit-string", "profile-misfit-string"],
)
def test_malformed_results_for_export_are_400(client, kind, result) -> None:
    body = {"result": result, "observation": {"ab2_m": [1.0, 3.0], "rho_a_ohmm": [100.0, 78.0]}}
    if kind == "profile.csv":
        body = {"soundings": [{"id": "a", "result": result}]}
    response = client.post(f"/dashboard/files/export/{kind}", json=body)
    assert response.status_code == 400, response.data[:300]
    assert response.get_json()["error"]["code"] in ("invalid_data", "invalid_request")


def test_a_figure_title_over_the_limit_is_refused(client) -> None:
    body = {"result": RESULT, "observation": {"ab2_m": [1, 2]}, "title": "t" * 100_000}
    response = client.post("/dashboard/files/export/figure.png", json=body)
    assert response.status_code == 400
    assert (
        "title: 100000 characters, above the limit of 200"
        in response.get_json()["error"]["message"]
    )


def test_profile_csv_ids_cannot_be_spreadsheet_formulas_and_charset_is_given_once(client):
    body = {"soundings": [{"id": "=HYPERLINK(1)", "result": RESULT}]}
    response = client.post("/dashboard/files/export/profile.csv", json=body)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    rows = response.get_data(as_text=True).splitlines()
    assert rows[1].startswith("'=HYPERLINK(1)")


def test_scheduled_seeds_wrap_within_32_bits(app) -> None:
    from service.models import Schedule, utcnow
    from service.schedules import SEED_MODULUS, spec_for_schedule

    with app.extensions["geobp_db"].session() as session:
        schedule = Schedule(
            name="s", cron="0 * * * *", spec=job_spec(seed=SEED_MODULUS - 1), next_run_at=utcnow()
        )
        session.add(schedule)
        session.flush()
        assert spec_for_schedule(session, schedule)["seed"] == 0  # not 2**31: PostgreSQL's int4


def _register_plain(app, name: str) -> str:
    from service import registry

    record = {
        "name": name,
        "forward_model": {"name": "ves-schlumberger", "n_layers": 2, "ab2_m": [1.0, 2.0]},
        "domain": {},
        "noise": {},
        "network_config": {},
        "metrics": {"held_out_loss": 0.5, "history": {"loss": [1.0] * 500}, "heldout": [[1.0]]},
        "job_id": None,
        "seed": 0,
        "n_samples": 100,
        "code_version": "test",
    }
    return registry.register_network(
        app.extensions["geobp_db"],
        app.extensions["geobp_artifacts"],
        record,
        lambda path: path.write_bytes(b"x"),
    )


def test_network_list_is_paged_and_light(app, client) -> None:
    ids = {_register_plain(app, name) for name in ("a", "b", "c")}
    first = client.get("/api/v1/networks?limit=2").get_json()
    assert [n["name"] for n in first["items"]] == ["a", "b"] and first["next_offset"] == 2
    second = client.get("/api/v1/networks?limit=2&offset=2").get_json()
    assert [n["name"] for n in second["items"]] == ["c"] and second["next_offset"] is None
    listed = first["items"] + second["items"]
    assert {n["id"] for n in listed} == ids
    assert all(n["metrics"] == {"held_out_loss": 0.5} for n in listed)
    one = client.get(f"/api/v1/networks/{listed[0]['id']}").get_json()
    assert len(one["metrics"]["history"]["loss"]) == 500 and one["metrics"]["heldout"] == [[1.0]]
    assert client.get("/api/v1/networks?limit=0").status_code == 400
    assert client.get("/api/v1/networks?offset=-1").status_code == 400


def test_a_cached_network_whose_file_changed_is_refused_until_restored(
    app, client, tiny_inverter
) -> None:
    from svc_helpers import register_tiny, sounding

    network_id = register_tiny(app, tiny_inverter)
    [artifact] = app.extensions["geobp_artifacts"].root.rglob("*.npz")
    url = f"/api/v1/networks/{network_id}/invert"
    assert client.post(url, json={"data": sounding()}).status_code == 200  # now cached
    original = artifact.read_bytes()
    artifact.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))  # same size, one bit flipped
    statuses = {client.post(url, json={"data": sounding()}).status_code for _ in range(5)}
    assert statuses == {409}
    artifact.write_bytes(original)
    assert client.post(url, json={"data": sounding()}).status_code == 200


def test_redelivered_trainings_count_against_the_attempt_limit(app, client, auth) -> None:
    from service.jobstore import SqlJobStore
    from service.models import TrainingJob

    settings = app.config["GEOBP"]
    assert settings.max_job_attempts == 3
    store = SqlJobStore(settings, app.extensions["geobp_db"])
    job_id = client.post("/api/v1/training-jobs", json=job_spec(), headers=auth).get_json()["id"]
    assert store.mark_running(job_id, 1, "dataset", "w@h")
    # the first start, then two redeliveries (the training process was killed each time)
    assert [store.mark_running(job_id, 1, "train", "w@h") for _ in range(3)] == [True] * 3
    job = client.get(f"/api/v1/training-jobs/{job_id}").get_json()
    assert job["status"] == "running" and len(job["retry_reasons"]) == 2
    assert "the process training it died" in job["retry_reasons"][0]
    assert not store.mark_running(job_id, 1, "train", "w@h")  # a third death: no attempts left
    with app.extensions["geobp_db"].session() as session:
        failed = session.get(TrainingJob, job_id)
        assert failed.status == "failed" and failed.error.startswith("gave up after 3 attempts")


def test_refined_batches_are_bounded_and_the_bound_is_named(app, client, tiny_inverter) -> None:
    from svc_helpers import register_tiny, sounding

    from service.api.networks import MAX_REFINED_SOUNDINGS

    register_tiny(app, tiny_inverter)
    many = [sounding()] * (MAX_REFINED_SOUNDINGS + 1)
    refused = client.post("/api/v1/networks/tiny/invert", json={"soundings": many})
    assert refused.status_code == 400
    message = refused.get_json()["error"]["message"]
    assert f"above the limit of {MAX_REFINED_SOUNDINGS}" in message and "refine=false" in message
    unrefined = client.post(
        "/api/v1/networks/tiny/invert", json={"soundings": many, "refine": False}
    )
    assert unrefined.status_code == 200 and len(unrefined.get_json()["items"]) == len(many)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"network": {"optimizer": "adam", "optimizer_params": {"bogus": 1}}}, "optimizer_params"),
        ({"network": {"validation_fraction": 0.999}}, "network.validation_fraction"),
        ({"network": {"n_jobs": 100_000}}, "network.n_jobs"),
        ({"bounds": {"rho_ohmm": [1.0, 1e308]}}, "bounds.rho_ohmm"),
        ({"bounds": {"thickness_m": [0.5, 1e300]}}, "bounds.thickness_m"),
    ],
    ids=["optimizer-params", "validation-fraction", "n-jobs", "rho-bound", "thickness-bound"],
)
def test_specs_the_worker_would_fail_are_refused_at_submission(client, auth, changes, field):
    spec = job_spec()
    for key, value in changes.items():
        spec[key] = {**spec.get(key, {}), **value}
    response = client.post("/api/v1/training-jobs", json=spec, headers=auth)
    assert response.status_code == 400, response.get_json()
    assert field in json.dumps(response.get_json()["error"])


def test_dashboard_pages_carry_security_headers(client) -> None:
    headers = client.get("/").headers
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"


def test_an_edi_file_with_huge_impedances_is_refused_not_answered_with_infinity(client) -> None:
    import io

    import numpy as np

    from inversion.formats import format_edi_rho_phase

    rho = {"XY": {"rho_ohmm": np.full(2, 100.0), "phase_deg": np.full(2, 45.0)}}
    head = format_edi_rho_phase(np.array([100.0, 10.0]), rho, station="S1").partition(">RHOROT")[0]
    z = "".join(f">{name} ROT=ZROT // 2\n  1.0E+200 1.0E+200\n\n" for name in ("ZXYR", "ZXYI"))
    edi = head + ">ZROT // 2\n  0.0 0.0\n\n" + z + ">END\n"
    upload = {"file": (io.BytesIO(edi.encode()), "s1.edi"), "mode": "te"}
    response = client.post("/dashboard/files/parse", data=upload)
    assert response.status_code == 400
    message = response.get_json()["error"]["message"]
    assert message == "sounding S1: rho_a_ohmm[0] is not a finite number (values too large?)"


def test_the_registry_stores_artifact_paths_relative_so_the_folder_can_move(
    app, client, tiny_inverter, tmp_path
) -> None:
    import shutil

    from svc_helpers import register_tiny, sounding

    from service.app import create_app
    from service.models import Network

    network_id = register_tiny(app, tiny_inverter)
    with app.extensions["geobp_db"].session() as session:
        stored = session.get(Network, network_id).artifact_path
    assert stored == f"networks/tiny/{network_id}.npz"
    settings = app.config["GEOBP"]
    moved = tmp_path / "moved-artifacts"
    shutil.move(settings.artifact_dir, moved)
    elsewhere = create_app({"GEOBP": settings.with_changes(artifact_dir=moved), "TESTING": True})
    response = elsewhere.test_client().post(
        f"/api/v1/networks/{network_id}/invert", json={"data": sounding()}
    )
    assert response.status_code == 200, response.get_json()
    elsewhere.extensions["geobp_db"].dispose()
