"""The dashboard's helper endpoints (server-side readers and writers), through the Flask test
client on a fresh temporary database; no browser needed."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flask.testing import FlaskClient

import inversion
from inversion.formats import format_edi_rho_phase
from service.app import create_app

RESULT = {
    "model": {"rho_ohmm": [100.0, 10.0, 500.0], "thickness_m": [5.0, 20.0], "depth_m": [5.0, 25.0]},
    "uncertainty": {
        "rho_ohmm": {"p10": [90.0, 7.0, 300.0], "p90": [110.0, 14.0, 800.0]},
        "thickness_m": {"p10": [4.0, 15.0], "p90": [6.0, 26.0]},
    },
    "predicted": {"ab2_m": [1.0, 3.0, 10.0, 30.0], "rho_a_ohmm": [99.0, 80.0, 30.0, 60.0]},
    "misfit": {"rms_percent": 2.0, "chi": 0.8},
    "in_domain": True,
    "warnings": [],
}
OBSERVATION = {"ab2_m": [1.0, 3.0, 10.0, 30.0], "rho_a_ohmm": [100.0, 78.0, 31.0, 61.0]}


@pytest.fixture
def client(tmp_path: Path) -> FlaskClient:
    app = create_app({"GEOBP": {"var_dir": tmp_path, "api_token": "t"}, "TESTING": True})
    return app.test_client()


def test_pages_render_with_navigation(client: FlaskClient) -> None:
    for path in ("/", "/networks", "/networks/abc", "/jobs", "/invert", "/profile", "/schedules"):
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        assert 'aria-current="page"' in html and "/dashboard/static/dashboard.css" in html
    assert "/dashboard/vendor/plotly.min.js" in client.get("/invert").get_data(as_text=True)


def test_plotly_is_served_locally(client: FlaskClient) -> None:
    response = client.get("/dashboard/vendor/plotly.min.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert b"plotly.js" in response.get_data()[:2000]
    assert response.headers["Cache-Control"] == "public, max-age=86400"


def test_parse_table_text_and_profile_file(client: FlaskClient) -> None:
    text = "AB/2 (m), rho_a (ohm.m)\n1.0, 100\n2.0, 90\n4.0, 70\n"
    response = client.post("/dashboard/files/parse", data={"text": text})
    assert response.status_code == 200
    body = response.get_json()
    assert body["soundings"] == [
        {
            "id": "pasted",
            "observation": {"ab2_m": [1.0, 2.0, 4.0], "rho_a_ohmm": [100.0, 90.0, 70.0]},
        }
    ]
    line = "station, a (m), rho_a (ohm.m)\n" + "".join(
        f"{x}, {a}, {50 + x}\n" for x in (0, 10) for a in (1, 2, 4)
    )
    upload = {"file": (io.BytesIO(line.encode()), "line.csv")}
    body = client.post("/dashboard/files/parse", data=upload).get_json()
    assert [s["id"] for s in body["soundings"]] == ["0", "10"]
    assert body["soundings"][1]["observation"]["a_m"] == [1.0, 2.0, 4.0]
    assert body["source"] == "line.csv"


@pytest.mark.parametrize(
    "name",
    ["tem_temfast_salzlacken_P2_21_loop50m.csv", "tem_terratem_xochimilco_XOC1_loop150m.csv"],
)
def test_parse_tem_upload_is_recognised_by_content(client: FlaskClient, name: str) -> None:
    """TEM files upload as the CLI reads them (inversion.read_soundings), not as tables."""
    path = Path(__file__).resolve().parents[1] / "data" / "field" / name
    expected = inversion.read_soundings(str(path))
    upload = {"file": (io.BytesIO(path.read_bytes()), name)}
    response = client.post("/dashboard/files/parse", data=upload)
    assert response.status_code == 200, response.get_json()
    (sounding,) = response.get_json()["soundings"]
    (observation,) = expected.values()
    assert sounding["observation"]["times_s"] == pytest.approx(observation["times_s"])
    assert sounding["observation"]["receiver"] == observation["receiver"]


def test_parse_tem_export_with_many_soundings_gives_each(client: FlaskClient) -> None:
    """A raw TEM-FAST export holding ten soundings (tests/data/field_more) uploads as ten."""
    name = "tem_temfast_hengstberg_p20_sel.tem"
    path = Path(__file__).resolve().parents[1] / "data" / "field_more" / name
    upload = {"file": (io.BytesIO(path.read_bytes()), name)}
    response = client.post("/dashboard/files/parse", data=upload)
    assert response.status_code == 200, response.get_json()
    soundings = response.get_json()["soundings"]
    assert len(soundings) == 10
    assert {s["observation"]["loop_side_m"] for s in soundings} == {12.5, 25.0}


def test_parse_edi_upload_gives_mt_observation(client: FlaskClient) -> None:
    freqs = np.array([100.0, 10.0, 1.0, 0.1])
    edi = format_edi_rho_phase(
        freqs,
        {"XY": {"rho_ohmm": np.full(4, 100.0), "phase_deg": np.full(4, 45.0)}},
        station="S1",
    )
    upload = {"file": (io.BytesIO(edi.encode()), "s1.edi"), "mode": "te"}
    body = client.post("/dashboard/files/parse", data=upload).get_json()
    (sounding,) = body["soundings"]
    assert sounding["id"] == "S1"
    obs = sounding["observation"]
    np.testing.assert_allclose(obs["periods_s"], [0.01, 0.1, 1.0, 10.0])
    np.testing.assert_allclose(obs["rho_a_ohmm"], 100.0)
    np.testing.assert_allclose(obs["phase_deg"], 45.0)


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"text": "AB/2 (m), rho_a (ohm.m)\n1, abc\n"}, "line 2"),
        ({"text": "   "}, "text: nothing pasted"),
        ({"file": (io.BytesIO(b"\x00\x01binary"), "x.csv")}, "binary"),
        ({"text": ">HEAD\n  DATAID=x\n"}, "END"),
    ],
)
def test_parse_errors_name_the_problem(client: FlaskClient, data: dict, needle: str) -> None:
    response = client.post("/dashboard/files/parse", data=data)
    assert response.status_code == 400
    assert needle in response.get_json()["error"]["message"]


def test_export_result_csv_json_and_figures(client: FlaskClient) -> None:
    payload: dict[str, Any] = {"result": RESULT, "observation": OBSERVATION, "filename": "site 7"}
    csv_response = client.post("/dashboard/files/export/result.csv", json=payload)
    assert csv_response.headers["Content-Disposition"] == 'attachment; filename="site_7.csv"'
    lines = csv_response.get_data(as_text=True).splitlines()
    assert lines[0].startswith("layer,top_m,bottom_m,thickness_m,rho_ohmm")
    assert lines[2].split(",")[:5] == ["2", "5.0", "25.0", "20.0", "10.0"]
    json_response = client.post("/dashboard/files/export/result.json", json=payload)
    assert json.loads(json_response.get_data()) == RESULT
    png = client.post("/dashboard/files/export/figure.png", json=payload)
    assert png.mimetype == "image/png" and png.get_data()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = client.post("/dashboard/files/export/figure.svg", json=payload)
    assert svg.mimetype == "image/svg+xml" and b"<svg" in svg.get_data()[:500]


def test_export_profile_csv(client: FlaskClient) -> None:
    payload = {"soundings": [{"id": "0", "result": RESULT}, {"id": "25", "result": RESULT}]}
    response = client.post("/dashboard/files/export/profile.csv", json=payload)
    rows = response.get_data(as_text=True).strip().splitlines()
    assert rows[0].startswith("sounding,layer") and len(rows) == 1 + 2 * 3
    assert rows[4].startswith("25,1,")


SMOOTH = {
    "depth_m": [2.0, 6.0],
    "thickness_m": [2.0, 4.0],
    "rho_ohmm": [100.0, 30.0, 300.0],
    "p10": [90.0, 20.0, 100.0],
    "p90": [110.0, 45.0, 900.0],
    "misfit": {"chi": 1.02, "rms_percent": 3.1},
    "doi_m": {"standard": 5.0, "conservative": 2.0},
}


def test_export_smooth_csv_and_smooth_profile(client: FlaskClient) -> None:
    result = {**RESULT, "smooth": SMOOTH}
    one = client.post("/dashboard/files/export/smooth.csv", json={"result": result})
    rows = one.get_data(as_text=True).strip().splitlines()
    assert rows[0].startswith("layer,top_m,bottom_m,rho_ohmm") and len(rows) == 4
    # tops 0, 2, 6 m against DOIs 2 m (conservative) and 5 m (standard)
    assert [r.split(",")[-2:] for r in rows[1:]] == [
        ["false", "false"],
        ["true", "false"],
        ["true", "true"],
    ]
    payload = {"soundings": [{"id": "A", "result": result}, {"id": "B", "result": result}]}
    many = client.post("/dashboard/files/export/smooth-profile.csv", json=payload)
    lines = many.get_data(as_text=True).strip().splitlines()
    assert lines[0].endswith("smooth_chi,doi_standard_m,doi_conservative_m") and len(lines) == 7
    assert lines[4].startswith("B,1,0.0,") and lines[4].endswith(",1.02,5.0,2.0")
    missing = client.post("/dashboard/files/export/smooth.csv", json={"result": RESULT})
    assert missing.status_code == 400
    assert "no smooth model" in missing.get_json()["error"]["message"]


@pytest.mark.parametrize(
    ("kind", "body", "status", "needle"),
    [
        ("result.csv", {"result": {"model": {}}}, 400, "rho_ohmm is missing"),
        ("result.csv", {}, 400, "result: expected a JSON object"),
        ("figure.png", {"result": RESULT}, 400, "observation: expected"),
        ("profile.csv", {"soundings": []}, 400, "soundings: expected a non-empty list"),
        ("result.xlsx", {"result": RESULT}, 404, "kind: one of"),
    ],
)
def test_export_errors(
    client: FlaskClient, kind: str, body: dict, status: int, needle: str
) -> None:
    response = client.post(f"/dashboard/files/export/{kind}", json=body)
    assert response.status_code == status
    assert needle in response.get_json()["error"]["message"]
