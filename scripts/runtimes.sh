#!/usr/bin/env bash
# Installs the pinned Bun, Deno and workerd from the npm registry (each is one binary inside a registry
# package) into ${XDG_CACHE_HOME:-$HOME/.cache}/rfc6455/runtimes/<package>-<version>/ and prints ONE
# directory holding `bun`, `deno` and `workerd` executables, for the front of PATH:
#   PATH="$(bash scripts/runtimes.sh):$PATH"
# Idempotent (a cached runtime costs nothing), safe when two runs start at once (each installs into a
# private temporary directory and renames it into place), and it checks every tarball's sha512.
# Bun needs AVX2; on a CPU without it the `-baseline` build is installed (RFC6455_BUN_BASELINE=1 forces it).
# Only stdout is the directory; progress and errors go to stderr.
set -euo pipefail

BUN_VERSION=1.4.5
DENO_VERSION=2.9.6
WORKERD_VERSION=1.20261201.1
# From `npm view <package>@<version> dist.integrity`.
BUN_INTEGRITY=sha512-IWX9BELoGHAUtMonkeSaNaZwXzRk+oDw6Mk+HBFXd3KHYIBNBsIGRupMZPcgNoDbJpLu6gAJjIoIVPZtt1aJ1g==
BUN_BASELINE_INTEGRITY=sha512-s8yMwYcFnnrA178gji0gZbkE2WVDej/Ti1x770oPfihxyRxSMNhGhiAQNXV53aDeraZxksdvKV/RAdQBCd0qPA==
DENO_INTEGRITY=sha512-3md4TKLCuzsLDmfOoC5KN7NAZaxSVkMgm64vg6foD00JBADCpYS2/5QqXfzgnP5ZQz3iLP9vBQJtEgc116OAoQ==
WORKERD_INTEGRITY=sha512-Y+ON1Pd7EFHZXu82kSHC+8/+tcBuSxGPEW0jGU6YC0xk4iY3iieHcDYe9vQDD/NulBZDNqN4eOKJHj8SVR5plQ==

say() { printf '[runtimes] %s\n' "$*" >&2; }
die() {
  say "ERROR: $*"
  exit 1
}

if [ "$(uname -s)-$(uname -m)" != Linux-x86_64 ]; then
  die "these pinned runtimes are the linux-x64 builds; this is $(uname -s)-$(uname -m)"
fi
command -v npm > /dev/null || die "npm is needed to fetch the runtimes from the npm registry"

root="${XDG_CACHE_HOME:-$HOME/.cache}/rfc6455/runtimes"
mkdir -p "$root"

if [ "${RFC6455_BUN_BASELINE:-}" = 1 ] || ! grep -qw avx2 /proc/cpuinfo; then
  bun_package=@oven/bun-linux-x64-baseline
  bun_integrity=$BUN_BASELINE_INTEGRITY
else
  bun_package=@oven/bun-linux-x64
  bun_integrity=$BUN_INTEGRITY
fi

# install PACKAGE VERSION INTEGRITY PATH-OF-THE-BINARY-IN-THE-TARBALL NAME: prints the binary's path.
install() {
  local package=$1 version=$2 integrity=$3 inner=$4 name=$5
  local dir="${package#@}-$version"
  dir="$root/${dir//\//-}"
  if [ ! -x "$dir/$inner" ]; then
    say "installing $package@$version into $dir"
    local tmp
    tmp=$(mktemp -d "$root/.install-XXXXXX")
    # shellcheck disable=SC2064
    trap "rm -rf '$tmp'" EXIT
    (cd "$tmp" && npm pack --silent "$package@$version" > pack.out 2> pack.err) ||
      die "npm pack $package@$version failed: $(cat "$tmp/pack.err")"
    local tarball="$tmp/$(tail -n 1 "$tmp/pack.out")"
    local actual
    actual="sha512-$(node -e 'process.stdout.write(require("crypto").createHash("sha512").update(require("fs").readFileSync(process.argv[1])).digest("base64"))' "$tarball")"
    [ "$actual" = "$integrity" ] || die "$package@$version: the tarball's sha512 is $actual, pinned $integrity"
    mkdir "$tmp/out"
    tar -xzf "$tarball" -C "$tmp/out" --strip-components=1
    [ -x "$tmp/out/$inner" ] || die "$package@$version has no executable $inner"
    # A rename is atomic: a run that loses the race keeps the winner's copy and drops its own.
    mv -T "$tmp/out" "$dir" 2> /dev/null || [ -x "$dir/$inner" ] || die "could not move $package into $dir"
    rm -rf "$tmp"
    trap - EXIT
  fi
  printf '%s\n' "$dir/$inner"
}

bun=$(install "$bun_package" "$BUN_VERSION" "$bun_integrity" bin/bun bun)
deno=$(install @deno/linux-x64-glibc "$DENO_VERSION" "$DENO_INTEGRITY" deno deno)
workerd=$(install @cloudflare/workerd-linux-64 "$WORKERD_VERSION" "$WORKERD_INTEGRITY" bin/workerd workerd)

bin="$root/bin-$(basename "$(dirname "$(dirname "$bun")")")-deno-$DENO_VERSION-workerd-$WORKERD_VERSION"
if [ ! -L "$bin/bun" ] || [ ! -L "$bin/deno" ] || [ ! -L "$bin/workerd" ]; then
  tmp=$(mktemp -d "$root/.bin-XXXXXX")
  chmod 755 "$tmp"
  ln -s "$bun" "$tmp/bun"
  ln -s "$deno" "$tmp/deno"
  ln -s "$workerd" "$tmp/workerd"
  mv -T "$tmp" "$bin" 2> /dev/null || rm -rf "$tmp"
fi
# Each binary must start here (a missing shared library or CPU feature shows now, not in a test).
for tool in bun deno workerd; do
  "$bin/$tool" --version > /dev/null 2>&1 || die "$bin/$tool does not run: $("$bin/$tool" --version 2>&1 | head -n 3)"
done
printf '%s\n' "$bin"
