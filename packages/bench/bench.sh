#!/usr/bin/env bash
# `npm run bench` and `pnpm bench:codec` from a fresh clone: install when needed, build the
# packages the benchmark imports, then run it. Arguments go to the benchmark:
#   bash packages/bench/bench.sh [--quick] [--profile SCENARIO] ...   (servers: packages/bench/src/bench.ts; a whole
#                                                                      run also runs codec, h2 and broadcast below)
#   bash packages/bench/bench.sh codec [--quick]                      (codec: packages/bench/src/codec-bench.ts)
#   bash packages/bench/bench.sh h2 [--rounds N] [--duration SEC]     (RFC 8441 vs HTTP/1.1: packages/bench/src/h2-bench.ts)
#   bash packages/bench/bench.sh broadcast [--quick] [--subscribers 1000,10000]
#                                                                     (topics vs ws, Redis: packages/bench/src/broadcast-bench.ts)
#   bash packages/bench/bench.sh redis-clients [--publishes N] [--rounds R]
#                                                                     (ioredis vs redis: packages/bench/src/redis-clients-bench.ts)
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -d node_modules/.pnpm ]; then
  bash scripts/pnpm.sh install --frozen-lockfile
fi
# The benchmark runs built code (dist): its own and the packages it measures, as users would run
# them; tsc -b builds the codec and node first (project references).
npx tsc -b packages/bench
# The broadcast part's Redis rows start Debian's redis-server (on a free loopback port, stopped by PID).
bash scripts/install-redis.sh || echo "bench: no redis-server; the broadcast part will fail its Redis rows" >&2
# 2,000 connections on each side of the memory scenario need more descriptors than some defaults.
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 8192 ]; then
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
fi
if [ "${1:-}" = h2 ]; then
  shift
  exec node packages/bench/dist/h2-bench.js "$@"
fi
if [ "${1:-}" = broadcast ]; then
  shift
  exec node packages/bench/dist/broadcast-bench.js "$@"
fi
if [ "${1:-}" = redis-clients ]; then
  shift
  exec node packages/bench/dist/redis-clients-bench.js "$@"
fi
if [ "${1:-}" = codec ]; then
  shift
  exec node packages/bench/dist/codec-bench.js "$@"
fi
exec node packages/bench/dist/bench.js "$@"
