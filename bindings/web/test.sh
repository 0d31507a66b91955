#!/usr/bin/env bash
# Runs the browser page's test suite in Debian's Chromium. Installs what it
# needs on a fresh machine (chromium via apt, playwright-core and the WASI
# shim via npm ci) and never downloads a browser build.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

# Chromium, and a font so screenshots are legible.
if [ ! -x /usr/bin/chromium ] || ! dpkg -s fonts-dejavu-core >/dev/null 2>&1; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y chromium fonts-dejavu-core
fi

# The module the page loads; a no-op when make build already copied it.
make -C "$root" --no-print-directory bindings/web/agent_vault.wasm

cd "$here"
npm ci --no-audit --no-fund --loglevel=error
node --test test/web.test.js
