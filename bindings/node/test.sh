#!/usr/bin/env bash
# Runs the Node package's test suite from a clean machine: installs the
# pinned npm dependencies, builds the WebAssembly module and the CLI, copies
# the shared glue in, finds the CCTV age vectors, then runs node's test runner.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$here"

for tool in node npm git go make; do
  command -v "$tool" >/dev/null || { echo "test.sh: $tool is required but not installed" >&2; exit 1; }
done
# The package is an ES module that require() loads too (Node 20.19, 22.12).
if [ "$(node -p 'process.features.require_module === true')" != true ]; then
  echo "test.sh: Node ^20.19 or >= 22.12 is required (found $(node --version))" >&2
  exit 1
fi

npm ci --no-audit --no-fund --loglevel=error

make -C "$root" --no-print-directory wasm bindings/node/agent_vault.wasm bindings/node/shared/glue.js cli

# The CCTV vectors are a Go module; download it if the module cache lacks it.
(cd "$root" && go mod download c2sp.org/CCTV/age)
CCTV_AGE_DIR="$(cd "$root" && go list -m -f '{{.Dir}}' c2sp.org/CCTV/age)"
export CCTV_AGE_DIR

unset AGENT_VAULT_KEY NODE_OPTIONS
exec node --test test/
