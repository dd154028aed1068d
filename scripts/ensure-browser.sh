#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests when it is missing (needs root and apt).
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "chromium is missing: install Debian's 'chromium' package (the browser tests need it)" >&2
  exit 1
fi
echo "installing Debian's chromium for the browser tests…"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
