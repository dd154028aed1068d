"""The smooth model and DOIs in the exports, the terminal table and the figures, on a real
served result (a field Schlumberger sounding)."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

import inversion
from inversion.formats import (
    SMOOTH_COLUMNS,
    format_layer_table,
    format_smooth_csv,
    format_smooth_profile_csv,
    smooth_rows,
)
from inversion.formats.figures import make_figure
from inversion.served import SearchSettings, ServedSet

FIELD = "tests/data/field/ves_schlumberger_boundiali_se1.csv"


@pytest.fixture(scope="module")
def field() -> tuple[dict, dict]:
    (obs,) = inversion.read_soundings(FIELD).values()
    served = ServedSet(max_layers=3, search=SearchSettings(n_draws=128, n_refined=8))
    result = served.invert(obs, noise_floor={"rho_a_rel": 0.05})[0]
    return obs, result


def test_smooth_csv_has_one_row_per_stack_layer_with_doi_flags(field) -> None:
    _, result = field
    smooth = result["smooth"]
    rows = list(csv.DictReader(io.StringIO(format_smooth_csv(result))))
    assert tuple(rows[0]) == SMOOTH_COLUMNS and len(rows) == len(smooth["rho_ohmm"])
    tops = np.array([float(r["top_m"]) for r in rows])
    assert tops[0] == 0.0 and np.all(np.diff(tops) > 0)
    np.testing.assert_allclose(tops[1:], smooth["depth_m"], rtol=1e-12)
    assert rows[-1]["bottom_m"] == ""  # the half-space
    np.testing.assert_allclose([float(r["rho_ohmm"]) for r in rows], smooth["rho_ohmm"])
    for which in ("standard", "conservative"):
        flags = [r[f"below_doi_{which}"] == "true" for r in rows]
        assert flags == list(tops >= smooth["doi_m"][which])
        assert not flags[0] and flags[-1]  # the top is seen, the bottom of the stack is not
    below_cons = sum(r["below_doi_conservative"] == "true" for r in rows)
    assert below_cons >= sum(r["below_doi_standard"] == "true" for r in rows)


def test_smooth_profile_csv_repeats_the_sounding_fit_and_dois(field) -> None:
    _, result = field
    text = format_smooth_profile_csv([("SE1", result), ("SE1b", result)])
    rows = list(csv.DictReader(io.StringIO(text)))
    n = len(result["smooth"]["rho_ohmm"])
    assert len(rows) == 2 * n and {r["sounding"] for r in rows} == {"SE1", "SE1b"}
    assert float(rows[0]["smooth_chi"]) == pytest.approx(result["smooth"]["misfit"]["chi"])
    assert float(rows[0]["doi_standard_m"]) == pytest.approx(result["smooth"]["doi_m"]["standard"])


def test_a_result_without_a_smooth_model_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="no smooth model"):
        smooth_rows({"model": {"rho_ohmm": [1.0], "thickness_m": []}})
    with pytest.raises(ValueError, match="smooth.depth_m has 1 values, expected 2"):
        smooth_rows({"smooth": {"rho_ohmm": [1.0, 2.0, 3.0], "depth_m": [4.0]}})


def test_terminal_table_states_both_dois_and_the_smooth_fit(field) -> None:
    _, result = field
    text = format_layer_table(result)
    std = result["doi_m"]["standard"]
    assert f"depth of investigation (layered model): {std:.4g} m standard" in text
    chi = result["smooth"]["misfit"]["chi"]
    assert f"smooth model: {len(result['smooth']['rho_ohmm'])} layers, chi = {chi:.3g}" in text


def test_figure_draws_the_smooth_model_and_greys_below_the_dois(field) -> None:
    obs, result = field
    model_ax = make_figure(obs, result).axes[1]
    (smooth,) = [ln for ln in model_ax.get_lines() if ln.get_label() == "smooth model"]
    assert np.asarray(smooth.get_xdata()).size == 2 * len(result["smooth"]["rho_ohmm"])
    spans = [p for p in model_ax.patches if p.get_label() in ("below DOI", "")]
    tops = sorted(p.get_y() for p in spans)
    doi = result["doi_m"]
    assert tops == pytest.approx(sorted([doi["conservative"], doi["standard"]]))
    bottom, _ = model_ax.get_ylim()
    assert bottom >= 1.5 * doi["standard"]  # the greyed range is on the axis
    texts = " ".join(t.get_text() for t in model_ax.texts)
    assert f"DOI {doi['standard']:.3g} m (standard" in texts
