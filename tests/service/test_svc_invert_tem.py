"""``POST /api/v1/invert`` with TEM soundings: served like VES and MT, refused with the range."""

from __future__ import annotations

from pathlib import Path

import pytest

import inversion
from inversion.served import TrainingSettings, save_set, train_set

FIELD = Path(__file__).resolve().parents[1] / "data" / "field"
TINY = TrainingSettings(n_samples=150, n_members=1, network={"hidden": 8, "max_epochs": 3})


@pytest.fixture(scope="module")
def tiny_tem():
    return train_set(("tem-coincident-loop",), TINY)


def _field_sounding() -> dict:
    path = FIELD / "tem_temfast_salzlacken_P2_21_loop50m.csv"
    (obs,) = inversion.read_soundings(str(path)).values()
    return obs


def test_tem_is_503_until_its_networks_are_in_then_200(client, settings, tiny_tem):
    body = {"data": _field_sounding(), "noise_floor": {"rho_a_rel": 0.05}, "max_layers": 1}
    waiting = client.post("/api/v1/invert", json=body)
    assert waiting.status_code == 503
    assert waiting.get_json()["error"]["details"][0]["method"] == "tem-coincident-loop"
    save_set(tiny_tem, settings.artifact_dir / "served")
    response = client.post("/api/v1/invert", json=body)
    assert response.status_code == 200, response.get_json()
    doc = response.get_json()
    assert doc["method"] == "tem-coincident-loop" and doc["n_layers"] == 1
    k = len(body["data"]["times_s"]) - 3  # two rising early gates and one bent one dropped
    assert len(doc["predicted"]["dbzdt_v_per_am2"]) == k
    assert any("the response rises" in w for w in doc["warnings"])
    assert doc["uncertainty"]["rho_ohmm"]["p90"][0] >= doc["model"]["rho_ohmm"][0]
    # the dashboard's figure export draws the TEM panels (−dB/dt and late-time ρa)
    figure = client.post(
        "/dashboard/files/export/figure.png", json={"result": doc, "observation": body["data"]}
    )
    assert figure.status_code == 200 and figure.data[:8] == b"\x89PNG\r\n\x1a\n"
    page = client.get("/invert")
    assert page.status_code == 200 and b"plots_tem.js" in page.data
    script = client.get("/dashboard/static/plots_tem.js")
    assert script.status_code == 200 and b"late-time" in script.data


@pytest.mark.parametrize(
    "change, status, text",
    [
        ({"loop_side_m": 5000.0}, 422, "served range"),
        ({"times_s": [1e-4, 1e-3, 50.0]}, 422, "served range [1e-06, 1] s"),
        ({"receiver": "offset"}, 400, "receiver"),
    ],
)
def test_tem_refusals(client, change, status, text):
    obs = {
        "times_s": [1e-4, 1e-3, 1e-2],
        "dbzdt_v_per_am2": [1e-4, 1e-6, 1e-8],
        "receiver": "central",
        "loop_side_m": 50.0,
        **change,
    }
    response = client.post("/api/v1/invert", json={"data": obs})
    assert response.status_code == status
    assert text in str(response.get_json()["error"])


def test_a_polarised_sounding_gets_its_polarisable_model_through_the_api(
    client, settings, tiny_tem
):
    """A Cole–Cole sounding no layered earth fits: the JSON carries ``ip`` (schema fields, the
    preferred fit, its bands) and the figure export draws it."""
    import numpy as np

    import forward_models

    times = np.geomspace(5e-6, 5e-4, 24)
    fm = forward_models.create("tem-coincident-loop", n_layers=2, times_s=times, loop_side_m=25.0)
    clean = fm.forward_cole_cole([40.0, 200.0, 8.0], [[0.3, 0.0]], [[2e-4, 1e-3]], [[0.6, 0.5]])
    keep = clean[0] > 0
    noisy = clean[0][keep] * (1 + 0.03 * np.random.default_rng(0).standard_normal(keep.sum()))
    data = {
        "times_s": times[keep].tolist(),
        "dbzdt_v_per_am2": noisy.tolist(),
        "dbzdt_error_percent": 3.0,
        "receiver": "coincident",
        "loop_side_m": 25.0,
    }
    save_set(tiny_tem, settings.artifact_dir / "served")
    response = client.post("/api/v1/invert", json={"data": data, "max_layers": 2})
    assert response.status_code == 200, response.get_json()
    doc = response.get_json()
    ip = doc["ip"]
    assert doc["misfit"]["chi"] > 1.5 and ip["preferred"] and ip["misfit"]["chi"] <= 1.2
    assert set(ip) >= {"model", "polarisable_layer", "predicted", "bic", "uncertainty"}
    assert len(ip["predicted"]) == len(doc["predicted"]["times_s"])
    figure = client.post(
        "/dashboard/files/export/figure.png", json={"result": doc, "observation": data}
    )
    assert figure.status_code == 200 and figure.data[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_file_s_reversed_gates_pass_the_api_and_reach_the_polarisable_fit(
    client, settings, tiny_tem
):
    """The reader's ``reversed_gates`` (Hengstberg P08-25) are valid request fields; malformed
    ones are a 400 naming them."""
    path = Path(__file__).resolve().parents[1] / "data" / "field_more"
    obs = inversion.read_soundings(str(path / "tem_temfast_hengstberg_p20_sel.tem"))["P08-25"]
    save_set(tiny_tem, settings.artifact_dir / "served")
    body = {"data": obs, "noise_floor": {"rho_a_rel": 0.05}, "max_layers": 1}
    response = client.post("/api/v1/invert", json=body)
    assert response.status_code == 200, response.get_json()
    fit = response.get_json()["ip"]["reversed_gates"]
    assert len(fit["predicted"]) == 6 and fit["chi"] is not None
    bad = {**obs, "reversed_gates": {**obs["reversed_gates"], "dbzdt_v_per_am2": [1e-9] * 6}}
    refused = client.post("/api/v1/invert", json={**body, "data": bad})
    assert refused.status_code == 400
    assert "reversed_gates.dbzdt_v_per_am2" in refused.get_json()["error"]["message"]
