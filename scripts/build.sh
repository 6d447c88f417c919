#!/usr/bin/env bash
# Type-checks and builds every TypeScript project (tsc -b follows project references),
# then type-checks the tests, which the build leaves out.
set -euo pipefail
cd "$(dirname "$0")/.."
projects=()
for dir in packages/codec packages/codec/examples packages/test-support packages/node packages/redis packages/streams packages/cli packages/bench packages/testkit conformance; do
  [ -f "$dir/tsconfig.json" ] && projects+=("$dir")
done
npx tsc -b "${projects[@]}"
for dir in packages/codec packages/codec/examples packages/test-support packages/node packages/redis packages/streams packages/cli packages/bench packages/testkit conformance; do
  if [ -f "$dir/tsconfig.test.json" ]; then
    npx tsc -p "$dir/tsconfig.test.json"
  fi
done
