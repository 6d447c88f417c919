#!/usr/bin/env bash
# Runs the pinned pnpm (packageManager in package.json) without needing it installed:
# npm's own exec cache fetches it once from the registry.
set -euo pipefail
version=$(node -p 'require("./package.json").packageManager.split("@")[1]')
exec npm exec --yes --package="pnpm@${version}" -- pnpm "$@"
