#!/usr/bin/env bash
# Browser end-to-end tests: headless Chromium against the real server (packages/cli/src/e2e/*.e2e.ts).
# Needs a build (scripts/build.sh) and Debian's chromium, which it installs when it may:
# always in CI (CI=true), as root otherwise; else it says how and skips loudly.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
bash scripts/install-chromium.sh || status=$?
if [ "$status" = 3 ]; then
  echo "e2e: SKIPPED the browser tests (Chromium is not installed; see above)." >&2
  exit 0
elif [ "$status" != 0 ]; then
  exit "$status"
fi
npx jest --ci --roots '<rootDir>/packages/cli' --testMatch '**/*.e2e.ts' "$@"
