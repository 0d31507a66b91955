"""The shared conformance tables (tests/vectors), one test per case.

cases.json runs on the fixture vault; hostile.json runs on deliberately
broken copies of it (symlinks, YAML bombs, damaged ciphertext, traversal
names), where every path must give the same error.

The table is read at collection time: a missing or empty table is a
collection error, so the run fails instead of passing with nothing checked.
"""

from __future__ import annotations

import os

import base64
import json
from typing import Any, Dict, List

import pytest

import agent_vault
from agent_vault import Vault

from conftest import VECTORS


def _load_table(name: str) -> Dict[str, Any]:
    with open(VECTORS / name, encoding="utf-8") as f:
        table: Dict[str, Any] = json.load(f)
    if table.get("version") != 1 or not table.get("cases"):
        raise RuntimeError(f"{VECTORS / name} has no usable cases")
    for case in table["cases"]:
        vault = VECTORS / case.get("vault", table.get("vault", ""))
        if not (vault / ".agent-vault").is_dir():
            raise RuntimeError(f"fixture vault {vault} is missing")
    return table


TABLE = _load_table("cases.json")
HOSTILE = _load_table("hostile.json")

# Every code of docs/wasm-abi.md and the exception class the binding must raise.
CLASSES = {
    "invalid_input": agent_vault.InvalidInputError,
    "vault_not_found": agent_vault.VaultNotFoundError,
    "secret_not_found": agent_vault.SecretNotFoundError,
    "not_authorized": agent_vault.NotAuthorizedError,
    "invalid_key": agent_vault.InvalidKeyError,
    "corrupt_vault": agent_vault.CorruptVaultError,
    "conflict": agent_vault.ConflictError,
    "untrusted": agent_vault.UntrustedError,
}


def run_case(case: Dict[str, Any]) -> Any:
    """Opens the fixture as the case says and runs its op."""
    vault_dir = VECTORS / case.get("vault", TABLE["vault"])
    # A throwaway HOME per case: what one case's reader remembers of the
    # fixture's signed version must not turn another's into a rollback.
    import tempfile

    old_home = os.environ.get("HOME")
    os.environ["HOME"] = tempfile.mkdtemp(prefix="av-vectors-home-")
    try:
        return _run_case(case, vault_dir)
    finally:
        if old_home is not None:
            os.environ["HOME"] = old_home


def _run_case(case: Dict[str, Any], vault_dir: Any) -> Any:
    if case["key"] == "none":
        vault = Vault(vault_dir, metadata_only=True, auto_pull=False, owner=case.get("pin"), seen=case.get("seen"))
    else:
        key = VECTORS / TABLE["keys"] / f"{case['key']}.key"
        vault = Vault(vault_dir, key_path=key, auto_pull=False, owner=case.get("pin"), seen=case.get("seen"))
    with vault:
        op = case["op"]
        if op == "get":
            return vault.get_bytes(case.get("secret", ""))
        if op == "list":
            return [m.name for m in vault.list_secrets(group=case.get("group"), all=case.get("all", False))]
        if op == "agents":
            return [a.name for a in vault.list_agents()]
        if op == "check":
            return sorted(f"{f.severity}:{f.kind}:{f.subject}" for f in vault.check(now=TABLE["now"]))
    raise AssertionError(f"unknown op {op!r} in the conformance table")


ALL_CASES = TABLE["cases"] + HOSTILE["cases"]


@pytest.mark.parametrize("case", ALL_CASES, ids=[c["name"] for c in ALL_CASES])
def test_case(case: Dict[str, Any]) -> None:
    expect = case["expect"]
    if "error" in expect:
        with pytest.raises(agent_vault.VaultError) as info:
            run_case(case)
        assert info.value.code == expect["error"]
        assert isinstance(info.value, CLASSES[expect["error"]])
        return
    got = run_case(case)
    if "value_b64" in expect:
        want = base64.b64decode(expect["value_b64"])
        # Compare without printing the value on failure.
        assert got == want, f"value mismatch: got {len(got)} bytes, want {len(want)}"
    elif "names" in expect:
        assert got == expect["names"]
    elif "findings" in expect:
        assert got == expect["findings"]
    else:
        raise AssertionError("case has no expectation")


def test_table_covers_every_op() -> None:
    ops: List[str] = sorted({c["op"] for c in TABLE["cases"]})
    assert ops == ["agents", "check", "get", "list"]
