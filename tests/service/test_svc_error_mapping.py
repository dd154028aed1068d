"""The registry and the spec check raise their own errors; the API answers them with the same
status, code and message as before (``service.errors``)."""

from __future__ import annotations

import pytest
from svc_helpers import TOKEN, job_spec

from service import registry
from service.training_spec import SpecError

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (registry.NotFound("network 'x' does not exist"), 404, "not_found"),
        (
            registry.InvalidAlias("alias: must be one of ['latest', 'production']"),
            400,
            "invalid_request",
        ),
        (registry.Conflict("could not register network 'x': version conflicts"), 409, "conflict"),
        (SpecError("n_test", "n_test: must not exceed n_samples"), 400, "invalid_request"),
    ],
)
def test_own_errors_map_to_http(app, error, status, code) -> None:
    @app.get("/api/v1/raises")
    def raises():  # noqa: ANN202 - a route that fails on purpose
        raise error

    response = app.test_client().get("/api/v1/raises")
    assert response.status_code == status
    assert response.get_json() == {"error": {"code": code, "message": str(error), "details": []}}


def test_unknown_network_message(client) -> None:
    response = client.get("/api/v1/networks/missing")
    assert response.status_code == 404
    assert response.get_json()["error"] == {
        "code": "not_found",
        "message": "no network with id or name 'missing'",
        "details": [],
    }


def test_spec_error_message_names_the_field(client) -> None:
    spec = job_spec()
    spec["network"] = {**spec["network"], "dropout": 0.5}
    response = client.post("/api/v1/training-jobs", json=spec, headers=AUTH)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_request" and error["details"] == []
    assert error["message"].startswith("network.dropout: unknown hyperparameter; one of [")
