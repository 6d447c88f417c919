#!/usr/bin/env bash
# `npm run conformance:peers`: the full suite against `ws` (its devDependency version) as a server, with
# its default options and with permessage-deflate, through the testkit; writes
# reports/conformance/peers/ws-{default,deflate}.{md,json}. A deliberate command: npm test never runs it.
# The two run at once; the default one takes about a minute, the deflate one 19.5 min on 2 cores at
# load 5-9 (it did not finish within 60 min at load 15+): nearly all of it is 12.2-12.5 (1000 echoes of up to
# 128 KiB in 256-byte frames per case), where ws inflates every frame through an asynchronous zlib call
# (a thread-pool round trip per frame) and the suite waits for each echo before sending the next. Hence
# the long --timeout. Arguments go to both runs (e.g. --cases 1.* to try it quickly; a later --timeout wins).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || bash scripts/pnpm.sh install --frozen-lockfile
npx tsc -b packages/testkit
out=${CONFORMANCE_OUT:-${TMPDIR:-/tmp}/rfc6455-conformance}/peers
version=$(node -p "require('./conformance/node_modules/ws/package.json').version")
testkit=packages/testkit/dist/main.js
node "$testkit" install
mkdir -p "$out"
pids=()
for variant in default deflate; do
  flag=""
  [ "$variant" = deflate ] && flag=" --deflate"
  node "$testkit" server ws://127.0.0.1:0 --start "node conformance/peers/ws-echo-server.mjs$flag" \
    --agent "ws-$version-$variant" --out "$out/ws-$variant" --timeout 180 "$@" >"$out-ws-$variant.log" 2>&1 &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=$?; done
for variant in default deflate; do
  tail -n 3 "$out-ws-$variant.log"
  if [ -f "$out/ws-$variant/summary.json" ]; then
    cp "$out/ws-$variant/summary.md" "reports/conformance/peers/ws-$variant.md"
    cp "$out/ws-$variant/summary.json" "reports/conformance/peers/ws-$variant.json"
  fi
done
echo "peers: wrote reports/conformance/peers/ (the testkit's verdicts exit $status: ws is judged by our rules)"
