"""The profile page on the served networks (its default): the example line inverted through
``POST /api/v1/invert``, each sounding with the layer count the service chose."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser


def test_profile_inverts_the_line_with_the_served_networks(
    open_tab: Any, served_networks: Path
) -> None:
    tab = open_tab("/profile")
    page = tab.page
    page.wait_for_selector("#profile-network option", state="attached")
    assert page.input_value("#profile-network") == "served"  # the default
    assert page.is_disabled("#profile-refine")  # served results are always refined
    with page.expect_request(lambda r: r.url.endswith("/api/v1/invert")) as sent:
        page.click("#profile-example")
        page.wait_for_function(
            "document.getElementById('profile-state').textContent.startsWith('Read 5')"
        )
        page.click("#profile-invert")
    assert len(sent.value.post_data_json["soundings"]) == 5
    page.wait_for_selector("#profile-results:not([hidden])")
    page.wait_for_function("document.getElementById('plot-section').data !== undefined")
    section = page.evaluate("document.getElementById('plot-section').data[0]")
    assert section["type"] == "heatmap" and section["x"] == [0, 25, 50, 75, 100]
    assert page.locator("#profile-table tr").count() == 5
    # the smooth models side by side, blank below each sounding's standard DOI
    title = page.evaluate("document.getElementById('plot-section').layout.title.text")
    assert "smooth 1D models" in title
    blank_below_doi = page.evaluate(
        """(() => {
          const t = document.getElementById('plot-section').data[0];
          return t.x.map((_, j) => t.y.filter((_, i) => t.z[i][j] === null).length);
        })()"""
    )
    assert all(n > 0 for n in blank_below_doi)  # every sounding has a DOI inside the section
    assert page.is_visible("#profile-smooth-csv")
    tab.screenshot("profile-served-smooth")
    assert tab.errors == []
