#!/usr/bin/env bash
# Makes sure Debian's redis-server is installed for the Redis backplane tests (packages/redis).
#   exit 0: redis-server is at $REDIS_SERVER_PATH (default: the one on PATH, or /usr/bin/redis-server)
#   exit 1: it is missing and could not be installed (always the outcome in CI when installing fails)
#   exit 3: it is missing and this is not CI nor root: how to install it is printed, nothing is done
# Only the binary is used: the tests start their own redis-server on a free loopback port with a temporary
# directory and stop it by PID. The package's own service is not needed (it is not started here).
set -euo pipefail
path="${REDIS_SERVER_PATH:-$(command -v redis-server || echo /usr/bin/redis-server)}"
[ -x "$path" ] && exit 0

say() { printf '%s\n' "$*" >&2; }
install() {
  say "install-redis: $path is missing; installing Debian's redis-server package with apt-get"
  "$@" apt-get update -qq
  # policy-rc.d-free installs may try to start the service; that is harmless, the tests never use it.
  DEBIAN_FRONTEND=noninteractive "$@" apt-get install -y -qq --no-install-recommends redis-server
}

if ! command -v apt-get >/dev/null; then
  say "install-redis: $path is missing and apt-get is not available; install Redis and set REDIS_SERVER_PATH"
  exit 1
fi
if [ "$(id -u)" = 0 ]; then
  install
elif [ "${CI:-}" = true ] && command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  install sudo -n env DEBIAN_FRONTEND=noninteractive
elif [ "${CI:-}" = true ]; then
  say "install-redis: CI needs $path, but this user is not root and has no password-less sudo"
  exit 1
else
  say ''
  say '************************************************************************'
  say "  $path is missing: the Redis backplane tests cannot run."
  say '  Install it with:  sudo apt-get update && sudo apt-get install -y redis-server'
  say '  (or point REDIS_SERVER_PATH at a redis-server binary)'
  say '************************************************************************'
  say ''
  exit 3
fi
if [ ! -x "$path" ]; then
  say "install-redis: installed the redis-server package, but $path is still missing"
  exit 1
fi
say "install-redis: $("$path" --version 2>/dev/null || echo redis-server) installed"
