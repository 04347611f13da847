#!/usr/bin/env bash
# Installs the reference tokenizer (@huggingface/tokenizers, the engine of transformers.js 4.x)
# into tools/tokref/node_modules from the committed package-lock.json. Idempotent.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v npm >/dev/null 2>&1; then
  # not fatal here: the Java test fails when CI=true and skips otherwise, with its own message
  echo "tools/tokref/setup.sh: npm not found; the tokenizer reference tests need node + npm (skipping install)" >&2
  exit 0
fi
want="$(node -e 'console.log(require("./package-lock.json").packages["node_modules/@huggingface/tokenizers"].version)')"
have="$(node -e 'try{console.log(require("./node_modules/@huggingface/tokenizers/package.json").version)}catch(e){console.log("")}')"
if [ "$want" = "$have" ]; then
  echo "tools/tokref: @huggingface/tokenizers $have already installed"
  exit 0
fi
npm ci --no-audit --no-fund
