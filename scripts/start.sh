#!/usr/bin/env bash
# `npm start`: installs, builds and serves. (The demo server arrives with the CLI.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/pnpm.sh install --frozen-lockfile
bash scripts/build.sh
echo "npm start: nothing to serve yet; the demo server arrives with packages/cli." >&2
exit 1
