#!/usr/bin/env bash
# `npm run conformance:peers`: the full suite against `ws` (its devDependency version) as a server, with
# its default options and with permessage-deflate, through the testkit; writes
# reports/conformance/peers/ws-{default,deflate}.{md,json}. A deliberate command (about 20 min, the two
# at once): npm test never runs it. Arguments go to both runs (e.g. --cases 1.* to try it quickly).
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
    --agent "ws-$version-$variant" --out "$out/ws-$variant" "$@" >"$out-ws-$variant.log" 2>&1 &
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
