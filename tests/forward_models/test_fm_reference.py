"""Accuracy against the reference responses (SimPEG / pyGIMLi / analytic, tests/data)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import forward_models

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "forward_reference.json"
# The file also holds the TEM cases, checked in test_fm_tem.py.
CASES = [
    c
    for c in json.loads(REFERENCE.read_text())["cases"]
    if c["forward_model"] in ("ves-schlumberger", "ves-wenner", "mt-1d")
]


def test_reference_file_covers_every_model():
    names = {c["forward_model"] for c in json.loads(REFERENCE.read_text())["cases"]}
    assert names == set(forward_models.names()) - {"tem-coincident-loop"}
    assert len(CASES) == 36


@pytest.mark.parametrize("precision", ["single", "double"])
@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_matches_reference(case, precision):
    fm = forward_models.create(case["forward_model"], n_layers=case["n_layers"], **case["geometry"])
    model = np.array(case["rho"] + case["thk"])
    out = fm.forward(model, precision=precision)
    assert out.shape == (1, fm.n_data) and out.dtype == np.float64
    k = len(case["rho_a"])
    rel = np.abs(out[0, :k] / np.array(case["rho_a"]) - 1)
    assert rel.max() <= 0.005, f"rho_a off by {rel.max():.2e}"
    if "phase" in case:
        assert np.abs(out[0, k:] - np.array(case["phase"])).max() <= 0.2


def test_reference_batch_equals_single_rows():
    """All cases of one geometry in one batch give the same numbers as one at a time."""
    cases = [c for c in CASES if c["forward_model"] == "mt-1d" and c["n_layers"] == 3]
    fm = forward_models.create("mt-1d", n_layers=3, **cases[0]["geometry"])
    batch = np.array([c["rho"] + c["thk"] for c in cases])
    together = fm.forward(batch)
    for i, row in enumerate(batch):
        np.testing.assert_allclose(fm.forward(row)[0], together[i], rtol=1e-6)
