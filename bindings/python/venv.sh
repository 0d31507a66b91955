#!/usr/bin/env bash
# Makes bindings/python/.venv from nothing: the pinned test tools and this
# package (editable). Re-runs are quick: it reinstalls only when the pins or
# the package metadata change. Used by test.sh and the demo.
set -euo pipefail
cd "$(dirname "$0")"
python="${PYTHON:-python3}"

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

