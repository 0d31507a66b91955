#!/usr/bin/env bash
# Runs the Python binding's tests from nothing: a venv per wasmtime version
# (venv.sh), then pytest. The whole suite runs under the newest wasmtime on
# PyPI that the package is tested with; the one before runs the vectors and
# the runtime tests. Extra arguments go to both pytest runs. Needs
# `make build` first (the .wasm and the CLI).
set -euo pipefail
cd "$(dirname "$0")"

# The newest wasmtime and the one before it (`pip index versions wasmtime`).
NEWEST=50.0.1
PREVIOUS=49.0.0

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

./venv.sh .venv "$NEWEST"
./venv.sh .venv-wasmtime-previous "$PREVIOUS"

echo "test.sh: wasmtime $PREVIOUS: vectors and runtime" >&2
.venv-wasmtime-previous/bin/python -m pytest -q tests/test_vectors.py tests/test_runtime.py "$@"
echo "test.sh: wasmtime $NEWEST: the whole suite" >&2
exec .venv/bin/python -m pytest "$@"
