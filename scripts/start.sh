#!/usr/bin/env bash
# `npm start`: installs, builds, then serves the demo page and a WebSocket endpoint on one port
# (PORT, default 8000). Extra arguments go to `rfc6455 serve`, e.g. `npm start -- --host 0.0.0.0`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/pnpm.sh install --frozen-lockfile
bash scripts/build.sh
exec node packages/cli/dist/main.js serve --mode demo --port "${PORT:-8000}" "$@"
