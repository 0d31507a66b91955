"""End to end: vaults made by bin/agent-vault in a throwaway HOME with real
Git, read through the binding."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import List

import pytest

import agent_vault
from agent_vault import (
    ConflictError,
    CorruptVaultError,
    GitSyncError,
    InvalidInputError,
    InvalidKeyError,
    NotAuthorizedError,
    SecretNotFoundError,
    Vault,
    VaultError,
    VaultNotFoundError,
)

from conftest import Home, make_home

STRIPE = "sk_test_e2e_51HqLyjWDarjtT1zdp7dc"
CONN = "postgres://app:e2e-password@db:5432/app"
PEM = "-----BEGIN CERTIFICATE-----\nMIIBe2e\nAAAA\n-----END CERTIFICATE-----\n"
BINARY = bytes(range(256)) * 3


@pytest.fixture(scope="module")
def vault(tmp_path_factory: pytest.TempPathFactory) -> Home:
    """owner + billing (stripe, certs) + deploy (postgres) + gone (revoked
    from stripe) + idle (no groups)."""
    h = make_home(tmp_path_factory.mktemp("cli"))
    for agent in ("billing", "deploy", "gone", "idle"):
        h.cli("add-agent", agent)
    h.cli("set", "stripe/api-key", "-", input=STRIPE.encode())
    h.cli("set", "postgres/conn", "-", input=CONN.encode())
    h.cli("set", "certs/tls", "-", "--expires", "2031-01-02", input=PEM.encode())
    blob = h.home / "blob.bin"
    blob.write_bytes(BINARY)
    h.cli("set", "blobs/raw", "--from-file", str(blob), "--group", "certs")
    h.cli("grant", "billing", "stripe")
    h.cli("grant", "billing", "certs")
    h.cli("grant", "deploy", "postgres")
    h.cli("grant", "gone", "stripe")
    h.cli("revoke", "gone", "stripe")
    return h


@pytest.fixture
def in_home(vault: Home, monkeypatch: pytest.MonkeyPatch) -> Home:
    """Points this process's HOME at the CLI's home, as an agent would run."""
    monkeypatch.setenv("HOME", str(vault.home))
    monkeypatch.delenv("AGENT_VAULT_KEY", raising=False)
    return vault


def test_owner_key_from_home(in_home: Home) -> None:
    with Vault(repo_path=in_home.repo) as v:
        assert v.identity == "owner"
        assert v.get("stripe/api-key") == STRIPE
        assert v.get("postgres/conn") == CONN


def test_agent_key_path(vault: Home) -> None:
    with Vault(repo_path=vault.repo, key_path=vault.key("billing")) as v:
        assert v.identity == "billing"
        assert v.get("stripe/api-key") == STRIPE
        assert v.get("certs/tls") == PEM
        assert v.get_bytes("blobs/raw") == BINARY


def test_key_path_with_tilde(in_home: Home) -> None:
    with Vault(repo_path=str(in_home.repo), key_path="~/.agent-vault/agents/deploy.key") as v:
        assert v.identity == "deploy"
        assert v.get("postgres/conn") == CONN


def test_agent_not_granted(vault: Home) -> None:
    with Vault(repo_path=vault.repo, key_path=vault.key("deploy")) as v:
        with pytest.raises(NotAuthorizedError) as info:
            v.get("stripe/api-key")
    assert info.value.code == "not_authorized"
    assert STRIPE not in str(info.value)


def test_revoked_agent(vault: Home) -> None:
    with Vault(repo_path=vault.repo, key_path=vault.key("gone")) as v:
        with pytest.raises(NotAuthorizedError):
            v.get("stripe/api-key")


def test_missing_secret(vault: Home) -> None:
    with Vault(repo_path=vault.repo, key_path=vault.key()) as v:
        with pytest.raises(SecretNotFoundError) as info:
            v.get("stripe/nope")
    assert info.value.code == "secret_not_found"
    assert isinstance(info.value, VaultError)


def test_invalid_path(vault: Home) -> None:
    with Vault(repo_path=vault.repo, key_path=vault.key()) as v:
        with pytest.raises(InvalidInputError) as info:
            v.get("../owner.key")
    assert info.value.hint


def test_no_vault(tmp_path: Path, vault: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(VaultNotFoundError):
        Vault(repo_path=tmp_path, key_path=vault.key())
    # The error names the path as the user gave it.
    with pytest.raises(VaultNotFoundError) as info:
        Vault(repo_path=tmp_path / "does-not-exist", key_path=vault.key())
    assert str(tmp_path / "does-not-exist") in str(info.value)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(VaultNotFoundError) as info:
        Vault(repo_path="relative/missing", key_path=vault.key())
    assert "relative/missing" in str(info.value)


def test_vault_found_from_the_working_directory(vault: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    sub = vault.repo / ".agent-vault" / "secrets"
    monkeypatch.chdir(sub)
    with Vault(key_path=vault.key()) as v:
        assert v.path == str(vault.repo) and v.get("stripe/api-key") == STRIPE


def test_no_key_configured(tmp_path: Path, vault: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("AGENT_VAULT_KEY", raising=False)
    with pytest.raises(VaultNotFoundError) as info:
        Vault(repo_path=vault.repo)
    assert "AGENT_VAULT_KEY" in info.value.hint


def test_missing_explicit_key(vault: Home) -> None:
    with pytest.raises(InvalidKeyError):
        Vault(repo_path=vault.repo, key_path=vault.home / "nope.key")


def test_env_key_as_path(vault: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENT_VAULT_KEY", str(vault.key("deploy")))
    with Vault(repo_path=vault.repo) as v:
        assert v.identity == "deploy"
        assert v.get("postgres/conn") == CONN


def test_env_key_as_raw_key(vault: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = next(ln for ln in vault.key("billing").read_text().splitlines() if ln.startswith("AGE-SECRET-KEY-"))
    monkeypatch.setenv("AGENT_VAULT_KEY", raw)
    with Vault(repo_path=vault.repo) as v:
        assert v.identity == "billing"
        assert v.get("stripe/api-key") == STRIPE


def test_explicit_key_beats_env(vault: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENT_VAULT_KEY", str(vault.key("deploy")))
    with Vault(repo_path=vault.repo, key_path=vault.key("billing")) as v:
        assert v.identity == "billing"
    with Vault(repo_path=vault.repo, key_str=vault.key("billing").read_text()) as v:
        assert v.identity == "billing"


def test_bad_key_text(vault: Home) -> None:
    with pytest.raises(InvalidKeyError) as info:
        Vault(repo_path=vault.repo, key_str="AGE-SECRET-KEY-1NOTAKEY")
    assert "NOTAKEY" not in str(info.value)


def test_binary_value_via_get(vault: Home) -> None:
    with Vault(repo_path=vault.repo, key_path=vault.key()) as v:
        with pytest.raises(InvalidInputError) as info:
            v.get("blobs/raw")
    assert "get_bytes" in info.value.hint
    assert info.value.__context__ is None and info.value.__cause__ is None


def test_list_secrets_metadata(vault: Home) -> None:
    with Vault(repo_path=vault.repo, key_path=vault.key("billing")) as v:
        metas = v.list_secrets()
        every = v.list_secrets(all=True)
        stripe = v.list_secrets(group="stripe")
    # An agent lists what it can read; all=True lists every secret.
    assert [m.name for m in metas] == ["blobs/raw", "certs/tls", "stripe/api-key"]
    assert [m.name for m in every] == ["blobs/raw", "certs/tls", "postgres/conn", "stripe/api-key"]
    assert [m.name for m in stripe] == ["stripe/api-key"]
    m = stripe[0]
    assert m.group == "stripe"
    assert m.authorized_agents == ["billing"]
    assert isinstance(m.created, datetime) and m.created.tzinfo is not None
    assert m.rotated >= m.created
    assert m.expires is None
    tls = next(x for x in metas if x.name == "certs/tls")
    assert tls.expires is not None and tls.expires.astimezone(timezone.utc).date().isoformat() == "2031-01-02"


def test_list_agents(vault: Home) -> None:
    with Vault(repo_path=vault.repo, metadata_only=True) as v:
        agents = v.list_agents()
        groups = {g.name: g for g in v.list_groups()}
        manifest = v.manifest
        with pytest.raises(InvalidKeyError):
            v.get("stripe/api-key")
    assert [a.name for a in agents] == ["billing", "deploy", "gone", "idle"]
    billing = agents[0]
    assert sorted(billing.groups) == ["certs", "stripe"]
    assert billing.public_key.startswith("age1") and billing.has_escrow
    assert agents[2].groups == []
    assert sorted(groups["certs"].secrets) == ["blobs/raw", "certs/tls"]
    assert groups["stripe"].agents == ["billing"]
    # The original SDK's shapes: agents as mappings, the manifest's queries.
    assert (billing["name"], billing["groups"], billing.get("nope", 1)) == ("billing", billing.groups, 1)
    assert manifest.list_agents()[0] == {"name": "billing", "groups": billing.groups}
    assert sorted(manifest.agent_groups("billing")) == ["certs", "stripe"] and manifest.agent_groups("x") == []
    assert sorted(manifest.group_secrets("certs")) == ["blobs/raw", "certs/tls"]
    assert manifest.agents_for_secret("stripe/api-key") == ["billing"]
    assert manifest.agents_for_secret("postgres/conn") == ["deploy"]
    assert set(manifest.list_groups()) >= {"stripe", "certs", "postgres"}
    assert sorted(manifest.list_secrets()) == ["blobs/raw", "certs/tls", "postgres/conn", "stripe/api-key"]
    assert manifest.list_secrets("stripe") == ["stripe/api-key"]


def test_original_sdk_signature(vault: Home) -> None:
    """Vault(repo_path, key_path=None, key_str=None, auto_pull=True), positionally."""
    with Vault(str(vault.repo), None, vault.key("billing").read_text(), False) as v:
        assert v.identity == "billing" and v.get("stripe/api-key") == STRIPE
        v.reload()
        assert v.get("stripe/api-key") == STRIPE


def test_pull_without_upstream_is_a_git_sync_error(vault: Home) -> None:
    with Vault(repo_path=vault.repo, key_path=vault.key()) as v:
        with pytest.raises(GitSyncError) as info:
            v.pull()
    assert isinstance(info.value, ConflictError) and info.value.code == "conflict"
    assert "upstream" in str(info.value)


def test_error_classes_of_both_sdks() -> None:
    from agent_vault._errors import error_from_code

    assert agent_vault.MetadataError is CorruptVaultError is agent_vault.ManifestError
    assert agent_vault.InvalidIdentifierError is InvalidInputError
    assert issubclass(GitSyncError, ConflictError) and issubclass(GitSyncError, VaultError)
    err = error_from_code("untrusted", "signer not trusted")
    assert isinstance(err, agent_vault.UntrustedError) and err.code == "untrusted"
    assert isinstance(error_from_code("corrupt_vault", "x"), agent_vault.MetadataError)
    with pytest.raises(agent_vault.InvalidIdentifierError):
        raise error_from_code("invalid_input", "bad name")


def test_context_manager_releases(vault: Home) -> None:
    with Vault(repo_path=vault.repo, key_path=vault.key()) as v:
        assert v.get("stripe/api-key") == STRIPE
    with pytest.raises(VaultError):
        v.get("stripe/api-key")
    v.close()  # closing twice is harmless


def test_threads_share_one_vault(vault: Home) -> None:
    errors: List[BaseException] = []
    results: List[str] = []
    lock = threading.Lock()
    names = {"stripe/api-key": STRIPE, "certs/tls": PEM}

    with Vault(repo_path=vault.repo, key_path=vault.key("billing")) as v:

        def worker(i: int) -> None:
            try:
                for j in range(25):
                    name = list(names)[(i + j) % 2]
                    got = v.get(name)
                    with lock:
                        results.append("ok" if got == names[name] else "bad")
            except BaseException as e:  # collected and re-raised below
                errors.append(e)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors
    assert results == ["ok"] * 200


def test_new_process_reads_secret(vault: Home) -> None:
    """The cold-start path an agent uses: one process, one get."""
    code = (
        "import sys; from agent_vault import Vault; "
        "sys.stdout.write(Vault(sys.argv[1], key_path=sys.argv[2]).get('postgres/conn'))"
    )
    env = dict(os.environ)
    proc = subprocess.run(
        [sys.executable, "-c", code, str(vault.repo), str(vault.key("deploy"))],
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == CONN


def test_errors_survive_pickling(vault: Home) -> None:
    with Vault(repo_path=vault.repo, key_path=vault.key("deploy")) as v:
        with pytest.raises(NotAuthorizedError) as info:
            v.get("stripe/api-key")
    copy = pickle.loads(pickle.dumps(info.value))
    assert type(copy) is NotAuthorizedError
    assert (copy.code, copy.hint, str(copy)) == (info.value.code, info.value.hint, str(info.value))
    assert info.value.hint


def test_unknown_code_keeps_its_name() -> None:
    from agent_vault._errors import error_from_code

    err = error_from_code("internal", "boom", "")
    assert type(err) is VaultError and err.code == "internal"
    assert isinstance(error_from_code("conflict", "x"), agent_vault.ConflictError)
