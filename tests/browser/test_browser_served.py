"""The served path in the browser: the overview's served-networks card, and a real field sounding
inverted through ``POST /api/v1/invert`` (method and layer count chosen by the service) with the
log-depth model plot, the dense model response and the layer table's S, T and resolved columns."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

FIELD_FILE = (
    Path(__file__).resolve().parents[1] / "data" / "field" / "ves_schlumberger_boundiali_se1.csv"
)
LAYER_HEADERS = ["S (S)", "T (Ω·m²)", "resolved"]


def _js(page: Any, expression: str) -> Any:
    return page.evaluate(expression)


def test_overview_shows_the_served_networks(open_tab: Any, served_networks: Path) -> None:
    tab = open_tab("/")
    page = tab.page
    page.wait_for_selector("#served table")
    row = page.locator("#served tr", has_text="ves-schlumberger")
    assert "ready" in row.inner_text() and "not ready" not in row.inner_text()
    assert "not ready" in page.locator("#served tr", has_text="mt-1d").inner_text()
    tab.screenshot("overview-served")
    assert tab.errors == []


def test_overview_shows_the_upgrade_in_progress(open_tab: Any, served_networks: Path) -> None:
    record = {
        "state": "training",
        "current": "served-ves-schlumberger-4l",
        "done": ["served-ves-schlumberger-2l", "served-ves-schlumberger-3l"],
        "promoted": ["served-ves-schlumberger-2l", "served-ves-schlumberger-3l"],
        "total": 15,
        "error": None,
        "updated_at": 0,
    }
    path = served_networks / "upgrade.json"  # as worker.served_upgrade writes it
    path.write_text(json.dumps(record))
    try:
        tab = open_tab("/")
        line = tab.page.wait_for_selector("#served-upgrade").inner_text()
        assert "physics-guided upgrade: 2 of 15 challenged, 2 promoted" in line
        assert "now served-ves-schlumberger-4l" in line
        tab.screenshot("overview-upgrade")
        assert tab.errors == []
    finally:
        path.unlink()


def test_field_sounding_through_the_served_networks(open_tab: Any, served_networks: Path) -> None:
    tab = open_tab("/invert")
    page = tab.page
    assert page.input_value("#network-select") == "served"  # the default
    page.set_input_files("#data-file", str(FIELD_FILE))
    page.wait_for_function("document.getElementById('data-state').textContent.startsWith('Read 1')")
    page.click("#invert-button")
    page.wait_for_selector("#results:not([hidden])")
    page.wait_for_function("document.getElementById('plot-model').data !== undefined")

    choice = page.inner_text("#served-choice")
    alone = page.inner_text("#network-answer")  # the networks' own answer beside the refined one
    assert alone.startswith("The networks alone (no refinement): ") and " layers, χ " in alone
    n_layers = int(choice.split("chose ")[1].split(" ")[0])
    assert "ves-schlumberger" in choice and 2 <= n_layers <= 6 and "runner-up" in choice
    assert page.locator("#served-candidates tbody tr").count() >= 2
    assert page.locator("#layers tr").count() == n_layers

    headers = page.locator("#results thead th").all_inner_texts()
    assert all(h in headers for h in LAYER_HEADERS), headers
    first = page.locator("#layers tr").first.locator("td").all_inner_texts()
    s_col, t_col = headers.index("S (S)"), headers.index("T (Ω·m²)")
    h_m, rho = float(first[headers.index("thickness (m)")]), float(first[headers.index("ρ (Ω·m)")])
    assert float(first[s_col]) == pytest.approx(h_m / rho, rel=2e-2)  # S = h/ρ, 3 digits shown
    assert float(first[t_col]) == pytest.approx(h_m * rho, rel=2e-2)  # T = h·ρ
    assert first[headers.index("resolved")] != "–"
    last = page.locator("#layers tr").last.locator("td").all_inner_texts()
    assert last[s_col] == "–" and last[t_col] == "–"  # the half-space has neither
    assert last[headers.index("resolved")] in ("ρ", "no")  # a half-space has no thickness

    assert _js(page, "document.getElementById('plot-model').layout.yaxis.type") == "log"
    # the model response is drawn densely between the data (more points than data)
    n_pred = _js(
        page, "document.getElementById('plot-data').data[1].x.filter(v => v !== null).length"
    )
    n_obs = _js(page, "document.getElementById('plot-data').data[0].x.length")
    assert n_pred > 2 * n_obs
    # the smooth model beside the layered one, greyed below both DOIs
    names = _js(page, "document.getElementById('plot-model').data.map(t => t.name)")
    assert "smooth model" in names and "layered model" in names
    shapes = _js(page, "document.getElementById('plot-model').layout.shapes.map(s => s.y0)")
    doi = page.inner_text("#doi")
    standard = float(doi.split(": ")[1].split(" m (standard)")[0])
    assert len(shapes) == 2 and shapes[1] == pytest.approx(standard, rel=1e-2)
    assert shapes[0] <= shapes[1]  # the conservative DOI is never deeper
    assert "χ" in page.inner_text("#smooth-fit")
    assert page.is_visible("#smooth-export")
    tab.screenshot("invert-served-field")

    page.select_option("#depth-scale", "linear")
    page.wait_for_function("document.getElementById('plot-model').layout.yaxis.type === 'linear'")
    assert tab.errors == []


def test_segment_factors_of_a_field_sounding_are_shown(
    open_tab: Any, served_networks: Path
) -> None:
    """semien SE1's overlapping MN/2 segments disagree: the result names the fitted factors and
    the predicted curve says it carries them."""
    tab = open_tab("/invert")
    page = tab.page
    page.set_input_files("#data-file", str(FIELD_FILE.with_name("ves_schlumberger_semien_se1.csv")))
    page.wait_for_function("document.getElementById('data-state').textContent.startsWith('Read 1')")
    page.click("#invert-button")
    page.wait_for_selector("#segment-shifts")
    text = page.inner_text("#segment-shifts")
    assert "applied" in text and "reference MN/2 = 1 m" in text and "χ without them" in text
    page.wait_for_function("document.getElementById('plot-data').data !== undefined")
    names = _js(page, "document.getElementById('plot-data').data.map(t => t.name)")
    assert "predicted (model response × segment factor)" in names
    assert "segments disagree" in page.inner_text("#results")
    tab.screenshot("invert-served-segments")
    assert tab.errors == []


def test_a_data_window_drops_the_spacings_outside_it(open_tab: Any, served_networks: Path) -> None:
    """Section 2's window (5–50 m of AB/2) reaches the API: only those spacings are fitted and
    the result warns how many were dropped."""
    tab = open_tab("/invert")
    page = tab.page
    page.set_input_files("#data-file", str(FIELD_FILE))
    page.wait_for_function("document.getElementById('data-state').textContent.startsWith('Read 1')")
    page.fill("#window-min", "5")
    page.fill("#window-max", "50")
    page.click("#invert-button")
    page.wait_for_selector("#results:not([hidden])")
    flags = page.inner_text("#flags")
    assert "outside the window [5, 50] m of ab2_m dropped" in flags, flags
    page.wait_for_function("document.getElementById('plot-data').data !== undefined")
    # the plot shows the data that were fitted, the model response over their range only
    observed = _js(page, "document.getElementById('plot-data').data[0].x")
    assert observed and min(observed) >= 5 and max(observed) <= 50
    dense = _js(page, "document.getElementById('plot-data').data[1].x.filter(v => v !== null)")
    assert min(dense) >= 5 * 0.999 and max(dense) <= 50 * 1.001
    # DOI labels: two only where they are at least 6 % of the depth axis apart
    labels = _js(page, "document.getElementById('plot-model').layout.annotations.map(a => a.y)")
    span = _js(page, "document.getElementById('plot-model').layout.yaxis.range")
    assert 1 <= len(labels) <= 2
    if len(labels) == 2:
        assert abs(labels[1] - labels[0]) > 0.06 * abs(span[0] - span[1])
    tab.screenshot("invert-served-window")
    assert tab.errors == []
