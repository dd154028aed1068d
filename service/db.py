"""Database engine and sessions (SQLAlchemy 2), shared by the API and the worker's job store."""

from __future__ import annotations

import logging
import os
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)


def make_engine(database_url: str) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout and foreign keys (shared by processes)."""
    if database_url.startswith("sqlite"):
        engine = create_engine(
            database_url,
            connect_args={"timeout": 30, "check_same_thread": False},
            poolclass=NullPool,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return create_engine(database_url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def _forget_inherited_connections(engine_ref: weakref.ref) -> None:
    """In a forked child: drop the parent's pooled connections without closing them (they are
    the parent's; SQLAlchemy's recipe for ``os.fork``), so each process opens its own."""
    engine = engine_ref()
    if engine is not None:
        engine.dispose(close=False)


class Database:
    """An engine plus a session factory; ``with db.session() as s:`` commits or rolls back.

    A process forked after the engine was used (gunicorn's workers, forked by the master that
    migrated the database) starts with an empty pool: connections are never shared by processes.
    """

    def __init__(self, database_url: str) -> None:
        self.url = database_url
        self.engine = make_engine(database_url)
        self._factory = sessionmaker(self.engine, expire_on_commit=False)
        if hasattr(os, "register_at_fork"):
            engine_ref = weakref.ref(self.engine)
            os.register_at_fork(after_in_child=lambda: _forget_inherited_connections(engine_ref))

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on any exception."""
        session = self._factory()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()


def as_utc(value: datetime | None) -> datetime | None:
    """Attach UTC to naive datetimes read back from SQLite."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def iso(value: datetime | None) -> str | None:
    """ISO 8601 text in UTC with a ``Z`` suffix, or None."""
    value = as_utc(value)
    if value is None:
        return None
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
