"""The invert and profile pages: an uploaded file is read by the server's readers, inverted by
the real network, and shown as data-fit and model plots with flags in words."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import forward_models
from inversion.formats import format_edi_rho_phase

pytestmark = pytest.mark.browser

TRUE_MODEL = [80.0, 12.0, 400.0, 4.0, 15.0]  # rho1..rho3 (ohm·m), h1, h2 (m)


def _write_sounding(path: Path, ab2_m: list[float]) -> Path:
    fm = forward_models.create("ves-schlumberger", n_layers=3, ab2_m=ab2_m, mn2_m=None)
    rho_a = np.asarray(fm.forward(np.asarray(TRUE_MODEL)), dtype=float).ravel()
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["AB/2 (m)", "rho_a (ohm.m)"])
        writer.writerows([[a, f"{r:.5g}"] for a, r in zip(ab2_m, rho_a, strict=True)])
    return path


def _trace_names(page: Any, div_id: str) -> list[str]:
    return page.evaluate(f"document.getElementById('{div_id}').data.map(t => t.name)")


def test_invert_uploaded_file_shows_both_plots(
    open_tab: Any, trained_network: dict[str, Any], tmp_path: Path
) -> None:
    ab2_m = trained_network["forward_model"]["ab2_m"]
    data_file = _write_sounding(tmp_path / "ves-site-7.csv", ab2_m)
    tab = open_tab("/invert")
    page = tab.page
    page.wait_for_selector("#network-select optgroup", state="attached")
    page.set_input_files("#data-file", str(data_file))
    page.wait_for_function("document.getElementById('data-state').textContent.startsWith('Read 1')")
    assert f"{len(ab2_m)} points" in page.inner_text("#data-state")
    page.select_option("#network-select", trained_network["id"])
    page.click("#invert-button")
    page.wait_for_selector("#results:not([hidden])")
    page.wait_for_function("document.getElementById('plot-model').data !== undefined")
    assert _trace_names(page, "plot-data") == ["observed", "predicted (model response)"]
    model_traces = _trace_names(page, "plot-model")
    assert model_traces[-1] == "layered model"
    assert "p10–p90 band" in model_traces  # the ensemble's band is drawn
    assert page.evaluate("document.getElementById('plot-data').layout.xaxis.type") == "log"
    assert page.evaluate("document.getElementById('plot-data').layout.yaxis.type") == "log"
    flags = page.inner_text("#flags")
    assert "Misfit:" in flags and " fit" in flags and "RMS" in flags
    assert "training domain" in flags
    assert page.locator("#layers tr").count() == 3
    assert page.locator("#plot-phase").is_hidden()  # VES: no phase panel
    tab.screenshot("invert-result")

    with page.expect_download() as download_info:
        page.click("[data-export='result.csv']")
    csv_text = Path(download_info.value.path()).read_text(encoding="utf-8")
    assert csv_text.splitlines()[0].startswith("layer,top_m,bottom_m")
    assert len(csv_text.strip().splitlines()) == 4
    with page.expect_download() as download_info:
        page.click("[data-export='figure.png']")
    assert Path(download_info.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # "choose the layer count for me": the candidates are inverted and one is picked, in words
    page.select_option("#network-select", "auto")
    page.click("#invert-button")
    page.wait_for_selector("#auto-choice table")
    assert "Chosen: " + trained_network["name"] in page.inner_text("#auto-choice")
    assert tab.errors == []


def test_invert_edi_shows_phase_for_mt(
    open_tab: Any, trained_mt_network: dict[str, Any], tmp_path: Path
) -> None:
    periods_s = np.asarray(trained_mt_network["forward_model"]["periods_s"], dtype=float)
    fm = forward_models.create("mt-1d", n_layers=2, periods_s=periods_s)
    data = np.asarray(fm.forward(np.array([30.0, 300.0, 500.0])), dtype=float).ravel()
    k = periods_s.size
    edi = format_edi_rho_phase(
        1.0 / periods_s, {"XY": {"rho_ohmm": data[:k], "phase_deg": data[k:]}}, station="MT7"
    )
    path = tmp_path / "mt7.edi"
    path.write_text(edi, encoding="utf-8")
    tab = open_tab("/invert")
    page = tab.page
    page.wait_for_selector("#network-select optgroup", state="attached")
    page.select_option("#mt-mode", "te")
    page.set_input_files("#data-file", str(path))
    page.wait_for_function("document.getElementById('data-state').textContent.startsWith('Read 1')")
    assert f"MT, {k} points" in page.inner_text("#data-state")
    # "choose the layer count for me" only considers networks that read periods: the MT one
    page.select_option("#network-select", "auto")  # the default is the served networks
    page.click("#invert-button")
    page.wait_for_selector("#auto-choice table")
    assert "Chosen: " + trained_mt_network["name"] in page.inner_text("#auto-choice")
    page.wait_for_function("document.getElementById('plot-phase').data !== undefined")
    assert page.locator("#plot-phase").is_visible()
    assert _trace_names(page, "plot-phase") == ["observed phase", "predicted phase"]
    assert page.evaluate("document.getElementById('plot-phase').data[0].y.length") == k
    assert page.locator("#layers tr").count() == 2
    tab.screenshot("invert-mt")
    assert tab.errors == []


def test_bad_file_is_reported_in_words(
    open_tab: Any, trained_network: dict[str, Any], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("AB/2 (m), rho_a (ohm.m)\n1.0, 100\n2.0, abc\n", encoding="utf-8")
    tab = open_tab("/invert")
    page = tab.page
    page.wait_for_selector("#network-select optgroup", state="attached")
    page.set_input_files("#data-file", str(bad))
    page.wait_for_selector("#alert:not([hidden])")
    message = page.inner_text("#alert")
    assert "line 3" in message and "not a number" in message
    assert page.is_disabled("#invert-button")
    # the 400 answer of the parse endpoint is the only console message
    assert all("400" in e for e in tab.errors), tab.errors


def test_profile_section_and_misfit_per_sounding(
    open_tab: Any, trained_network: dict[str, Any]
) -> None:
    tab = open_tab("/profile")
    page = tab.page
    page.wait_for_selector("#profile-network option", state="attached")
    page.select_option("#profile-network", trained_network["id"])
    page.click("#profile-example")
    page.wait_for_function(
        "document.getElementById('profile-state').textContent.startsWith('Read 5')"
    )
    page.click("#profile-invert")
    page.wait_for_selector("#profile-results:not([hidden])")
    page.wait_for_function("document.getElementById('plot-misfit').data !== undefined")
    section = page.evaluate("document.getElementById('plot-section').data[0]")
    assert section["type"] == "heatmap"
    assert section["x"] == [0, 25, 50, 75, 100]
    # log colour scale: colour bar ticks are labelled in ohm·m at whole decades
    assert all(
        t in ("0.1", "1", "10", "100", "1000", "10000") for t in section["colorbar"]["ticktext"]
    )
    assert page.locator("#profile-table tr").count() == 5
    assert page.locator("#profile-table").inner_text().count("fit") == 5
    tab.screenshot("profile-section")
    with page.expect_download() as download_info:
        page.click("#profile-csv")
    rows = Path(download_info.value.path()).read_text(encoding="utf-8").strip().splitlines()
    assert rows[0].startswith("sounding,layer") and len(rows) == 1 + 5 * 3
    assert tab.errors == []
