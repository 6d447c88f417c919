#!/usr/bin/env bash
# `npm test`: everything, from a fresh clone with only Node and npm installed.
# Extra arguments go to the Jest step (e.g. `npm test -- packages/codec`).
set -euo pipefail
cd "$(dirname "$0")/.."

# Each step line says how long the step before it took, so a CI log shows what each part costs.
started=$SECONDS
last=$SECONDS
step() {
  printf '\n== %s (previous step: %d s)\n' "$*" "$((SECONDS - last))"
  last=$SECONDS
}
# TEST_PART=fast runs install, build, lint and Jest; TEST_PART=slow runs install, build, the soak, the
# browsers and Autobahn. CI's workflow runs the two as separate jobs; unset, everything runs.
part=${TEST_PART:-all}
case "$part" in all | fast | slow) ;; *) echo "TEST_PART must be fast, slow or unset (got $part)" >&2; exit 2 ;; esac

step "install (pnpm, frozen lockfile)"
bash scripts/pnpm.sh install --frozen-lockfile

step "build and type-check"
bash scripts/build.sh

# Jest runs the examples on Bun and Deno, and the conformance matrix has Bun and Deno cells: install the
# pinned runtimes first (from the npm registry, cached outside the repository; a no-op once cached).
step "runtimes (pinned Bun, Deno and workerd, scripts/runtimes.sh)"
bash scripts/runtimes.sh

# Jest's backplane tests and the two-process browser test start their own redis-server.
step "redis-server (installs Debian's redis-server when it may)"
bash scripts/install-redis.sh

if [ "$part" != slow ]; then
  step "format and lint (Prettier, ESLint with type information)"
  bash scripts/lint.sh

  step "unit, property and integration tests (jest)"
  npx jest --ci "$@"
fi
if [ "$part" = fast ]; then
  step "npm test (fast part) passed in $((SECONDS - started)) s"
  exit 0
fi

step "soak, short (200 connections, 20 s: nothing lost, heap flat)"
node packages/bench/dist/soak.js --connections 200 --seconds 20

step "browser end-to-end tests (headless Chromium; installs Debian's chromium when it may)"
bash scripts/e2e.sh

step "conformance (every cell of conformance/matrix.json through the testkit, two at a time)"
bash scripts/conformance.sh

step "npm test passed in $((SECONDS - started)) s"
