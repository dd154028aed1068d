"""Table-driven malformed requests: each gets the right 4xx and the one error shape, never 500."""

from __future__ import annotations

import json

import pytest
from svc_helpers import AB2_M, TOKEN, job_spec, register_tiny, sounding

GOOD = sounding()
BAD_TOKEN = {"Authorization": "Bearer wrong-token"}
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _with(**changes):
    obs = dict(GOOD)
    obs.update(changes)
    return {"data": obs}


def _fm(**changes):
    spec = job_spec()
    spec["forward_model"] = {**spec["forward_model"], **changes}
    return spec


def _net(**changes):
    spec = job_spec()
    spec["network"] = {**spec["network"], **changes}
    return spec


INV = "/api/v1/networks/tiny/invert"
JOBS = "/api/v1/training-jobs"
SCHED = "/api/v1/schedules"
FWD = "/api/v1/forward-models/ves-schlumberger/forward"
GOOD_MODEL = [[100.0, 10.0, 500.0, 5.0, 20.0]]
FWD_CONFIG = {"n_layers": 3, "ab2_m": AB2_M}

# (id, method, path, body (dict → JSON, str/bytes → raw), headers, status, error code or None)
CASES = [
    ("invalid-json", "POST", INV, "{not json", {}, 400, "invalid_json"),
    ("empty-body", "POST", INV, "", {}, 400, "invalid_json"),
    ("json-array", "POST", INV, "[1, 2]", {}, 400, "invalid_json"),
    ("json-string", "POST", INV, '"data"', {}, 400, "invalid_json"),
    (
        "nan-literal",
        "POST",
        INV,
        '{"data": {"ab2_m": [1], "rho_a_ohmm": [NaN]}}',
        {},
        400,
        "invalid_json",
    ),
    (
        "infinity-literal",
        "POST",
        INV,
        '{"data": {"ab2_m": [Infinity], "rho_a_ohmm": [1]}}',
        {},
        400,
        "invalid_json",
    ),
    ("not-utf8", "POST", INV, b"\xff\xfe{}", {}, 400, "invalid_json"),
    ("neither-data-nor-soundings", "POST", INV, {}, {}, 400, "invalid_request"),
    (
        "both-data-and-soundings",
        "POST",
        INV,
        {"data": GOOD, "soundings": [GOOD]},
        {},
        400,
        "invalid_request",
    ),
    ("unknown-top-field", "POST", INV, {"data": GOOD, "colour": "red"}, {}, 400, "invalid_request"),
    ("unknown-obs-field", "POST", INV, _with(rho=[1.0]), {}, 400, "invalid_request"),
    ("string-values", "POST", INV, _with(rho_a_ohmm="many"), {}, 400, "invalid_request"),
    (
        "string-in-list",
        "POST",
        INV,
        _with(rho_a_ohmm=["a"] * len(AB2_M)),
        {},
        400,
        "invalid_request",
    ),
    (
        "negative-rho",
        "POST",
        INV,
        _with(rho_a_ohmm=[-5.0] + GOOD["rho_a_ohmm"][1:]),
        {},
        400,
        "invalid_data",
    ),
    (
        "zero-rho",
        "POST",
        INV,
        _with(rho_a_ohmm=[0.0] + GOOD["rho_a_ohmm"][1:]),
        {},
        400,
        "invalid_data",
    ),
    (
        "wrong-length",
        "POST",
        INV,
        _with(rho_a_ohmm=GOOD["rho_a_ohmm"][:-2]),
        {},
        400,
        "invalid_data",
    ),
    ("missing-rho", "POST", INV, {"data": {"ab2_m": AB2_M}}, {}, 400, "invalid_data"),
    (
        "spacing-outside-trained-range",
        "POST",
        INV,
        _with(ab2_m=[0.01] + AB2_M[1:]),
        {},
        422,
        "out_of_range",
    ),
    ("empty-soundings", "POST", INV, {"soundings": []}, {}, 400, "invalid_request"),
    (
        "bad-sounding-in-batch",
        "POST",
        INV,
        {"soundings": [GOOD, {"ab2_m": AB2_M, "rho_a_ohmm": [-1.0] * len(AB2_M)}]},
        {},
        400,
        "invalid_data",
    ),
    (
        "refine-not-bool",
        "POST",
        INV,
        {"data": GOOD, "refine": "yes please"},
        {},
        400,
        "invalid_request",
    ),
    (
        "unknown-network",
        "POST",
        "/api/v1/networks/nope/invert",
        {"data": GOOD},
        {},
        404,
        "not_found",
    ),
    ("unknown-alias", "POST", INV + "?alias=staging", {"data": GOOD}, {}, 404, "not_found"),
    ("bad-version-query", "POST", INV + "?version=two", {"data": GOOD}, {}, 400, "invalid_request"),
    ("unknown-version", "GET", "/api/v1/networks/tiny?version=99", None, {}, 404, "not_found"),
    ("job-missing-token", "POST", JOBS, job_spec(), {}, 401, "unauthorized"),
    ("job-wrong-token", "POST", JOBS, job_spec(), BAD_TOKEN, 401, "unauthorized"),
    (
        "job-basic-auth",
        "POST",
        JOBS,
        job_spec(),
        {"Authorization": "Basic dXNlcjpwdw=="},
        401,
        "unauthorized",
    ),
    (
        "job-missing-name",
        "POST",
        JOBS,
        {"forward_model": _fm()["forward_model"]},
        AUTH,
        400,
        "invalid_request",
    ),
    ("job-bad-name", "POST", JOBS, job_spec(name="has space/slash"), AUTH, 400, "invalid_request"),
    ("job-unknown-forward-model", "POST", JOBS, _fm(name="gravity"), AUTH, 400, "invalid_request"),
    ("job-bad-geometry", "POST", JOBS, _fm(ab2_m=[-1.0, 2.0, 3.0]), AUTH, 400, "invalid_request"),
    ("job-n-layers-string", "POST", JOBS, _fm(n_layers="three"), AUTH, 400, "invalid_request"),
    ("job-n-samples-negative", "POST", JOBS, job_spec(n_samples=-5), AUTH, 400, "invalid_request"),
    ("job-n-samples-float", "POST", JOBS, job_spec(n_samples=1000.5), AUTH, 400, "invalid_request"),
    (
        "job-bounds-reversed",
        "POST",
        JOBS,
        job_spec(bounds={"rho_ohmm": [100, 1]}),
        AUTH,
        400,
        "invalid_request",
    ),
    (
        "job-bounds-negative",
        "POST",
        JOBS,
        job_spec(bounds={"thickness_m": [-1, 10]}),
        AUTH,
        400,
        "invalid_request",
    ),
    (
        "job-noise-too-big",
        "POST",
        JOBS,
        job_spec(noise={"rho_a_rel": 3.0}),
        AUTH,
        400,
        "invalid_request",
    ),
    ("job-unknown-sampler", "POST", JOBS, job_spec(sampler="grid"), AUTH, 400, "invalid_request"),
    (
        "job-unknown-activation",
        "POST",
        JOBS,
        _net(activation="swishy"),
        AUTH,
        400,
        "invalid_request",
    ),
    ("job-unknown-hyperparameter", "POST", JOBS, _net(dropout=0.5), AUTH, 400, "invalid_request"),
    ("job-hidden-zero", "POST", JOBS, _net(hidden=0), AUTH, 400, "invalid_request"),
    ("job-unknown", "GET", JOBS + "/0123456789abcdef", None, {}, 404, "not_found"),
    ("job-list-bad-status", "GET", JOBS + "?status=sleeping", None, {}, 400, "invalid_request"),
    ("job-list-bad-limit", "GET", JOBS + "?limit=-3", None, {}, 400, "invalid_request"),
    ("cancel-missing-token", "DELETE", JOBS + "/0123456789abcdef", None, {}, 401, "unauthorized"),
    ("cancel-unknown", "DELETE", JOBS + "/0123456789abcdef", None, AUTH, 404, "not_found"),
    (
        "schedule-missing-token",
        "POST",
        SCHED,
        {"name": "s", "cron": "0 3 * * *", "network": "tiny"},
        {},
        401,
        "unauthorized",
    ),
    (
        "schedule-bad-cron",
        "POST",
        SCHED,
        {"name": "s", "cron": "every day at 3", "network": "tiny"},
        AUTH,
        400,
        "invalid_request",
    ),
    (
        "schedule-six-field-cron",
        "POST",
        SCHED,
        {"name": "s", "cron": "0 0 3 * * *", "network": "tiny"},
        AUTH,
        400,
        "invalid_request",
    ),
    (
        "schedule-neither",
        "POST",
        SCHED,
        {"name": "s", "cron": "0 3 * * *"},
        AUTH,
        400,
        "invalid_request",
    ),
    (
        "schedule-unknown-network",
        "POST",
        SCHED,
        {"name": "s", "cron": "0 3 * * *", "network": "ghost"},
        AUTH,
        404,
        "not_found",
    ),
    ("schedule-delete-unknown", "DELETE", SCHED + "/abc", None, AUTH, 404, "not_found"),
    (
        "alias-bad-name",
        "POST",
        "/api/v1/networks/tiny/aliases",
        {"alias": "staging"},
        AUTH,
        400,
        "invalid_request",
    ),
    (
        "alias-missing-token",
        "POST",
        "/api/v1/networks/tiny/aliases",
        {"alias": "production"},
        {},
        401,
        "unauthorized",
    ),
    (
        "delete-network-wrong-token",
        "DELETE",
        "/api/v1/networks/tiny",
        None,
        BAD_TOKEN,
        401,
        "unauthorized",
    ),
    (
        "forward-unknown-model",
        "POST",
        "/api/v1/forward-models/gravity/forward",
        {"config": FWD_CONFIG, "models": GOOD_MODEL},
        {},
        404,
        "not_found",
    ),
    (
        "forward-wrong-width",
        "POST",
        FWD,
        {"config": FWD_CONFIG, "models": [[1.0, 2.0]]},
        {},
        400,
        "invalid_request",
    ),
    (
        "forward-negative-model",
        "POST",
        FWD,
        {"config": FWD_CONFIG, "models": [[100.0, -10.0, 500.0, 5.0, 20.0]]},
        {},
        400,
        "invalid_request",
    ),
    (
        "forward-bad-config",
        "POST",
        FWD,
        {"config": {"n_layers": 3, "ab2_m": "x"}, "models": GOOD_MODEL},
        {},
        400,
        "invalid_request",
    ),
    (
        "forward-unknown-geometry",
        "POST",
        FWD,
        {"config": {**FWD_CONFIG, "periods_s": [1.0]}, "models": GOOD_MODEL},
        {},
        400,
        "invalid_request",
    ),
    ("unknown-route", "GET", "/api/v1/nothing-here", None, {}, 404, "not_found"),
    ("wrong-method", "PUT", "/api/v1/networks", None, {}, 405, "method_not_allowed"),
]


@pytest.fixture()
def tiny_client(app, client, tiny_inverter):
    register_tiny(app, tiny_inverter, "tiny")
    return client


def test_at_least_thirty_cases() -> None:
    assert len(CASES) >= 30
    assert len({case[0] for case in CASES}) == len(CASES)


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status", "code"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_malformed_request(tiny_client, method, path, body, headers, status, code) -> None:
    kwargs = {"headers": dict(headers)}
    if isinstance(body, dict):
        kwargs["data"] = json.dumps(body)
        kwargs["headers"]["Content-Type"] = "application/json"
    elif body is not None:
        kwargs["data"] = body
        kwargs["headers"]["Content-Type"] = "application/json"
    response = tiny_client.open(path, method=method, **kwargs)
    assert response.status_code == status, response.get_data(as_text=True)
    payload = response.get_json()
    assert set(payload) == {"error"}
    assert set(payload["error"]) == {"code", "message", "details"}
    assert payload["error"]["code"] == code
    assert isinstance(payload["error"]["message"], str) and payload["error"]["message"]
    assert "Traceback" not in response.get_data(as_text=True)


def test_oversize_body_is_413(settings, tiny_inverter) -> None:
    from service.app import create_app

    small = settings.with_changes(max_content_length_bytes=2048)
    app = create_app({"GEOBP": small, "TESTING": True})
    register_tiny(app, tiny_inverter, "tiny")
    body = json.dumps({"soundings": [GOOD] * 50})
    response = app.test_client().post(INV, data=body, content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"


def test_validation_details_name_the_field(tiny_client) -> None:
    response = tiny_client.post(INV, json=_with(rho_a_ohmm="many"))
    details = response.get_json()["error"]["details"]
    assert any(d["field"] == "data.rho_a_ohmm" for d in details)


def test_unexpected_error_is_plain_500_without_details(app) -> None:
    @app.get("/api/v1/boom")
    def boom():  # noqa: ANN202 - a route that fails on purpose
        raise RuntimeError("secret internals")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = app.test_client().get("/api/v1/boom")
    assert response.status_code == 500
    assert response.get_json() == {
        "error": {"code": "internal_error", "message": "internal server error", "details": []}
    }
    assert "secret" not in response.get_data(as_text=True)
