#!/usr/bin/env bash
# Benchmarks agent_vault against the original SDK's pyrage path in its own
# venv (.venv-bench). Needs `make build` first. Arguments go to bench.py.
set -euo pipefail
cd "$(dirname "$0")"

python="${PYTHON:-python3}"
if [ ! -f src/agent_vault/agent_vault.wasm ]; then
	echo "bench.sh: src/agent_vault/agent_vault.wasm is missing: run 'make build' first" >&2
	exit 1
fi
if [ ! -x .venv-bench/bin/python ]; then
	"$python" -m venv .venv-bench
fi
stamp=.venv-bench/.agent-vault-installed
want="$(cat requirements-bench.txt pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
	.venv-bench/bin/python -m pip install -q --disable-pip-version-check -r requirements-bench.txt
	.venv-bench/bin/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	echo "$want" >"$stamp"
fi
# pip byte-compiles a regular install; an editable one runs from source,
# which PYTHONDONTWRITEBYTECODE would recompile in every timed process.
.venv-bench/bin/python -m compileall -q src/agent_vault
exec .venv-bench/bin/python bench.py "$@"
