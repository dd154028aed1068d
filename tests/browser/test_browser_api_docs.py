"""The interactive API page renders the OpenAPI 3.1 document: every operation is listed."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.browser


def test_api_docs_list_the_operations(open_tab: Any, live_server: Any) -> None:
    document = live_server.request("GET", "/openapi.json")
    assert document["openapi"].startswith("3.1")
    expected = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    tab = open_tab("/api/v1/docs")
    tab.page.wait_for_selector(".opblock", timeout=30_000)
    shown = tab.page.eval_on_selector_all(
        ".opblock",
        "blocks => blocks.map(b => [b.querySelector('.opblock-summary-method').textContent,"
        " b.querySelector('.opblock-summary-path').getAttribute('data-path')])",
    )
    tab.screenshot("api-docs")
    body = tab.page.inner_text("body")
    assert "Unable to render this definition" not in body
    assert {(method, path) for method, path in shown} == expected
    assert ("POST", "/api/v1/training-jobs") in expected
    assert tab.errors == []
