"""The researcher dashboard: server-rendered pages (Jinja) whose light JavaScript reads the REST
API under ``/api/v1``, plus two helper endpoints that reuse ``inversion.formats`` (file parsing and
result/figure export) so the browser never carries a second parser or plotter.

Pages: ``/``, ``/networks``, ``/networks/<id>``, ``/jobs``, ``/invert``, ``/profile``,
``/schedules``. Plotly's JavaScript is served from the installed ``plotly`` package (no CDN).
"""

from __future__ import annotations

from flask import Blueprint, Response, render_template

from service.dashboard.files import register_file_routes
from service.dashboard.vendor import register_vendor_routes

bp = Blueprint(
    "dashboard",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/dashboard/static",
)

#: navigation: (endpoint, path label)
NAV: list[tuple[str, str]] = [
    ("dashboard.index", "Overview"),
    ("dashboard.networks", "Networks"),
    ("dashboard.jobs", "Training jobs"),
    ("dashboard.invert", "Invert"),
    ("dashboard.profile", "Profile"),
    ("dashboard.schedules", "Schedules"),
]


#: headers of every dashboard response: scripts only from this server (the pages carry none
#: inline; Plotly's standard bundle needs ``eval``, its strict one does not), no framing by other
#: sites, no MIME sniffing. Styles may be inline (Plotly sets them).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


@bp.after_request
def _security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def _page(template: str, title: str, nav: str, **context: object) -> str:
    """Render ``dashboard/<template>`` inside the shared layout."""
    return render_template(f"dashboard/{template}", title=title, nav=NAV, active=nav, **context)


@bp.get("/")
def index() -> str:
    """Overview: health, counts, recent jobs."""
    return _page("index.html", "Overview", "dashboard.index")


@bp.get("/networks")
def networks() -> str:
    """The registry as a filterable, sortable table."""
    return _page("networks.html", "Networks", "dashboard.networks")


@bp.get("/networks/<network_id>")
def network(network_id: str) -> str:
    """One network: curves, domain, held-out scatter, coverage, lineage, versions."""
    return _page(
        "network.html",
        "Network",
        "dashboard.networks",
        network_id=network_id,
        plotly=True,
    )


@bp.get("/jobs")
def jobs() -> str:
    """Training jobs with live progress, cancel and a start form."""
    return _page("jobs.html", "Training jobs", "dashboard.jobs", plotly=True)


@bp.get("/invert")
def invert() -> str:
    """Invert one sounding: upload or paste, pick a network, see fit, model and flags."""
    return _page("invert.html", "Invert", "dashboard.invert", plotly=True)


@bp.get("/profile")
def profile() -> str:
    """Invert many soundings along a line and show the resistivity section."""
    return _page("profile.html", "Profile", "dashboard.profile", plotly=True)


@bp.get("/schedules")
def schedules() -> str:
    """List and create retraining schedules."""
    return _page("schedules.html", "Schedules", "dashboard.schedules")


register_file_routes(bp)
register_vendor_routes(bp)
