"""Service settings, read once from the environment (``GEOBP_*``) into one dataclass.

The Flask app keeps the settings under ``app.config["GEOBP"]``; the worker and the CLI build the
same object with :func:`load_settings`.
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path

log = logging.getLogger(__name__)

TOKEN_FILE_NAME = "api-token"


@dataclass(frozen=True)
class Settings:
    """Everything the service and its workers need to find each other.

    ``database_url`` is a SQLAlchemy URL; ``broker_url`` is ``redis://…`` or ``"embedded"`` (kombu's
    filesystem transport over folders under ``var_dir``); ``api_token`` is the bearer token for
    write endpoints; ``max_content_length_bytes`` caps request bodies (413 beyond it);
    ``served_upgrade``: ``geobp serve`` queues the served networks' physics-guided upgrade.
    """

    var_dir: Path
    database_url: str
    broker_url: str
    artifact_dir: Path
    api_token: str
    token_generated: bool = False
    max_content_length_bytes: int = 8 * 1024 * 1024
    job_stale_after_s: float = 300.0
    max_job_attempts: int = 3
    progress_interval_s: float = 0.5
    inverter_cache_size: int = 8
    served_upgrade: bool = True
    extra: dict = field(default_factory=dict)

    @property
    def embedded_broker(self) -> bool:
        """True when the broker is the embedded (server-less) filesystem transport."""
        return not self.broker_url.startswith(("redis://", "rediss://"))

    @property
    def sqlite(self) -> bool:
        """True when the database is a SQLite file."""
        return self.database_url.startswith("sqlite")

    def with_changes(self, **changes: object) -> Settings:
        """Return a copy with some fields replaced."""
        return replace(self, **changes)


def positive_number(env: dict[str, str], name: str, default: float) -> float:
    """``env[name]`` as a positive number (``default`` when unset or empty); ValueError naming
    the variable otherwise."""
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ValueError(f"{name}={raw!r} is not a number") from exc
    if not value > 0:
        raise ValueError(f"{name}={raw!r} must be positive")
    return value


def switch(env: dict[str, str], name: str, default: bool) -> bool:
    """``env[name]`` as a boolean (``1/true/yes/on`` or ``0/false/no/off``, any case; ``default``
    when unset or empty); ValueError naming the variable otherwise."""
    raw = env.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name}={env[name]!r} is not one of 1/true/yes/on or 0/false/no/off")


def _read_or_create_token(var_dir: Path) -> tuple[str, bool]:
    """Return ``(token, generated)``: the token stored under ``var_dir``, creating it (0600)."""
    path = var_dir / TOKEN_FILE_NAME
    if path.exists():
        token = path.read_text(encoding="utf-8").strip()
        if token:
            return token, False
    token = secrets.token_urlsafe(32)
    var_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    try:
        os.link(tmp, path)  # atomic create-if-absent: two processes starting at once agree
    except FileExistsError:
        tmp.unlink(missing_ok=True)
        return path.read_text(encoding="utf-8").strip(), False
    tmp.unlink(missing_ok=True)
    return token, True


def load_settings(env: dict[str, str] | None = None, **overrides: object) -> Settings:
    """Build :class:`Settings` from ``env`` (default ``os.environ``); keyword overrides win.

    Defaults: ``var_dir`` ``./var``, SQLite database ``var/geobp.sqlite``, the embedded broker,
    artifacts under ``var/artifacts``, and a token generated once and stored in ``var/api-token``.
    """
    env = dict(os.environ if env is None else env)
    var_dir = Path(str(overrides.pop("var_dir", None) or env.get("GEOBP_VAR_DIR") or "var"))
    var_dir = var_dir.resolve()
    var_dir.mkdir(parents=True, exist_ok=True)
    database_url = str(
        overrides.pop("database_url", None)
        or env.get("GEOBP_DATABASE_URL")
        or f"sqlite:///{var_dir / 'geobp.sqlite'}"
    )
    broker_url = str(overrides.pop("broker_url", None) or env.get("GEOBP_BROKER_URL") or "embedded")
    artifact_dir = Path(
        str(
            overrides.pop("artifact_dir", None)
            or env.get("GEOBP_ARTIFACT_DIR")
            or var_dir / "artifacts"
        )
    ).resolve()
    token = overrides.pop("api_token", None) or env.get("GEOBP_API_TOKEN")
    generated = False
    if not token:
        token, generated = _read_or_create_token(var_dir)
        if generated:
            log.warning("generated an API token, stored in %s", var_dir / TOKEN_FILE_NAME)
    settings = Settings(
        var_dir=var_dir,
        database_url=database_url,
        broker_url=broker_url,
        artifact_dir=artifact_dir,
        api_token=str(token),
        token_generated=generated,
        max_content_length_bytes=int(
            positive_number(env, "GEOBP_MAX_CONTENT_LENGTH", 8 * 1024 * 1024)
        ),
        job_stale_after_s=positive_number(env, "GEOBP_JOB_STALE_S", 300.0),
        max_job_attempts=int(positive_number(env, "GEOBP_MAX_JOB_ATTEMPTS", 3)),
        progress_interval_s=positive_number(env, "GEOBP_PROGRESS_INTERVAL_S", 0.5),
        served_upgrade=switch(env, "GEOBP_SERVED_UPGRADE", True),
    )
    return settings.with_changes(**overrides) if overrides else settings
