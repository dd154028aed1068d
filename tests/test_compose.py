"""docker-compose.yml, checked by a real Compose client (`docker compose` or Debian's
`docker-compose`): it parses, every service has a health check, the secret comes from the
environment, and the commands are the ones the integration tests run."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SERVICES = {"redis", "postgres", "api", "worker", "beat", "flower", "worker-gpu"}


def _compose() -> list[str]:
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    if legacy is None:
        pytest.fail("no Compose client: install Debian's docker-compose (make test does)")
    return [legacy]


def _config(token: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "GEOBP_API_TOKEN"}
    if token is not None:
        env["GEOBP_API_TOKEN"] = token
    return subprocess.run(
        [*_compose(), "--profile", "gpu", "-f", str(ROOT / "docker-compose.yml"), "config"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def config() -> dict:
    result = _config("token-from-the-environment")
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_every_service_is_there_with_a_health_check(config):
    assert set(config["services"]) == SERVICES
    for name, service in config["services"].items():
        assert service["healthcheck"]["test"], name


def test_the_api_token_comes_from_the_environment(config):
    for name in ("api", "worker", "beat", "worker-gpu"):
        assert config["services"][name]["environment"]["GEOBP_API_TOKEN"] == (
            "token-from-the-environment"
        )


def test_a_missing_token_is_refused_with_a_reason():
    result = _config(None)
    assert result.returncode != 0
    assert "GEOBP_API_TOKEN" in result.stderr


def test_commands_are_the_ones_the_tests_run(config):
    services = config["services"]
    assert "exec python -m worker.main --queues geobp,train" in " ".join(
        services["worker"]["command"]
    )
    api = " ".join(services["api"]["command"])
    assert "'service.app:create_app()'" in api and "-c python:service.gunicorn_conf" in api
    assert "-m worker.main --queues gpu" in " ".join(services["worker-gpu"]["command"])
    assert services["worker-gpu"]["profiles"] == ["gpu"]
    for name in ("api", "worker", "beat"):
        assert services[name]["environment"]["GEOBP_BROKER_URL"].startswith("redis://")
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"
