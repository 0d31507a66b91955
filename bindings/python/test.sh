#!/usr/bin/env bash
# Runs the Python binding's tests from nothing: makes .venv, installs the
# pinned test tools and this package (editable), then runs pytest. Extra
# arguments go to pytest. Needs `make build` first (the .wasm and the CLI).
set -euo pipefail
cd "$(dirname "$0")"

wasm=src/agent_vault/agent_vault.wasm
if [ ! -f "$wasm" ]; then
	echo "test.sh: $wasm is missing: run 'make build' at the repository root" >&2
	exit 1
fi

# git (with git daemon) drives the sync tests; go locates the age vectors.
if ! command -v git >/dev/null; then
	apt-get update -qq && apt-get install -y -qq git >/dev/null
fi
if ! command -v go >/dev/null; then
	echo "test.sh: go is needed to locate the c2sp.org/CCTV/age vectors" >&2
	exit 1
fi

./venv.sh

exec .venv/bin/python -m pytest "$@"
