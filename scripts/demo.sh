#!/usr/bin/env bash
# A throwaway end-to-end demo: a vault in a local Git repo with a bare
# remote, an owner and an agent, in a temporary HOME so your real
# ~/.agent-vault is never touched.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
av="$root/bin/agent-vault"
work=$(mktemp -d "${TMPDIR:-/tmp}/agent-vault-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
export HOME="$work/home" GIT_CONFIG_NOSYSTEM=1
mkdir -p "$HOME"
git config --global user.name "Demo Owner"
git config --global user.email "owner@example.com"
git config --global init.defaultBranch main

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { step "$*"; "$@"; }

run git init --quiet --bare "$work/secrets.git"
run git clone --quiet "$work/secrets.git" "$work/secrets"
cd "$work/secrets"

run "$av" init
run "$av" add-agent billing-agent
step "printf %s 'sk_test_demo_4eC39HqLyjWDarjtT1zdp7dc' | agent-vault set stripe/api-key -"
printf %s 'sk_test_demo_4eC39HqLyjWDarjtT1zdp7dc' | "$av" set stripe/api-key -
run "$av" set postgres/conn 'postgres://app:demo@localhost/app' --expires 2030-01-01
run "$av" grant billing-agent stripe
run "$av" list
run git push --quiet -u origin main

step "AGENT_VAULT_KEY=~/.agent-vault/agents/billing-agent.key agent-vault get stripe/api-key"
AGENT_VAULT_KEY="$HOME/.agent-vault/agents/billing-agent.key" "$av" get stripe/api-key; echo

step "the same read from Python, through the WebAssembly build of the same core"
"$root/bindings/python/venv.sh"
"$root/bindings/python/.venv/bin/python" - "$work/secrets" "$HOME/.agent-vault/agents/billing-agent.key" <<'PY'
import sys
from agent_vault import Vault
with Vault(repo_path=sys.argv[1], key_path=sys.argv[2]) as vault:
    print("python:", vault.get("stripe/api-key"))
    print("python: listed", [m.name for m in vault.list_secrets()])
PY

step "the agent asks for a secret outside its groups"
if AGENT_VAULT_KEY="$HOME/.agent-vault/agents/billing-agent.key" "$av" get postgres/conn; then
	echo "unexpected: the agent read postgres/conn" >&2; exit 1
fi

run "$av" revoke billing-agent stripe
step "after the revoke, the agent's key no longer opens stripe/api-key"
if AGENT_VAULT_KEY="$HOME/.agent-vault/agents/billing-agent.key" "$av" get stripe/api-key; then
	echo "unexpected: the revoked agent still reads the secret" >&2; exit 1
fi
run "$av" check || true
run git push --quiet
step "git log --oneline   (the remote holds only ciphertext, public keys and policy)"
git log --oneline
step "git ls-tree -r --name-only origin/main"
git ls-tree -r --name-only origin/main
printf '\nDemo finished; the throwaway vault in %s is removed.\n' "$work"
