#!/usr/bin/env bash
# End-to-end MCP tests: the official MCP TypeScript SDK client drives
# bin/agent-vault-mcp and `bin/agent-vault mcp` over stdio, with the exact
# configuration snippets of the README; and the cross-reader test, which
# holds the CLI, the MCP server, the Python and the Node package to the same
# answers. Run `make build` first (make test-mcp does).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

for bin in agent-vault agent-vault-mcp; do
  if [ ! -x "$root/bin/$bin" ]; then
    echo "tests/mcp: missing $root/bin/$bin; run 'make build' first" >&2
    exit 1
  fi
done

need=()
command -v git >/dev/null || need+=(git)
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
  echo "tests/mcp: installing ${need[*]}" >&2
  apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null
fi


# The cross-reader test drives the Python and Node packages too.
"$root/bindings/python/venv.sh"
npm_ci() {
  local dir="$1" stamp="$1/node_modules/.agent-vault-lock.sha256" want
  want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" > "$stamp"
  fi
}
npm_ci "$here"
npm_ci "$root/bindings/node"

cd "$here"

exec node --test --test-reporter=spec test/*.test.mjs
