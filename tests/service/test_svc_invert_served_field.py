"""Real field soundings (tests/data/field, copied from /work/shared/fixtures/field) through
``POST /api/v1/invert``: each layer count's χ within 10 % of a 100-start least-squares reference.

The references are ``bench/field.py``'s ``reference_chi`` (scipy ``least_squares`` from 100
random starts on the same forward model, errors floored at 5 % / 1.5°), recorded here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

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
def tiny_set():
    return train_set(("ves-schlumberger", "mt-1d"), TINY)


def _soundings() -> list[tuple[str, dict]]:
    out = []
    for path in sorted(FIELD.glob("*")):
        if path.suffix in (".csv", ".edi") and path.name.startswith(("ves_", "mt_")):
            out.extend(inversion.read_soundings(str(path)).items())
    return out


def test_every_field_sounding_reaches_the_reference(client, settings, tiny_set):
    folder = settings.artifact_dir / "served"
    save_set(tiny_set, folder)
    soundings = _soundings()
    assert sorted(sid for sid, _ in soundings) == sorted(REFERENCE_CHI)
    for sid, obs in soundings:
        body = {"data": obs, "noise_floor": FLOOR, "max_layers": 4, "segment_shifts": "never"}
        response = client.post("/api/v1/invert", json=body)
        assert response.status_code == 200, (sid, response.get_json())
        doc = response.get_json()
        chi = {c["n_layers"]: c["chi"] for c in doc["candidates"]}
        for n, reference in REFERENCE_CHI[sid].items():
            assert chi[n] <= 1.10 * reference, (sid, n, chi[n], reference)
        assert doc["misfit"]["chi"] == chi[doc["n_layers"]]


def test_every_field_sounding_fits_its_errors_out_of_the_box(client, settings, tiny_set):
    """Defaults (segment factors where BIC prefers them): χ ≤ 1.5 for the layered and the smooth
    model of every VES and MT field sounding; the three Schlumberger soundings whose overlapping
    MN/2 segments disagree get factors, and are refit worse without them."""
    save_set(tiny_set, settings.artifact_dir / "served")
    shifted = {}
    for sid, obs in _soundings():
        response = client.post("/api/v1/invert", json={"data": obs, "noise_floor": FLOOR})
        assert response.status_code == 200, (sid, response.get_json())
        doc = response.get_json()
        assert doc["misfit"]["chi"] <= 1.5, (sid, doc["misfit"], doc["segment_shifts"])
        assert doc["smooth"]["misfit"]["chi"] <= 1.5, (sid, doc["smooth"]["misfit"])
        report = doc["segment_shifts"]
        if report is not None and report["applied"]:
            shifted[sid] = report
            assert report["chi_without_shifts"] > report["chi_with_shifts"]
            assert any(s["beyond_errors"] for s in report["segments"]) == any(
                "segments disagree" in w for w in doc["warnings"]
            )
    for sid in (
        "ves_schlumberger_semien_se1",
        "ves_schlumberger_mawlamyine_loc3",
        "ves_schlumberger_mawlamyine_loc4",
    ):
        assert sid in shifted and shifted[sid]["chi_without_shifts"] > 1.5, sid
