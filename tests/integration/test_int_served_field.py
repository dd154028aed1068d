"""The field soundings through a running ``geobp serve``: ``POST /api/v1/invert`` with no network
named, over HTTP, the served networks read from ``GEOBP_ARTIFACT_DIR/served``."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from served import Served

import inversion
from inversion.served import TrainingSettings, save_set, train_set

FIELD = Path(__file__).resolve().parents[1] / "data" / "field"
FLOOR = {"rho_a_rel": 0.05, "phase_deg": 1.5}
# best χ of 100 scipy least_squares starts on the same problem (bench/field.py reference_chi)
REFERENCE_CHI = {
    "ET090": {2: 4.4911, 3: 2.8757, 4: 2.3686},
    "26": {2: 8.1553, 3: 0.8257, 4: 0.7423},
    "pb23": {2: 2.6493, 3: 1.8694, 4: 0.9567},
    "mt_usmtarray_NMX20": {2: 4.8789, 3: 2.0274, 4: 0.7179},  # impedance CSV, determinant
    "ves_schlumberger_boundiali_se1": {2: 4.7564, 3: 0.813, 4: 0.7099},
    "ves_schlumberger_mawlamyine_loc3": {2: 2.5125, 3: 2.0457, 4: 2.0035},
    "ves_schlumberger_mawlamyine_loc4": {2: 2.3749, 3: 1.5816, 4: 1.5469},
    "ves_schlumberger_semien_se1": {2: 2.4401, 3: 2.2774, 4: 2.102},
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
            status, body = server.request("POST", "/invert", payload)
            assert status == 200, (sid, body[:300])
            doc = json.loads(body)
            chi = {c["n_layers"]: c["chi"] for c in doc["candidates"]}
            for n, reference in REFERENCE_CHI[sid].items():
                assert chi[n] <= 1.10 * reference, (sid, n, chi[n], reference)
            seen.add(sid)
    assert seen == set(REFERENCE_CHI)


def test_outside_the_served_range_is_a_422_over_http(server):
    status, body = server.request(
        "POST", "/invert", {"data": {"ab2_m": [10, 100, 1e5], "rho_a_ohmm": [5, 6, 7]}}
    )
    assert status == 422
    assert "served range [0.5, 30000] m" in json.loads(body)["error"]["message"]


def test_first_start_queues_the_starter_set_through_the_worker(tmp_path):
    """An empty var folder: /invert answers 503 + Retry-After at once, and the embedded worker
    picks up the starter set (progress visible in /served) — stopped before it finishes."""
    server = Served(tmp_path / "var", {})
    server.start()
    try:
        field = {"ab2_m": [1, 2, 5, 10, 20, 50], "rho_a_ohmm": [50, 48, 40, 35, 40, 60]}
        status, body = server.request("POST", "/invert", {"data": field})
        assert status == 503, body[:300]
        assert json.loads(body)["error"]["code"] == "not_ready"
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
    finally:
        server.stop()
