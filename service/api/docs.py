"""``/api/v1/openapi.json`` and the interactive API page ``/api/v1/docs``.

The page is Swagger UI 5 (it reads OpenAPI 3.1; the 4.x builds do not), served from the ``dist``
folder of the installed ``flask-swagger-ui`` package — no CDN. Only its asset files are used, not
its blueprint."""

from __future__ import annotations

from pathlib import Path

import flask_swagger_ui
from flask import Blueprint, Response, abort, jsonify, send_from_directory
from flask.typing import ResponseReturnValue

from service.openapi import build_document
from service.version import VERSION

bp = Blueprint("docs", __name__, url_prefix="/api/v1")

ASSETS = Path(flask_swagger_ui.__file__).parent / "dist"
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
