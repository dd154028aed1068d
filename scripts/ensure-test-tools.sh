#!/usr/bin/env bash
# Installs the Debian packages the tests drive for real when they are missing: Chromium (browser
# tests), a Compose client (docker-compose.yml is checked by `docker-compose config`) and nginx
# (docker-compose's reverse proxy, run with deploy/nginx.conf by tests/integration/test_int_nginx.py).
# Needs root and apt for an install; otherwise it says what to install.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
if ! command -v docker-compose >/dev/null 2>&1 && ! docker compose version >/dev/null 2>&1; then
  missing+=(docker-compose)
fi
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "missing for the tests: install Debian's ${missing[*]}" >&2
  exit 1
fi
echo "installing Debian's ${missing[*]} for the tests…"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
