#!/usr/bin/env bash
# Makes a venv from nothing: the pinned test tools, one wasmtime version and
# this package (editable). Usage: venv.sh [DIR [WASMTIME_VERSION]], default
# .venv with the newest wasmtime the package is tested with. Re-runs are
# quick: it reinstalls only when the pins or the package metadata change.
# Used by test.sh, bench.sh and the demo.
set -euo pipefail
cd "$(dirname "$0")"
python="${PYTHON:-python3}"
venv="${1:-.venv}"
wasmtime="${2:-50.0.1}"

if [ ! -x "$venv/bin/python" ]; then
	if ! "$python" -m venv "$venv" >/dev/null 2>&1; then
		rm -rf "$venv"
		apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
		"$python" -m venv "$venv"
	fi
fi

stamp="$venv/.agent-vault-installed"
want="$( (cat requirements-test.txt pyproject.toml; echo "wasmtime==$wasmtime") | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
	pip="$venv/bin/python -m pip install -q --disable-pip-version-check"
	$pip -r requirements-test.txt "wasmtime==$wasmtime"
	$pip --no-deps --no-build-isolation -e .
	echo "$want" >"$stamp"
fi
