#!/usr/bin/env bash
# Copies the pinned npm releases the pages and the tests embed into the
# committed tree: htmx into crates/server/assets (embedded in the binary),
# axe-core into vendor/ (injected by the journeys). Run after changing
# package.json, then commit the lockfile and the copies.
set -euo pipefail
cd "$(dirname "$0")"
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent
cp node_modules/htmx.org/dist/htmx.min.js ../../assets/htmx.min.js
cp node_modules/axe-core/axe.min.js vendor/axe.min.js
