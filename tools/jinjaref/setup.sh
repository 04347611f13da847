#!/usr/bin/env bash
# Idempotent: makes sure python3 with jinja2 (3.1.x) is available for the reference renderer.
set -euo pipefail
if python3 -c 'import jinja2' >/dev/null 2>&1; then
  python3 -c 'import jinja2; print("jinja2", jinja2.__version__)'
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
if ! $SUDO apt-get install -y python3-jinja2; then
  $SUDO apt-get update
  $SUDO apt-get install -y python3-jinja2
fi
python3 -c 'import jinja2; print("jinja2", jinja2.__version__)'
