#!/usr/bin/env bash
# Runs every benchmark side by side and writes build/bench/report.md; what
# `make bench` runs after `make build`. docs/BENCHMARKS.md explains the
# figures. Sections:
#   1-5  tests/bench/cmd/avbench: gets against recipients on every path
#        (Go native, wazero, Python, Node, and the try-every-stanza
#        libraries), X25519 work against the floor (1b), cold starts, bulk
#        owner operations in process and through the CLI with Git under
#        taskset (3b), a large vault
#   6    the module: compile with and without the cache, instantiate
#   7-8  the Python and Node bindings' own benchmarks (bench.sh in each)
# Arguments go to avbench (for example --quick to check the harness, or
# --sections get,floors,cold,bulk,clibulk,large). BENCH_WAIT is how long
# to wait for a binding's bench.sh to appear (default 0 seconds). Exits
# non-zero if anything fails.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out=build/bench
mkdir -p "$out"

if [ ! -x bin/agent-vault ] || [ ! -f build/agent_vault.wasm ]; then
	make --no-print-directory build
fi
# GNU time measures the peak memory of the bulk commands, strace their
# system calls.
need=()
[ -x /usr/bin/time ] || need+=(time)
command -v strace >/dev/null 2>&1 || need+=(strace)
if [ ${#need[@]} -gt 0 ]; then
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# wait_for prints the path once it exists, or nothing after BENCH_WAIT s.
wait_for() {
	local waited=0
	while [ ! -f "$1" ] && [ "$waited" -lt "${BENCH_WAIT:-0}" ]; do
		sleep 10
		waited=$((waited + 10))
	done
	[ -f "$1" ] && echo "$1" || true
}

# The bindings' benchmarks also install their pinned environments (the venv
# with wasmtime and pyrage, node_modules with age-encryption), which
# avbench then uses for its own Python and Node figures.
run_binding() { # name dir
	local script
	script="$(wait_for "$2/bench.sh")"
	if [ -z "$script" ]; then
		echo "$2/bench.sh does not exist yet: not measured." >"$out/$1.md"
		echo "bench.sh: $2/bench.sh is missing; its section is left out" >&2
		return
	fi
	echo "bench.sh: running $script ..." >&2
	"$script" >"$out/$1.raw"
	# Keep the report, from its first line ("Python 3...", "Node v20..."),
	# without the install and build chatter before it.
	awk 'found || /^(Python|Node) v?[0-9]/ {found = 1; print}' "$out/$1.raw" >"$out/$1.md"
	[ -s "$out/$1.md" ] || cp "$out/$1.raw" "$out/$1.md"
}
run_binding python bindings/python
run_binding node bindings/node

py=bindings/python/.venv-bench/bin/python
args=()
[ -x "$py" ] && args+=(-python "$py")
[ -d bindings/node/node_modules/age-encryption ] && args+=(-node-dir bindings/node)

echo "bench.sh: running avbench ..." >&2
go run ./tests/bench/cmd/avbench -root . "${args[@]}" -out "$out/avbench.md" "$@"

echo "bench.sh: module compile and instantiate ..." >&2
go test -run '^$' -bench 'Module' -benchtime=20x -count=1 ./tests/bench >"$out/module.txt"

{
	echo "# agent-vault benchmarks"
	echo
	echo "Command: \`make bench\` (scripts/bench.sh $*)"
	echo
	cat "$out/avbench.md"
	echo
	echo "## 6. The module"
	echo
	awk -v size="$(stat -c %s build/agent_vault.wasm)" '/compile\/cold/ {cold=$3} /compile\/cached/ {cached=$3} /instantiate/ {inst=$3}
		END {
			printf "- size: %.1f MiB (build/agent_vault.wasm)\n", size / 1048576
			printf "- compile under wazero, cold: %.0f ms; from the compilation cache: %.0f ms (%.0f× faster)\n", cold / 1e6, cached / 1e6, cold / cached
			printf "- instantiate (Go runtime and package initialisation): %.1f ms, %.1f%% of a cached compile\n", inst / 1e6, 100 * inst / cached
		}' "$out/module.txt"
	echo
	echo "## 7. Python binding (bindings/python/bench.sh)"
	echo
	cat "$out/python.md"
	echo
	echo "## 8. Node binding (bindings/node/bench.sh)"
	echo
	cat "$out/node.md"
} >"$out/report.md"
echo "bench.sh: report written to $out/report.md" >&2
