#!/usr/bin/env bash
# Runs the Python binding's tests from nothing: makes .venv, installs the
# pinned test tools and this package (editable), then runs pytest. Extra
# arguments go to pytest. Needs `make build` first (the .wasm and the CLI).
set -euo pipefail
cd "$(dirname "$0")"

python="${PYTHON:-python3}"
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

if [ ! -x .venv/bin/python ]; then
	if ! "$python" -m venv .venv >/dev/null 2>&1; then
		rm -rf .venv
		apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
		"$python" -m venv .venv
	fi
fi

# Reinstall only when the pins or the package metadata change.
stamp=.venv/.agent-vault-installed
want="$(cat requirements-test.txt pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
	.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-test.txt
	.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	echo "$want" >"$stamp"
fi

exec .venv/bin/python -m pytest "$@"
