#!/usr/bin/env bash
# `npm test`: everything from a fresh clone with only Node and npm installed.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "install (pnpm, frozen lockfile)"
bash scripts/pnpm.sh install --frozen-lockfile

step "build and type-check"
bash scripts/build.sh

step "unit, property and integration tests (jest)"
npx jest --ci "$@"
