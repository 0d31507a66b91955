"""Git sync: remote URLs served by a real `git daemon` on 127.0.0.1, and
local repositories that track an upstream."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, List

import pytest

from agent_vault import ConflictError, CorruptVaultError, GitSyncError, Vault, VaultNotFoundError

from conftest import Home, git, make_home


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Daemon:
    url: str
    base: Path


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    """A git daemon serving tmp_path/served read-only on a free port."""
    base = tmp_path / "served"
    base.mkdir()
    port = _free_port()
    proc = subprocess.Popen(
        [
            "git", "daemon", "--reuseaddr", "--export-all", f"--base-path={base}",
            "--listen=127.0.0.1", f"--port={port}", str(base),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            if proc.poll() is not None:
                pytest.fail(f"git daemon exited: {proc.stderr.read().decode() if proc.stderr else ''}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("git daemon did not start listening")
                time.sleep(0.05)
        yield Daemon(url=f"git://127.0.0.1:{port}", base=base)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _publish(h: Home, bare: Path) -> None:
    """Makes bare the upstream of h's vault repository."""
    h.git("clone", "--bare", "-q", str(h.repo), str(bare))
    h.git("remote", "add", "origin", str(bare))
    h.git("fetch", "-q", "origin")
    h.git("branch", "-q", "--set-upstream-to=origin/main", "main")


def _owner_with_bot(root: Path) -> Home:
    h = make_home(root)
    h.cli("add-agent", "bot")
    h.cli("set", "app/token", "-", input=b"token-v1")
    h.cli("grant", "bot", "app")
    return h


def test_remote_url_clone_then_pull(tmp_path: Path, daemon: Daemon, monkeypatch: pytest.MonkeyPatch) -> None:
    owner = _owner_with_bot(tmp_path / "owner")
    _publish(owner, daemon.base / "vault.git")
    agent_home = tmp_path / "agent-home"
    agent_home.mkdir()
    monkeypatch.setenv("HOME", str(agent_home))
    url = f"{daemon.url}/vault.git"
    key = owner.key("bot")

    first = Vault(repo_path=url, key_path=key)
    assert first.get("app/token") == "token-v1"
    cache = agent_home / ".agent-vault" / "cache"
    assert Path(first.path).parent == cache
    assert (Path(first.path) / ".agent-vault" / "manifest.yaml").is_file()

    owner.cli("set", "app/token", "-", input=b"token-v2")
    owner.cli("set", "app/added", "-", input=b"added-later")
    owner.git("push", "-q")

    # Same URL, same cache clone: opening pulls the new commits.
    with Vault(repo_path=url, key_path=key) as second:
        assert second.path == first.path
        assert second.get("app/added") == "added-later"
        assert second.get("app/token") == "token-v2"

    # The first instance notices HEAD moved and re-opens the vault.
    assert first.get("app/added") == "added-later"
    assert first.get("app/token") == "token-v2"
    first.close()

    owner.cli("set", "app/token", "-", input=b"token-v3")
    owner.git("push", "-q")
    with Vault(repo_path=url, key_path=key, auto_pull=False) as frozen:
        assert frozen.get("app/token") == "token-v2"
    head_before = git("rev-parse", "HEAD", cwd=Path(first.path), env=owner.env)
    with Vault(repo_path=url, key_path=key) as fresh:
        assert fresh.get("app/token") == "token-v3"
    assert git("rev-parse", "HEAD", cwd=Path(first.path), env=owner.env) != head_before


def test_local_upstream_pull_and_offline_warning(tmp_path: Path) -> None:
    owner = _owner_with_bot(tmp_path / "owner")
    bare = tmp_path / "upstream.git"
    _publish(owner, bare)
    agent_repo = tmp_path / "agent-clone"
    git("clone", "-q", str(bare), str(agent_repo), cwd=tmp_path, env=owner.env)

    def get_recording(v: Vault) -> List[str]:
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            assert v.get("app/token") == "token-v2"
        assert all("token-v" not in str(w.message) for w in record)
        return [str(w.message) for w in record]

    with Vault(repo_path=agent_repo, key_path=owner.key("bot")) as v:
        assert v.get("app/token") == "token-v1"
        owner.cli("set", "app/token", "-", input=b"token-v2")
        owner.git("push", "-q")
        assert v.get("app/token") == "token-v2"

        bare.rename(tmp_path / "gone.git")  # the upstream is now unreachable
        first = get_recording(v)
        assert len(first) == 1 and "could not update" in first[0] and str(agent_repo) in first[0]
        assert get_recording(v) == []  # once per streak of failures
        (tmp_path / "gone.git").rename(bare)
        assert get_recording(v) == []  # back: the streak ends quietly
        bare.rename(tmp_path / "gone.git")
        assert len(get_recording(v)) == 1  # a new streak warns again
        with pytest.raises(GitSyncError):
            v.pull()  # an explicit pull reports the failure


def test_pull_of_a_diverged_checkout_is_a_git_sync_error(tmp_path: Path) -> None:
    owner = _owner_with_bot(tmp_path / "owner")
    bare = tmp_path / "upstream.git"
    _publish(owner, bare)
    agent_repo = tmp_path / "agent-clone"
    git("clone", "-q", str(bare), str(agent_repo), cwd=tmp_path, env=owner.env)
    git("commit", "-q", "--allow-empty", "-m", "local", cwd=agent_repo, env=owner.env)
    owner.cli("set", "app/token", "-", input=b"token-v2")
    owner.git("push", "-q")
    with Vault(repo_path=agent_repo, key_path=owner.key("bot")) as v:
        with pytest.raises(GitSyncError) as info:
            v.pull()
        assert isinstance(info.value, ConflictError)
        with pytest.warns(RuntimeWarning, match="could not update"):
            assert v.get("app/token") == "token-v1"  # the local copy is served


def test_url_credentials_are_never_shown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capfd: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    owner = _owner_with_bot(tmp_path / "owner")
    url = "http://deploy:TOKEN@127.0.0.1:9/x.git"
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        with pytest.raises(VaultNotFoundError) as info:
            Vault(repo_path=url, key_path=owner.key("bot"))
    shown = [str(info.value), repr(info.value), info.value.hint] + [str(w.message) for w in record]
    assert "127.0.0.1:9" in str(info.value)
    # An upstream with credentials that cannot be reached: the warning too.
    bare = tmp_path / "upstream.git"
    _publish(owner, bare)
    agent_repo = tmp_path / "agent-clone"
    git("clone", "-q", str(bare), str(agent_repo), cwd=tmp_path, env=owner.env)
    git("remote", "set-url", "origin", url, cwd=agent_repo, env=owner.env)
    with Vault(repo_path=agent_repo, key_path=owner.key("bot")) as v:
        with pytest.warns(RuntimeWarning, match="could not update") as warned:
            assert v.get("app/token") == "token-v1"
        with pytest.raises(GitSyncError) as pulled:
            v.pull()
    shown += [str(w.message) for w in warned] + [str(pulled.value)]
    out, err = capfd.readouterr()
    assert all("TOKEN" not in text for text in shown + [out, err]), shown
    assert all("TOKEN" not in p.name for p in home.rglob("*"))


def test_auto_pull_false_never_pulls(tmp_path: Path) -> None:
    owner = _owner_with_bot(tmp_path / "owner")
    bare = tmp_path / "upstream.git"
    _publish(owner, bare)
    agent_repo = tmp_path / "agent-clone"
    git("clone", "-q", str(bare), str(agent_repo), cwd=tmp_path, env=owner.env)
    head = git("rev-parse", "HEAD", cwd=agent_repo, env=owner.env)
    owner.cli("set", "app/token", "-", input=b"token-v2")
    owner.git("push", "-q")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with Vault(repo_path=agent_repo, key_path=owner.key("bot"), auto_pull=False) as v:
            assert v.get("app/token") == "token-v1"
            assert v.get("app/token") == "token-v1"
    assert git("rev-parse", "HEAD", cwd=agent_repo, env=owner.env) == head


def test_auto_pull_waits_for_another_readers_lock(tmp_path: Path) -> None:
    """A clone another process holds the read lock of (its pull is under
    way) is read once the lock is gone, and the module sleeps meanwhile:
    wasmtime's poll_oneoff must not spin while the holder works."""
    owner = _owner_with_bot(tmp_path / "owner")
    bare = tmp_path / "upstream.git"
    _publish(owner, bare)
    agent_repo = tmp_path / "agent-clone"
    git("clone", "-q", str(bare), str(agent_repo), cwd=tmp_path, env=owner.env)
    lock = agent_repo / ".git" / "agent-vault" / "read.lock"
    with Vault(repo_path=agent_repo, key_path=owner.key("bot")) as v:
        assert v.get("app/token") == "token-v1"
        assert not lock.exists()  # released after the read
        owner.cli("set", "app/token", "-", input=b"token-v2")
        owner.git("push", "-q")
        lock.write_text(datetime.now(timezone.utc).isoformat().replace("+00:00", "Z") + " 0123456789abcdef pull\n")
        holder = subprocess.Popen([sys.executable, "-c", "import os, sys, time; time.sleep(0.5); os.unlink(sys.argv[1])",
                                   str(lock)])
        try:
            cpu, wall = time.process_time(), time.monotonic()
            assert v.get("app/token") == "token-v2"
            cpu, wall = time.process_time() - cpu, time.monotonic() - wall
            assert holder.poll() is not None, "the get did not wait for the lock"
        finally:
            holder.wait()
        assert cpu < wall / 2, f"{cpu:.3f}s of CPU in a {wall:.3f}s get that waited for a lock: the module spins"
        assert not lock.exists()


def test_vault_inside_another_repo_is_not_pulled(tmp_path: Path) -> None:
    """Only the repository whose top is the vault is synced; a vault in a
    subdirectory of some project must not pull that project."""
    owner = make_home(tmp_path / "owner")
    (owner.repo / "sub").mkdir()
    owner.cli("init", "sub")
    owner.cli("set", "app/token", "-", input=b"nested", cwd=owner.repo / "sub")
    bare = tmp_path / "upstream.git"
    _publish(owner, bare)
    clone = tmp_path / "project"
    git("clone", "-q", str(bare), str(clone), cwd=tmp_path, env=owner.env)
    head = git("rev-parse", "HEAD", cwd=clone, env=owner.env)
    owner.git("commit", "-q", "--allow-empty", "-m", "unrelated")
    owner.git("push", "-q")
    with Vault(repo_path=clone / "sub", key_path=owner.key()) as v:
        assert v.get("app/token") == "nested"
    assert git("rev-parse", "HEAD", cwd=clone, env=owner.env) == head


def test_broken_upstream_commit_then_fix(tmp_path: Path) -> None:
    """A pulled commit that breaks the vault raises; once a fix is pushed the
    same Vault recovers without being re-created."""
    owner = _owner_with_bot(tmp_path / "owner")
    bare = tmp_path / "upstream.git"
    _publish(owner, bare)
    agent_repo = tmp_path / "agent-clone"
    git("clone", "-q", str(bare), str(agent_repo), cwd=tmp_path, env=owner.env)
    with Vault(repo_path=agent_repo, key_path=owner.key("bot")) as v:
        assert v.get("app/token") == "token-v1"
        config = owner.repo / ".agent-vault" / "config.yaml"
        config.write_text("version: 1\nencryption: [: {\n")
        owner.git("commit", "-q", "-am", "break the config")
        owner.git("push", "-q")
        with pytest.raises(CorruptVaultError):
            v.get("app/token")
        owner.git("revert", "--no-edit", "HEAD")
        owner.git("push", "-q")
        assert v.get("app/token") == "token-v1"
