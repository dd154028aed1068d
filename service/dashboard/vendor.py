"""Third-party browser assets served from installed Python packages (no CDN, works offline).

Plotly's bundled ``plotly.min.js`` ships in the ``plotly`` PyPI package's ``package_data``; the
dashboard serves that file as ``/dashboard/vendor/plotly.min.js``.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, send_file

from service.errors import ApiError

#: cache for a day: the file changes only when the plotly package is upgraded
CACHE_SECONDS = 86_400


def plotly_js_path() -> Path:
    """Path of the installed ``plotly.min.js``; raises ``FileNotFoundError`` when missing."""
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise FileNotFoundError(f"plotly.min.js not found in the plotly package at {path}")
    return path


def register_vendor_routes(bp: Blueprint) -> None:
    """Add ``GET /dashboard/vendor/plotly.min.js`` to the dashboard blueprint."""

    @bp.get("/dashboard/vendor/plotly.min.js")
    def plotly_js() -> Response:
        try:
            path = plotly_js_path()
        except (ImportError, FileNotFoundError) as exc:
            raise ApiError(404, "not_found", f"plotly: {exc}") from exc
        return send_file(path, mimetype="text/javascript", max_age=CACHE_SECONDS)
