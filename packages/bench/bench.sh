#!/usr/bin/env bash
# `npm run bench` and `pnpm bench:codec` from a fresh clone: install when needed, build the
# packages the benchmark imports, then run it. Arguments go to the benchmark:
#   bash packages/bench/bench.sh [--quick] [--profile SCENARIO] ...   (servers: packages/bench/src/bench.mjs)
#   bash packages/bench/bench.sh codec [--quick]                      (codec: packages/bench/src/codec-bench.mjs)
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -d node_modules/.pnpm ]; then
  bash scripts/pnpm.sh install --frozen-lockfile
fi
# The benchmark runs the built packages (dist), as users would; tsc -b builds the codec too.
npx tsc -b packages/node
# 2,000 connections on each side of the memory scenario need more descriptors than some defaults.
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 8192 ]; then
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
fi
if [ "${1:-}" = codec ]; then
  shift
  exec node packages/bench/src/codec-bench.mjs "$@"
fi
exec node packages/bench/src/bench.mjs "$@"
