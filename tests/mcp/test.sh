#!/usr/bin/env bash
# End-to-end MCP tests: the official MCP TypeScript SDK client drives
# bin/agent-vault-mcp and `bin/agent-vault mcp` over stdio, with the exact
# configuration snippets of the README. Run `make build` first (make test-mcp
# does).
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

cd "$here"
# npm ci wipes node_modules; only run it when the lockfile changed.
stamp=node_modules/.agent-vault-lock.sha256
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi

exec node --test --test-reporter=spec test/*.test.mjs
