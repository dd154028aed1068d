"""The jobs page: a job started from the form shows progress that advances without a reload, and
the cancel button (with the token typed by the user) stops it; schedules can be created and
deleted."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytestmark = pytest.mark.browser

SLOW_SPEC = {
    "name": "browser-progress",
    "forward_model": {
        "name": "ves-schlumberger",
        "n_layers": 3,
        "ab2_m": [1.0, 2.2, 4.6, 10.0, 22.0, 46.0, 100.0],
        "mn2_m": None,
    },
    "n_samples": 4000,
    "seed": 5,
    "network": {
        "hidden": 32,
        "max_epochs": 5000,
        "early_stopping": False,
        "batch_size": 32,
        "n_members": 1,
    },
}


def _type_token(page: Any, token: str) -> None:
    page.fill("#token-input", token)
    page.click("#token-form button[type=submit]")
    assert page.inner_text("#token-state") == "token kept for this tab"


def test_training_progress_advances_and_cancel(open_tab: Any, live_server: Any) -> None:
    tab = open_tab("/jobs")
    page = tab.page
    page.wait_for_selector("#jobs-body tr")
    _type_token(page, live_server.token)
    page.fill("#job-spec", json.dumps(SLOW_SPEC))
    page.click("#job-submit")
    page.wait_for_selector("#alert.info")
    job_id = page.inner_text("#alert").split("(id ")[1].rstrip(").")
    row = f"#job-{job_id}"
    page.evaluate("window.__noReload = true")
    page.wait_for_selector(
        f"{row}[data-status='running'] td.epoch:has-text('epoch')", timeout=60_000
    )
    first = page.inner_text(f"{row} td.epoch")
    epoch_first = int(first.split()[1])
    page.wait_for_function(
        f"""() => {{
            const td = document.querySelector('{row} td.epoch');
            return td && parseInt(td.textContent.split(' ')[1]) > {epoch_first};
        }}""",
        timeout=30_000,
    )
    assert page.evaluate("window.__noReload") is True  # updated in place, not reloaded
    assert page.inner_text(f"{row} td.train-loss") not in ("", "–")
    page.wait_for_function("document.getElementById('live-curve').data !== undefined")
    tab.screenshot("jobs-running")
    page.click(f"{row} button[data-action='cancel']")
    page.wait_for_selector(f"{row}[data-status='cancelled']", timeout=30_000)
    assert "cancelled" in page.inner_text(f"{row} td.status")
    assert live_server.request("GET", f"/training-jobs/{job_id}")["status"] == "cancelled"
    tab.screenshot("jobs-cancelled")
    assert tab.errors == []


def test_schedule_create_and_delete(
    open_tab: Any, live_server: Any, trained_network: dict[str, Any]
) -> None:
    tab = open_tab("/schedules")
    page = tab.page
    page.wait_for_selector("#schedule-network option", state="attached")
    _type_token(page, live_server.token)
    page.fill("#schedule-name", "browser-nightly")
    page.fill("#schedule-cron", "30 2 * * 1")
    page.select_option("#schedule-network", trained_network["name"])
    page.click("#schedule-submit")
    page.wait_for_selector("tr[data-schedule='browser-nightly']")
    row = page.inner_text("tr[data-schedule='browser-nightly']")
    assert "30 2 * * 1" in row and f"network {trained_network['name']}" in row and "enabled" in row
    listed = live_server.request("GET", "/schedules")["items"]
    assert [s["name"] for s in listed] == ["browser-nightly"]
    tab.screenshot("schedules")
    page.click("tr[data-schedule='browser-nightly'] button")
    page.wait_for_selector("tr[data-schedule='browser-nightly']", state="detached")
    assert live_server.request("GET", "/schedules")["items"] == []
    assert tab.errors == []
