#!/usr/bin/env bash
# One formatter, one type-aware linter and the import-cycle check, so style is never a review topic.
set -euo pipefail
cd "$(dirname "$0")/.."
npx prettier --check --log-level warn 'packages/*/src/**/*.{ts,mjs}' 'packages/*/examples/**/*.{ts,js}' 'conformance/src/**/*.ts' 'conformance/testees/**/*.ts' 'scripts/**/*.js'
npx eslint --config scripts/eslint.config.js --max-warnings 0 'packages/*/src/**/*.ts' 'conformance/src/**/*.ts' 'conformance/testees/**/*.ts'
node scripts/check-cycles.js
