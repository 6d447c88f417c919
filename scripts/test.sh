#!/usr/bin/env bash
# `npm test`: everything, from a fresh clone with only Node and npm installed.
# Extra arguments go to the Jest step (e.g. `npm test -- packages/codec`).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }
started=$SECONDS

step "install (pnpm, frozen lockfile)"
bash scripts/pnpm.sh install --frozen-lockfile

step "build and type-check"
bash scripts/build.sh

step "format and lint (Prettier, ESLint with type information)"
bash scripts/lint.sh

step "unit, property and integration tests (jest)"
npx jest --ci "$@"

step "soak, short (200 connections, 20 s: nothing lost, heap flat)"
node packages/bench/src/soak.mjs --connections 200 --seconds 20

step "browser end-to-end tests (headless Chromium; installs Debian's chromium when it may)"
bash scripts/e2e.sh

step "conformance (Autobahn|Testsuite, server and client modes at once)"
bash scripts/conformance.sh

step "npm test passed in $((SECONDS - started)) s"
