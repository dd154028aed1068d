"""The Flask app factory ``create_app`` (REST API under ``/api/v1``, dashboard, registry).

``gunicorn 'service.app:create_app()'``; ``from service.app import create_app``.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from flask import Blueprint, Flask

from service.config import Settings, load_settings

log = logging.getLogger(__name__)

#: Blueprints registered by the factory, as ``"module:attribute"``. One more line adds one
#: (e.g. the dashboard: ``"service.dashboard:bp"``).
BLUEPRINTS: list[str] = [
    "service.api.health:bp",
    "service.api.forward_models:bp",
    "service.api.training_jobs:bp",
    "service.api.networks:bp",
    "service.api.invert:bp",
    "service.api.schedules:bp",
    "service.api.docs:bp",
    "service.dashboard:bp",
]


def _load_blueprint(ref: str) -> Blueprint:
    module_name, _, attribute = ref.partition(":")
    return getattr(importlib.import_module(module_name), attribute or "bp")


def _settings_from(test_config: dict[str, Any] | None) -> Settings:
    given = (test_config or {}).get("GEOBP")
    if isinstance(given, Settings):
        return given
    return load_settings(**(given or {}))


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the Flask app.

    ``test_config`` may hold Flask settings and ``"GEOBP"``: a :class:`Settings` or a dict of
    overrides (``database_url``, ``var_dir``, ``broker_url``, ``api_token``…); otherwise the
    settings come from the ``GEOBP_*`` environment. The database is migrated to head.
    """
    from service.errors import register_error_handlers
    from service.extensions import init_extensions

    app = Flask("service")  # the package's name, as before the factory moved here
    settings = _settings_from(test_config)
    app.config.from_mapping(
        GEOBP=settings,
        MAX_CONTENT_LENGTH=settings.max_content_length_bytes,
        JSON_SORT_KEYS=False,
    )
    if test_config:
        app.config.update({k: v for k, v in test_config.items() if k != "GEOBP"})
    app.json.sort_keys = False
    register_error_handlers(app)
    init_extensions(app, settings)
    for ref in BLUEPRINTS:
        app.register_blueprint(_load_blueprint(ref))
    return app
