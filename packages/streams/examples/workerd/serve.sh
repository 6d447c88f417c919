#!/usr/bin/env bash
# Serves the workerd example on 127.0.0.1:${PORT:-8080}: bundles worker.js with esbuild into a
# temporary directory, then runs workerd (from PATH, e.g. `PATH="$(bash scripts/runtimes.sh):$PATH"`).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
(cd "$here/../.." && npx esbuild examples/workerd/worker.js --bundle --format=esm --platform=neutral \
  --main-fields=module,main --log-level=warning --outfile="$dir/worker.bundle.js")
cp "$here/config.capnp" "$dir/"
cd "$dir"
workerd serve config.capnp --experimental --socket-addr "tcp=127.0.0.1:${PORT:-8080}" &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$dir"' EXIT TERM INT
wait "$pid"
