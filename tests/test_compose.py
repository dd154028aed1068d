"""docker-compose.yml, checked by a real Compose client (`docker compose` or Debian's
`docker-compose`): it parses, every service has a health check, the secret comes from the
environment, the commands are the ones the integration tests run, and gunicorn is reached only
through the buffering nginx proxy (deploy/nginx.conf) with read timeouts."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SERVICES = {"redis", "postgres", "api", "proxy", "worker", "beat", "flower", "worker-gpu"}
NGINX_CONF = ROOT / "deploy" / "nginx.conf"


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


def _published(service: dict) -> list[str]:
    """The service's published ports as ``[host_ip:]published:target`` strings."""
    found = []
    for port in service.get("ports", []):
        if isinstance(port, dict):  # long syntax (Compose v2)
            ip = f"{port['host_ip']}:" if port.get("host_ip") else ""
            found.append(f"{ip}{port.get('published')}:{port['target']}")
        else:
            found.append(str(port))
    return found


def test_gunicorn_is_reached_only_through_the_nginx_proxy(config):
    services = config["services"]
    assert _published(services["api"]) == []
    assert [p.split(":")[-2:] for p in _published(services["proxy"])] == [["8000", "8080"]]
    assert services["proxy"]["depends_on"]["api"]["condition"] == "service_healthy"
    mounts = " ".join(str(v) for v in services["proxy"]["volumes"])
    assert "deploy/nginx.conf" in mounts and "/etc/nginx/nginx.conf" in mounts
    for port in _published(services["flower"]):  # no auth: the host's loopback only
        assert port.startswith("127.0.0.1:"), port


def _directive(conf: str, name: str) -> str:
    match = re.search(rf"^\s*{name}\s+([^;]+);", conf, re.M)
    assert match, f"{name} missing from deploy/nginx.conf"
    return match.group(1).strip()


def _seconds(value: str) -> float:
    number, unit = re.fullmatch(r"(\d+)(ms|s|m)?", value).groups()
    return int(number) * {"ms": 0.001, "s": 1, "m": 60, None: 1}[unit]


def test_nginx_buffers_requests_with_read_timeouts_and_the_api_limits():
    conf = NGINX_CONF.read_text()
    assert _directive(conf, "proxy_request_buffering") == "on"
    assert _directive(conf, "proxy_buffering") == "on"
    assert 0 < _seconds(_directive(conf, "client_header_timeout")) <= 30
    assert 0 < _seconds(_directive(conf, "client_body_timeout")) <= 60
    assert _directive(conf, "client_max_body_size") == "8m"  # GEOBP_MAX_CONTENT_LENGTH's default
    assert _seconds(_directive(conf, "proxy_read_timeout")) > 120  # gunicorn's timeout
    assert re.search(r"server\s+api:8000;", conf)
    assert "limit_req zone=compute" in conf and _directive(conf, "limit_req_status") == "429"
