#!/usr/bin/env bash
# Installs Debian's headless-capable Chromium for the report test (diagnostics ReportInBrowserTest). Idempotent.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" != "0" ]; then
  echo "tools/chromium/setup.sh: chromium is missing and this is not root; install Debian's 'chromium' package" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends chromium >/dev/null
command -v chromium >/dev/null
