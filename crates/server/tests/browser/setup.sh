#!/usr/bin/env bash
# What the browser journeys (crates/server/tests/web_browser.rs) need:
# Debian's chromium (never a browser downloaded by a tool), CJK fonts so that
# the Chinese pages render, and the pinned npm packages of package-lock.json.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
fi
if command -v npm >/dev/null 2>&1 && [ ! -d node_modules/playwright-core ]; then
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent
fi
