#!/usr/bin/env bash
# Builds the module and the CLI, installs the pinned npm packages, and runs
# the side-by-side Node benchmark (agent-vault vs age-encryption).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$here"
npm ci --no-audit --no-fund --loglevel=error
make -C "$root" --no-print-directory wasm bindings/node/agent_vault.wasm bindings/node/shared/glue.js cli
exec node bench.mjs "$@"
