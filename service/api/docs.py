"""``/api/v1/openapi.json`` and the interactive API page ``/api/v1/docs`` (Swagger UI from the
locally installed ``swagger-ui-bundle`` package — no CDN)."""

from __future__ import annotations

from pathlib import Path

import swagger_ui_bundle
from flask import Blueprint, Response, abort, jsonify, send_from_directory
from flask.typing import ResponseReturnValue

from service.openapi import build_document
from service.version import VERSION

bp = Blueprint("docs", __name__, url_prefix="/api/v1")

ASSETS = Path(swagger_ui_bundle.swagger_ui_path)
ALLOWED_ASSETS = {
    "swagger-ui.css",
    "swagger-ui-bundle.js",
    "swagger-ui-standalone-preset.js",
    "favicon-32x32.png",
    "favicon-16x16.png",
    "index.css",
}

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>geobp API</title>
<link rel="stylesheet" href="docs/swagger-ui.css">
<link rel="icon" type="image/png" href="docs/favicon-32x32.png"></head>
<body><div id="swagger-ui"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script src="docs/swagger-ui-standalone-preset.js"></script>
<script src="docs/init.js"></script>
</body></html>
"""

INIT = """window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: "openapi.json", dom_id: "#swagger-ui", deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "StandaloneLayout"
  });
};
"""


@bp.get("/openapi.json")
def openapi_document() -> ResponseReturnValue:
    """The OpenAPI 3 document of this API."""
    return jsonify(build_document(VERSION))


@bp.get("/docs")
def docs_page() -> ResponseReturnValue:
    """The interactive API page (assets served from this server)."""
    return Response(PAGE, mimetype="text/html")


@bp.get("/docs/init.js")
def docs_init() -> ResponseReturnValue:
    """Swagger UI start-up script pointing at ``openapi.json``."""
    return Response(INIT, mimetype="application/javascript")


@bp.get("/docs/<asset>")
def docs_asset(asset: str) -> ResponseReturnValue:
    """A Swagger UI asset file from the installed package."""
    if asset not in ALLOWED_ASSETS:
        abort(404)
    return send_from_directory(ASSETS, asset, max_age=3600)
