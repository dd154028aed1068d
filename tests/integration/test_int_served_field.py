"""The field soundings through a running ``geobp serve``: ``POST /api/v1/invert`` with no network
named, over HTTP, the served networks read from ``GEOBP_ARTIFACT_DIR/served``."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from served import Served, assert_not_ready, wait_until

import inversion
from inversion.served import TrainingSettings, save_set, train_set

FIELD = Path(__file__).resolve().parents[1] / "data" / "field"
FLOOR = {"rho_a_rel": 0.05, "phase_deg": 1.5}
# sounding: {layers: best χ of 100 least-squares starts} (bench/field.py reference_chi)
REFERENCE_CHI = {
    sid: {int(n): chi for n, chi in by_layers.items()}
    for sid, by_layers in json.loads((FIELD / "reference_chi.json").read_text())[
        "reference_chi"
    ].items()
}
TINY = TrainingSettings(
    n_samples=3000, n_members=2, network={"hidden": 16, "max_epochs": 8, "learning_rate": 3e-3}
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("served-field") / "var"
    served = train_set(("ves-schlumberger", "mt-1d", "ves-wenner"), TINY)
    save_set(served, var_dir / "artifacts" / "served")
    srv = Served(var_dir, {})
    srv.start()
    yield srv
    srv.stop()


def test_every_field_sounding_inverts_over_http(server):
    status, body = server.request("GET", "/served")
    assert status == 200
    methods = json.loads(body)["methods"]
    assert all(methods[m]["ready"] for m in ("ves-schlumberger", "mt-1d", "ves-wenner"))
    seen = set()
    for path in sorted(FIELD.glob("*")):
        if path.suffix not in (".csv", ".edi") or not path.name.startswith(("ves_", "mt_")):
            continue
        for sid, obs in inversion.read_soundings(str(path)).items():
            payload = {"data": obs, "noise_floor": FLOOR, "max_layers": 4}
            status, body = server.request("POST", "/invert", {**payload, "segment_shifts": "never"})
            assert status == 200, (sid, body[:300])
            doc = json.loads(body)
            chi = {c["n_layers"]: c["chi"] for c in doc["candidates"]}
            for n, reference in REFERENCE_CHI[sid].items():
                assert chi[n] <= 1.10 * reference, (sid, n, chi[n], reference)
            # out of the box (every layer count, segment factors where BIC wants them): every
            # one fits its errors
            status, body = server.request("POST", "/invert", {"data": obs, "noise_floor": FLOOR})
            assert status == 200, (sid, body[:300])
            doc = json.loads(body)
            assert doc["misfit"]["chi"] <= 1.5, (sid, doc["misfit"], doc["segment_shifts"])
            assert doc["smooth"]["misfit"]["chi"] <= 1.5, (sid, doc["smooth"]["misfit"])
            seen.add(sid)
    assert seen == set(REFERENCE_CHI)


def test_outside_the_served_range_is_a_422_over_http(server):
    status, body = server.request(
        "POST", "/invert", {"data": {"ab2_m": [10, 100, 1e5], "rho_a_ohmm": [5, 6, 7]}}
    )
    assert status == 422
    assert "served range [0.5, 30000] m" in json.loads(body)["error"]["message"]


def test_first_start_queues_the_starter_set_through_the_worker(tmp_path):
    """An empty var folder: /invert answers 503 + Retry-After at once, the embedded worker
    picks up the starter set (progress visible in /served), and the physics-guided upgrade waits
    for it — stopped before it finishes."""
    server = Served(tmp_path / "var", {"GEOBP_SERVED_UPGRADE": "1"})
    server.start()
    try:
        assert_not_ready(server)
        deadline = time.monotonic() + 90
        training = None
        while time.monotonic() < deadline:
            status, body = server.request("GET", "/served")
            training = json.loads(body)["training"]
            if training and training.get("current"):
                break
            time.sleep(0.5)
        assert training is not None and training["state"] == "training", server.log_tail()
        assert training["total"] == 25 and training["current"].startswith("served-ves-schlumberger")
        upgrade = wait_until(
            "the upgrade's record",
            lambda: json.loads(server.request("GET", "/served")[1])["upgrade"],
            60,
            context=server.log_tail,
        )
        assert upgrade["state"] == "waiting" and upgrade["total"] == 15 and upgrade["done"] == []
        assert "then upgrading the VES and MT networks" in server.log_path.read_text()
    finally:
        server.stop()
