"""Run the Alembic migrations programmatically (``upgrade head``) on SQLite or PostgreSQL."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(database_url: str) -> Config:
    """An Alembic config pointing at ``service/migrations`` and ``database_url``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade_head(engine: Engine) -> None:
    """Bring the database behind ``engine`` to the newest revision (idempotent, serialised)."""
    config = alembic_config(str(engine.url.render_as_string(hide_password=False)))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # two processes starting at once must not both create the tables
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(461735)")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    log.info("database at head revision")
