#!/usr/bin/env bash
# `npm run conformance`: builds the testkit and the testees, then runs every cell of conformance/matrix.json
# through `rfc6455-testkit`, two at a time (conformance/src/driver.ts). Reports go outside the checkout
# ($TMPDIR/rfc6455-conformance/<cell>/); `-- --update` copies the summaries to reports/conformance/ and
# rewrites the README's matrix. Other arguments: `--cell id[,id]`, `--cases 1.*,2.*` (development).
# Backend: Docker when `docker info` works, else the PyPI suite under Python 2.7.
# Environment: CONFORMANCE=required (fail without a backend; CI=true does the same), CONFORMANCE=skip,
# CONFORMANCE_BACKEND=docker|pip, CONFORMANCE_TIMEOUT_MINUTES (per cell, default 60), CONFORMANCE_OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || bash scripts/pnpm.sh install --frozen-lockfile
npx tsc -b packages/testkit conformance
exec node conformance/dist/src/driver.js "$@"
