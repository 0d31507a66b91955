"""The host operations the module's reader calls (docs/wasm-abi.md, "Host
imports"), directly and through a Vault."""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat
from pathlib import Path
from typing import Any, Dict

import pytest

from agent_vault import Vault, _host

from conftest import make_home


def serve(**request: Any) -> Any:
    """Runs one host request; returns (ok, payload as JSON or bytes)."""
    answer = bytes(_host.serve(bytearray(json.dumps(request).encode())))
    ok = answer[0] == 0
    payload = answer[1:]
    if request["op"] == "read" and ok:
        return ok, payload
    return ok, json.loads(payload)


def test_lstat_does_not_follow_symlinks(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"12345")
    (tmp_path / "f").chmod(0o640)
    (tmp_path / "link").symlink_to(tmp_path / "f")
    assert serve(op="lstat", path=str(tmp_path / "f")) == (True, {"type": "file", "size": 5, "mode": 0o640})
    ok, st = serve(op="lstat", path=str(tmp_path / "link"))
    assert ok and st["type"] == "symlink"
    assert serve(op="lstat", path=str(tmp_path))[1]["type"] == "dir"
    assert serve(op="lstat", path=str(tmp_path / "missing"))[1]["error"] == "not_found"
    assert serve(op="lstat", path=str(tmp_path / "f" / "x"))[1]["error"] == "not_dir"


def test_read_stops_after_limit_plus_one(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"0123456789")
    assert serve(op="read", path=str(tmp_path / "f"), limit=100) == (True, b"0123456789")
    assert serve(op="read", path=str(tmp_path / "f"), limit=10) == (True, b"0123456789")
    assert serve(op="read", path=str(tmp_path / "f"), limit=4) == (True, b"01234")
    (tmp_path / "empty").write_bytes(b"")
    assert serve(op="read", path=str(tmp_path / "empty"), limit=4) == (True, b"")
    assert serve(op="read", path=str(tmp_path / "nope"), limit=4)[1]["error"] == "not_found"
    (tmp_path / "f").chmod(0)
    if os.geteuid() != 0:  # root reads anything
        assert serve(op="read", path=str(tmp_path / "f"), limit=4)[1]["error"] == "permission"


def test_readdir_types(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "f").write_text("x")
    (tmp_path / "l").symlink_to(tmp_path / "d")
    os.mkfifo(tmp_path / "p")
    ok, out = serve(op="readdir", path=str(tmp_path))
    assert ok and sorted((e["name"], e["type"]) for e in out["entries"]) == [
        ("d", "dir"), ("f", "file"), ("l", "symlink"), ("p", "other")]
    assert serve(op="readdir", path=str(tmp_path / "f"))[1]["error"] == "not_dir"


def test_writes_are_private_and_atomic(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "state.json"
    data = base64.b64encode(b"state").decode()
    assert serve(op="write", path=str(target), data=data) == (True, {})
    assert target.read_bytes() == b"state"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    assert serve(op="write", path=str(target), data=base64.b64encode(b"new").decode()) == (True, {})
    assert target.read_bytes() == b"new" and os.listdir(target.parent) == ["state.json"]

    assert serve(op="mkdir", path=str(tmp_path / "m" / "n")) == (True, {})
    assert stat.S_IMODE((tmp_path / "m" / "n").stat().st_mode) == 0o700
    assert serve(op="mkdir", path=str(tmp_path / "m" / "n")) == (True, {})  # already there
    assert serve(op="rename", **{"from": str(tmp_path / "m"), "to": str(tmp_path / "r")}) == (True, {})
    assert (tmp_path / "r" / "n").is_dir() and not (tmp_path / "m").exists()
    assert serve(op="remove_all", path=str(tmp_path / "r")) == (True, {})
    assert not (tmp_path / "r").exists()
    assert serve(op="remove_all", path=str(tmp_path / "r")) == (True, {})


def test_create_is_exclusive_and_private(tmp_path: Path) -> None:
    """create is the reader's lock: it makes a file only where nothing is,
    not even a symlink, and remove_all removes a file as well as a tree."""
    lock = tmp_path / "read.lock"
    stamp = base64.b64encode(b"stamp\n").decode()
    assert serve(op="create", path=str(lock), data=stamp) == (True, {})
    assert lock.read_bytes() == b"stamp\n"
    assert stat.S_IMODE(lock.stat().st_mode) == 0o600
    assert serve(op="create", path=str(lock), data="")[1]["error"] == "exists"
    assert lock.read_bytes() == b"stamp\n"
    (tmp_path / "link.lock").symlink_to(tmp_path / "nowhere")
    assert serve(op="create", path=str(tmp_path / "link.lock"), data="")[1]["error"] == "exists"
    assert not (tmp_path / "nowhere").exists()
    assert serve(op="create", path=str(tmp_path / "missing" / "read.lock"), data="")[1]["error"] == "not_found"
    assert serve(op="remove_all", path=str(lock)) == (True, {})
    assert not lock.exists()


def test_malformed_requests_fail() -> None:
    assert _host.serve(bytearray(b"not json"))[0] == 1
    assert serve(op="no-such-op")[1]["error"] == "other"
    assert serve(op="lstat")[1]["error"] == "other"
    assert serve(op="write", data="")[1]["error"] == "other"
    assert serve(op="read", path="/", limit="many")[1]["error"] == "other"


def test_git_ran_and_failed_is_an_answer(tmp_path: Path) -> None:
    ok, out = serve(op="git", dir=str(tmp_path), args=["--version"])
    assert ok and out["exit"] == 0 and out["stdout"].startswith("git version")
    ok, out = serve(op="git", dir=str(tmp_path), args=["log"])
    assert ok and out["exit"] != 0 and "not a git repository" in out["stderr"]
    ok, out = serve(op="git", dir=str(tmp_path / "missing"), args=["status"])
    assert ok and out["exit"] != 0


@pytest.fixture
def fake_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git first on PATH that records its environment, stdin and working
    directory, then runs the real git."""
    bin_dir, log = tmp_path / "fakebin", tmp_path / "git-calls.log"
    bin_dir.mkdir()
    real = shutil.which("git")
    assert real
    script = bin_dir / "git"
    script.write_text(
        "#!/bin/sh\n"
        f"{{ echo '--- call'; echo \"stdin=$(readlink /proc/self/fd/0)\"; echo \"args=$*\"; env; }} >>{log}\n"
        f'exec {real} "$@"\n'
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return log


def test_git_runs_without_key_material(tmp_path: Path, fake_git: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    h = make_home(tmp_path / "owner")
    h.cli("set", "app/token", "-", input=b"token-v1")
    raw = next(ln for ln in h.key().read_text().splitlines() if ln.startswith("AGE-SECRET-KEY-"))
    monkeypatch.setenv("AGENT_VAULT_KEY", raw)
    pin = h.cli("owner-key").strip()
    monkeypatch.setenv("AGENT_VAULT_OWNER", pin)
    fake_git.write_text("")  # only the reader's calls from here on
    with Vault(h.repo) as v:
        assert v.get("app/token") == "token-v1"
    calls = fake_git.read_text().split("--- call\n")[1:]
    assert calls, "the reader ran no git: nothing was checked"
    for call in calls:
        assert "AGENT_VAULT_KEY" not in call and "AGENT_VAULT_OWNER" not in call and raw not in call and pin not in call
        assert "GIT_TERMINAL_PROMPT=0" in call.splitlines()
        assert "stdin=/dev/null" in call.splitlines()


def test_git_is_killed_after_its_timeout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "git").write_text("#!/bin/sh\necho started >&2\nexec /bin/sleep 600\n")
    (bin_dir / "git").chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setattr(_host, "GIT_TIMEOUT", 0.5)
    ok, out = serve(op="git", dir=str(tmp_path), args=["fetch"])
    assert not ok and out["error"] == "other" and "timed out" in out["message"]


def test_git_not_installed_is_not_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    ok, out = serve(op="git", dir=str(tmp_path), args=["status"])
    assert not ok and out["error"] == "not_found"


def _requests_seen(monkeypatch: pytest.MonkeyPatch) -> Dict[str, int]:
    seen: Dict[str, int] = {}
    real = _host.serve

    def spy(request: bytearray) -> bytearray:
        op = json.loads(bytes(request))["op"]
        seen[op] = seen.get(op, 0) + 1
        return real(request)

    monkeypatch.setattr(_host, "serve", spy)
    return seen


def test_a_get_reads_through_the_host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    h = make_home(tmp_path / "owner")
    h.cli("set", "app/token", "-", input=b"token-v1")
    seen = _requests_seen(monkeypatch)
    with Vault(h.repo, key_path=h.key(), auto_pull=False) as v:
        assert v.get("app/token") == "token-v1"
    assert seen.get("lstat") and seen.get("read")


def test_the_package_holds_no_git_command_lines() -> None:
    """Which git command to run is the reader's business (core/reader)."""
    src = Path(_host.__file__).parent
    for path in sorted(src.glob("*.py")):
        text = path.read_text().lower()
        for word in ("rev-parse", "--ff-only", "clone"):
            assert word not in text, f"{path.name} mentions {word}"


def test_a_removed_working_directory_still_opens_an_absolute_path(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    h = make_home(tmp_path / "owner")
    h.cli("set", "app/token", "-", input=b"token-v1")
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    with Vault(h.repo, key_path=h.key(), auto_pull=False) as v:
        assert v.get("app/token") == "token-v1"
