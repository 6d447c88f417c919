#!/usr/bin/env bash
# `npm run conformance`: builds the testees and runs Autobahn|Testsuite against them
# (conformance/src/run.ts). Backend: Docker when `docker info` works, else the PyPI suite under Python 2.7.
# Environment: CONFORMANCE=required (fail without a backend; CI=true does the same), CONFORMANCE=skip,
# CONFORMANCE_BACKEND=docker|pip, CONFORMANCE_TIMEOUT_MINUTES (per mode, default 60).
# Arguments go to the runner, e.g. `--cases 1.*,2.*` for a quick partial run.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || bash scripts/pnpm.sh install --frozen-lockfile
npx tsc -b conformance
exec node conformance/dist/src/run.js "$@"
