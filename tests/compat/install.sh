#!/usr/bin/env bash
# Installs the original Rust agent-vault 0.1.0 for the compatibility suite,
# into a cache directory that survives between runs:
#   $cache/cargo/bin/agent-vault   the CLI (cargo install, from crates.io)
#   $cache/orig-python/            a venv holding agent-vault-sdk 0.1.0 (PyPI)
#   $cache/node-sdk/               the Node SDK from the crate's own source,
#                                  its pinned dependencies (npm ci) and its build
# Each part is reinstalled only when missing. The cache is
# $AGENT_VAULT_COMPAT_CACHE, by default ~/.cache/agent-vault-compat. Nothing
# is ever skipped: a missing tool or an unreachable registry fails the run.
set -euo pipefail

cache="${AGENT_VAULT_COMPAT_CACHE:-$HOME/.cache/agent-vault-compat}"
version=0.1.0
mkdir -p "$cache"

die() {
	echo "compat: $*" >&2
	exit 1
}

seconds() { date +%s; }

cargo="$(command -v cargo || true)"
[ -n "$cargo" ] || cargo="${CARGO_HOME:-$HOME/.cargo}/bin/cargo"
[ -x "$cargo" ] || die "cargo is needed to install the original agent-vault $version (install Rust: https://rustup.rs), not found on PATH or in ~/.cargo/bin"
for tool in python3 node npm git; do
	command -v "$tool" >/dev/null || die "$tool is needed by the compatibility suite but is not installed"
done

# The original CLI. cargo records what it installed in .crates2.json.
if ! grep -q "\"agent-vault $version " "$cache/cargo/.crates2.json" 2>/dev/null || [ ! -x "$cache/cargo/bin/agent-vault" ]; then
	echo "compat: installing the original agent-vault $version with cargo (takes minutes the first time)"
	start=$(seconds)
	if ! "$cargo" install agent-vault --version "$version" --locked --root "$cache/cargo" --quiet; then
		die "cargo install agent-vault --version $version failed: is crates.io reachable? (see the cargo output above)"
	fi
	echo "compat: cargo install took $(($(seconds) - start)) s"
fi

# The crate's source, which holds the Node SDK. cargo unpacks it under its
# registry when installing; a cached binary without it needs one more fetch.
crate_src() {
	ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/agent-vault-"$version" 2>/dev/null | head -n 1
}

if [ ! -f "$cache/node-sdk/dist/index.js" ]; then
	src="$(crate_src)"
	if [ -z "$src" ]; then
		echo "compat: fetching the agent-vault $version crate source for its Node SDK"
		"$cargo" install agent-vault --version "$version" --locked --root "$cache/cargo" --force --quiet ||
			die "cargo could not fetch the agent-vault $version crate: is crates.io reachable?"
		src="$(crate_src)"
		[ -n "$src" ] || die "the agent-vault $version crate source is not in the cargo registry after install"
	fi
	[ -f "$src/node-sdk/package-lock.json" ] || die "$src/node-sdk has no package-lock.json"
	echo "compat: installing the original Node SDK's pinned dependencies (npm ci) and building it"
	start=$(seconds)
	rm -rf "$cache/node-sdk.tmp"
	cp -R "$src/node-sdk" "$cache/node-sdk.tmp"
	(cd "$cache/node-sdk.tmp" && npm ci --no-audit --no-fund --loglevel=error && npx --no-install tsc) ||
		die "the original Node SDK did not install or build: is the npm registry reachable?"
	rm -rf "$cache/node-sdk"
	mv "$cache/node-sdk.tmp" "$cache/node-sdk"
	echo "compat: Node SDK ready in $(($(seconds) - start)) s"
fi

# The original Python SDK, in a venv of its own: it is imported as
# agent_vault, the same name as this repository's binding.
py="$cache/orig-python/bin/python"
if ! "$py" -c 'import importlib.metadata as m, sys; sys.exit(m.version("agent-vault-sdk") != "'"$version"'")' 2>/dev/null; then
	echo "compat: installing agent-vault-sdk $version from PyPI into its own venv"
	start=$(seconds)
	rm -rf "$cache/orig-python"
	python3 -m venv "$cache/orig-python" || die "python3 -m venv failed (install python3-venv)"
	"$py" -m pip install -q --disable-pip-version-check "agent-vault-sdk==$version" ||
		die "pip install agent-vault-sdk==$version failed: is PyPI reachable?"
	echo "compat: Python SDK ready in $(($(seconds) - start)) s"
fi
