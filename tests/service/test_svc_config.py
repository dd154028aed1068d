"""Settings, the generated token, migrations and the progress helpers."""

from __future__ import annotations

import stat

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from service.config import load_settings
from service.db import Database
from service.migrate import upgrade_head
from service.models import Base
from worker.celery_app import CeleryConfig, make_celery
from worker.progress import CancelCheck, ProgressReporter


def test_defaults_under_var_dir_and_token_generated_once(tmp_path) -> None:
    first = load_settings(env={"GEOBP_VAR_DIR": str(tmp_path / "v")})
    assert first.database_url == f"sqlite:///{tmp_path / 'v' / 'geobp.sqlite'}"
    assert first.embedded_broker and first.artifact_dir == tmp_path / "v" / "artifacts"
    assert first.token_generated and len(first.api_token) >= 32
    token_file = tmp_path / "v" / "api-token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    second = load_settings(env={"GEOBP_VAR_DIR": str(tmp_path / "v")})
    assert second.api_token == first.api_token and not second.token_generated


def test_environment_wins(tmp_path) -> None:
    env = {
        "GEOBP_VAR_DIR": str(tmp_path),
        "GEOBP_API_TOKEN": "t",
        "GEOBP_BROKER_URL": "redis://h:6379/3",
        "GEOBP_DATABASE_URL": "sqlite:///x.db",
        "GEOBP_MAX_CONTENT_LENGTH": "1000",
    }
    settings = load_settings(env=env)
    assert (settings.api_token, settings.broker_url, settings.database_url) == (
        "t",
        "redis://h:6379/3",
        "sqlite:///x.db",
    )
    assert not settings.embedded_broker and settings.max_content_length_bytes == 1000
    assert not (tmp_path / "api-token").exists()


@pytest.mark.parametrize("value", ["-1", "abc", "0"])
def test_bad_numbers_are_rejected_by_name(tmp_path, value) -> None:
    with pytest.raises(ValueError, match="GEOBP_JOB_STALE_S"):
        load_settings(env={"GEOBP_VAR_DIR": str(tmp_path), "GEOBP_JOB_STALE_S": value})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, True),
        ("", True),
        ("0", False),
        ("off", False),
        ("No", False),
        ("1", True),
        ("ON", True),
    ],
)
def test_served_upgrade_switch(tmp_path, value, expected) -> None:
    env = {"GEOBP_VAR_DIR": str(tmp_path)}
    if value is not None:
        env["GEOBP_SERVED_UPGRADE"] = value
    assert load_settings(env=env).served_upgrade is expected


def test_a_bad_switch_is_rejected_by_name(tmp_path) -> None:
    with pytest.raises(ValueError, match="GEOBP_SERVED_UPGRADE='maybe' is not one of"):
        load_settings(env={"GEOBP_VAR_DIR": str(tmp_path), "GEOBP_SERVED_UPGRADE": "maybe"})


def test_migrations_match_the_models_and_rerun(tmp_path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'm.sqlite'}")
    upgrade_head(db.engine)
    upgrade_head(db.engine)  # idempotent
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_celery_app_brokers(tmp_path) -> None:
    embedded = make_celery(CeleryConfig("embedded", tmp_path))
    assert embedded.conf.broker_url == "filesystem://"
    assert (tmp_path / "broker" / "queue").is_dir()
    assert embedded.conf.task_acks_late and embedded.conf.task_reject_on_worker_lost
    assert {q.name for q in embedded.conf.task_queues} == {"geobp", "train", "gpu"}
    redis = make_celery(CeleryConfig("redis://127.0.0.1:6379/5", tmp_path))
    assert redis.conf.broker_url == "redis://127.0.0.1:6379/5"
    assert set(embedded.tasks) >= {"geobp.generate_chunk", "geobp.train", "geobp.tick_schedules"}


def test_progress_fraction_and_throttle() -> None:
    writes: list[dict] = []
    reporter = ProgressReporter(writes.append, interval_s=0.0, n_members=2)
    reporter.stage("train")
    reporter.epoch({"epoch": 5, "max_epochs": 10, "train_loss": 1.0, "val_loss": float("nan")})
    assert writes[-1]["fraction"] == pytest.approx(0.2 + 0.7 * 0.25)
    assert writes[-1]["val_loss"] is None  # NaN is not JSON
    reporter.epoch({"epoch": 1, "max_epochs": 10, "train_loss": 1.0})  # second member starts
    assert writes[-1]["member"] == 1 and writes[-1]["fraction"] == pytest.approx(0.2 + 0.7 * 0.55)
    slow = ProgressReporter(writes.append, interval_s=3600.0)
    n = len(writes)
    slow.epoch({"epoch": 1, "max_epochs": 10})
    slow.epoch({"epoch": 2, "max_epochs": 10})
    assert len(writes) == n + 1


def test_cancel_check_asks_at_most_every_interval() -> None:
    calls = []
    check = CancelCheck(lambda: calls.append(1) or len(calls) >= 2, interval_s=3600.0)
    assert check() is False and check() is False and len(calls) == 1
    check.interval_s = 0.0
    assert check() is True and check() is True and len(calls) == 2
