"""Reads a vault through a Python agent-vault package and compares what it
sees with the expectations on standard input (JSON). The same file serves
the original agent-vault-sdk 0.1.0 and this repository's binding: it uses
only the API both share, Vault(repo_path, key_path=...), .get(name) and
.list_secrets(), and tells errors apart by class name.

Usage: python read_vault.py REPO KEY < expectations.json
  {"values": {"name": "value"}, "denied": [...], "missing": [...], "names": [...]}
"""

import json
import sys

from agent_vault import Vault


def error_names(e):
    return {c.__name__ for c in type(e).__mro__}


def main():
    repo, key = sys.argv[1], sys.argv[2]
    spec = json.load(sys.stdin)
    vault = Vault(repo, key_path=key)
    failures = []
    for name, want in spec.get("values", {}).items():
        try:
            got = vault.get(name)
        except Exception as e:  # reported, never raised: one run checks all
            failures.append(f"get {name}: {type(e).__name__}: {e}")
            continue
        if got != want:
            failures.append(f"get {name}: got {len(got)} chars, not the value set")
    for kind, error in (("denied", "NotAuthorizedError"), ("missing", "SecretNotFoundError")):
        for name in spec.get(kind, []):
            try:
                vault.get(name)
                failures.append(f"get {name}: succeeded, want {error}")
            except Exception as e:
                if error not in error_names(e):
                    failures.append(f"get {name}: {type(e).__name__}, want {error}")
    if "names" in spec:
        # Every secret's metadata: ours lists only what the key can read
        # unless asked for all; the original has no such option.
        try:
            listed = vault.list_secrets(all=True)
        except TypeError:
            listed = vault.list_secrets()
        names = sorted(m.name for m in listed)
        if names != sorted(spec["names"]):
            failures.append(f"list_secrets: {names}, want {sorted(spec['names'])}")
    for f in failures:
        print(f"  {f}")
    sys.exit(1 if failures else 0)


main()
