#!/usr/bin/env bash
# Makes sure Debian's chromium is installed for the browser tests (scripts/e2e.sh).
#   exit 0: chromium is at $CHROMIUM_PATH (default /usr/bin/chromium), found or just installed
#   exit 1: it is missing and could not be installed (always the outcome in CI when installing fails)
#   exit 3: it is missing and this is not CI nor root: how to install it is printed, nothing is done
set -euo pipefail
path="${CHROMIUM_PATH:-/usr/bin/chromium}"
[ -x "$path" ] && exit 0

say() { printf '%s\n' "$*" >&2; }
install() {
  say "install-chromium: $path is missing; installing Debian's chromium package with apt-get"
  "$@" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "$@" apt-get install -y -qq --no-install-recommends chromium
}

if ! command -v apt-get >/dev/null; then
  say "install-chromium: $path is missing and apt-get is not available; install Chromium and set CHROMIUM_PATH"
  exit 1
fi
if [ "$(id -u)" = 0 ]; then
  install
elif [ "${CI:-}" = true ] && command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  install sudo -n env DEBIAN_FRONTEND=noninteractive
elif [ "${CI:-}" = true ]; then
  say "install-chromium: CI needs $path, but this user is not root and has no password-less sudo"
  exit 1
else
  say ''
  say '************************************************************************'
  say "  $path is missing: the browser tests cannot run."
  say '  Install it with:  sudo apt-get update && sudo apt-get install -y chromium'
  say '  (or point CHROMIUM_PATH at a Chromium or Chrome binary)'
  say '************************************************************************'
  say ''
  exit 3
fi
if [ ! -x "$path" ]; then
  say "install-chromium: installed the chromium package, but $path is still missing"
  exit 1
fi
say "install-chromium: $("$path" --version 2>/dev/null || echo chromium) installed"
