"""The module host: compiled-module cache, ABI check, guest buffers, the
read-only mount and hostile repository content."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Dict

import pytest

import agent_vault
from agent_vault import CorruptVaultError, Vault, VaultError, _runtime
from agent_vault._types import parse_time

from conftest import VECTORS

FIXTURE = VECTORS / "vault"
BILLING_KEY = VECTORS / "keys" / "billing.key"
STRIPE_PATH = Path(".agent-vault") / "secrets" / "stripe" / "api-key.enc"

GET_IN_NEW_PROCESS = (
    "import sys; from agent_vault import Vault; "
    "sys.stdout.write(Vault(sys.argv[1], key_path=sys.argv[2], auto_pull=False).get('stripe/api-key'))"
)


def _expected_stripe() -> bytes:
    import json

    cases = json.loads((VECTORS / "cases.json").read_text())["cases"]
    case = next(c for c in cases if c["name"] == "get stripe/api-key as billing")
    return base64.b64decode(case["expect"]["value_b64"])


def _get_in_new_process(cache_home: Path) -> str:
    env: Dict[str, str] = dict(os.environ, XDG_CACHE_HOME=str(cache_home))
    proc = subprocess.run(
        [sys.executable, "-c", GET_IN_NEW_PROCESS, str(FIXTURE), str(BILLING_KEY)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_compiled_module_cache(tmp_path: Path) -> None:
    want = _expected_stripe().decode()
    cache = tmp_path / "agent-vault"
    cache.mkdir()
    # Entries of older builds, oldest first, and a temp file a killed
    # process left behind: the write of a new entry prunes them.
    old = [cache / f"agent_vault-old{i}-wasmtime-0.0.0-x86_64.cwasm" for i in range(5)]
    for i, p in enumerate(old + [cache / ".tmp-left.cwasm"]):
        p.write_bytes(b"stale")
        os.utime(p, (1_000_000 + i, 1_000_000 + i))

    assert _get_in_new_process(tmp_path) == want
    wasm_sha = hashlib.sha256(_runtime.wasm_path().read_bytes()).hexdigest()
    current = [p for p in cache.iterdir() if wasm_sha[:32] in p.name]
    assert len(current) == 1, list(cache.iterdir())
    cached = current[0]
    assert "-wasmtime-" in cached.name and cached.stat().st_mode & 0o077 == 0
    # The module's hash, remembered under its file's stats for later starts.
    stamp = cache / _runtime._stamp_name(os.stat(_runtime.wasm_path()))
    assert stamp.read_text() == wasm_sha and stamp.stat().st_mode & 0o077 == 0
    assert sorted(p.name for p in cache.iterdir()) == sorted([cached.name, stamp.name] + [p.name for p in old[2:]])
    first = cached.stat()

    # A second process maps the cached code in and leaves the file alone.
    assert _get_in_new_process(tmp_path) == want
    again = cached.stat()
    assert (again.st_ino, again.st_mtime_ns) == (first.st_ino, first.st_mtime_ns)

    # A damaged cache entry is recompiled and atomically replaced.
    cached.write_bytes(b"not a compiled module")
    assert _get_in_new_process(tmp_path) == want
    assert cached.read_bytes() != b"not a compiled module"
    assert not [p for p in cache.iterdir() if p.name.startswith(".tmp-")]


def test_hash_stamp_follows_the_module_file(tmp_path: Path) -> None:
    """A rewritten module never matches the stamp of its old contents, even
    at the same size with its old mtime put back."""
    wasm = tmp_path / "agent_vault.wasm"
    wasm.write_bytes(b"module one")
    st = wasm.stat()
    time.sleep(0.05)  # past the file system's timestamp granularity
    wasm.write_bytes(b"module two")
    os.utime(wasm, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert _runtime._stamp_name(wasm.stat()) != _runtime._stamp_name(st)
    assert _runtime._stamp_name(wasm.stat()) == _runtime._stamp_name(os.stat(wasm))


def test_c_api_declarations_match_wasmtime() -> None:
    """_capi declares the C API itself; the installed wasmtime package's
    generated bindings are the reference for its layouts and signatures."""
    import ctypes

    from wasmtime import _bindings

    from agent_vault import _capi

    for mine, theirs in [
        (_capi.Func, _bindings.wasmtime_func_t),
        (_capi.Memory, _bindings.wasmtime_memory_t),
        (_capi.Extern, _bindings.wasmtime_extern_t),
        (_capi.InstanceRef, _bindings.wasmtime_instance_t),
        (_capi.Val, _bindings.wasmtime_val_t),
        (_capi._ByteVec, _bindings.wasm_byte_vec_t),
    ]:
        assert (ctypes.sizeof(mine), ctypes.alignment(mine)) == (ctypes.sizeof(theirs), ctypes.alignment(theirs))
    assert _capi.Extern.of.offset == _bindings.wasmtime_extern_t.of.offset
    assert _capi.Val.of.offset == _bindings.wasmtime_val_t.of.offset

    def size(t: object) -> int:
        return 0 if t is None else ctypes.sizeof(t)  # type: ignore[arg-type]

    for name, (res, args) in _capi.SIGNATURES.items():
        ref = getattr(_bindings, "_" + name)
        assert size(res) == size(ref.restype), name
        assert [size(a) for a in args] == [size(a) for a in ref.argtypes], name


def test_cache_dir_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert _runtime.cache_dir() == tmp_path / "xdg" / "agent-vault"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert _runtime.cache_dir() == tmp_path / ".cache" / "agent-vault"


def test_abi_mismatch_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_runtime, "ABI_VERSION", _runtime.ABI_VERSION + 1)
    with pytest.raises(VaultError) as info:
        _runtime.Instance(None)
    message = str(info.value)
    assert f"ABI version {_runtime.ABI_VERSION - 1}" in message
    assert f"needs version {_runtime.ABI_VERSION}" in message
    assert "same build" in info.value.hint


def test_module_version() -> None:
    assert agent_vault.module_version()
    assert agent_vault.ABI_VERSION == 1


def test_guest_buffers_are_zeroed() -> None:
    """The request (holding the key file) and the response (holding the
    value) are freed, and so zeroed, once copied out."""
    value = _expected_stripe()
    key_file = BILLING_KEY.read_bytes()
    with Vault(FIXTURE, key_path=BILLING_KEY, auto_pull=False) as v:
        assert v.get_bytes("stripe/api-key") == value
        instance = v._instance
        assert instance is not None
        memory = instance._read(0)
    assert base64.b64encode(value) not in memory
    assert base64.b64encode(key_file) not in memory


def _copy_fixture(dst: Path) -> Path:
    shutil.copytree(FIXTURE, dst, symlinks=True)
    return dst


def test_symlinked_secret_is_refused(tmp_path: Path) -> None:
    """The WASI mount follows symlinks, so core must see them as links."""
    repo = _copy_fixture(tmp_path / "vault")
    outside = tmp_path / "outside.enc"
    shutil.copy(FIXTURE / STRIPE_PATH, outside)
    (repo / STRIPE_PATH).unlink()
    (repo / STRIPE_PATH).symlink_to(outside)
    with Vault(repo, key_path=BILLING_KEY, auto_pull=False) as v:
        with pytest.raises(CorruptVaultError) as info:
            v.get("stripe/api-key")
        assert "symlink" in str(info.value)
        assert v.get("postgres/conn")


def test_symlinked_vault_dir_is_refused(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".agent-vault").symlink_to(FIXTURE / ".agent-vault")
    with pytest.raises(CorruptVaultError) as info:
        Vault(repo, key_path=BILLING_KEY, auto_pull=False)
    assert "symlink" in str(info.value)


def test_mount_is_read_only(tmp_path: Path) -> None:
    repo = _copy_fixture(tmp_path / "vault")
    before = sorted(str(p.relative_to(repo)) for p in repo.rglob("*"))
    with Vault(repo, key_path=BILLING_KEY, auto_pull=False) as v:
        v.get("stripe/api-key")
        v.check()
    assert sorted(str(p.relative_to(repo)) for p in repo.rglob("*")) == before


def test_tampered_ciphertext(tmp_path: Path) -> None:
    repo = _copy_fixture(tmp_path / "vault")
    enc = repo / STRIPE_PATH
    data = bytearray(enc.read_bytes())
    data[-5] ^= 0x01
    enc.write_bytes(bytes(data))
    with Vault(repo, key_path=BILLING_KEY, auto_pull=False) as v:
        with pytest.raises(CorruptVaultError):
            v.get("stripe/api-key")


def test_malformed_manifest(tmp_path: Path) -> None:
    repo = _copy_fixture(tmp_path / "vault")
    (repo / ".agent-vault" / "manifest.yaml").write_text("version: 1\nagents: [: {\n")
    # A get reads no policy; everything that does reports the damage.
    v = Vault(repo, key_path=BILLING_KEY, auto_pull=False)
    with pytest.raises(CorruptVaultError):
        v.list_secrets()
    with pytest.raises(CorruptVaultError):
        v.list_agents()
    with pytest.raises(CorruptVaultError):
        v.check()


def test_raw_request_garbage_is_an_error() -> None:
    instance = _runtime.Instance(None)
    with pytest.raises(agent_vault.InvalidInputError):
        instance.call({"op": "no-such-op"})
    resp = instance.call_bytes(b"\xff{not json")
    assert b'"ok":false' in resp
    assert instance.call({"op": "version"})["abi"] == 1


def test_decrypt_raw_rejects_wrong_key() -> None:
    enc = (FIXTURE / STRIPE_PATH).read_bytes()
    owner = (VECTORS / "keys" / "owner.key").read_text().split()[-1]
    reader = (VECTORS / "keys" / "reader.key").read_text().split()[-1]
    assert agent_vault.decrypt_raw(enc, identities=[owner]) == _expected_stripe()
    with pytest.raises(VaultError):
        agent_vault.decrypt_raw(enc, identities=[reader])


@pytest.mark.parametrize(
    "text, want",
    [
        ("2026-02-20T14:30:00Z", datetime(2026, 2, 20, 14, 30, tzinfo=timezone.utc)),
        ("2026-02-20T14:30:00.123456789Z", datetime(2026, 2, 20, 14, 30, 0, 123456, tzinfo=timezone.utc)),
        ("2026-02-20T14:30:00.5+02:00", datetime(2026, 2, 20, 14, 30, 0, 500000, tzinfo=timezone(timedelta(hours=2)))),
        ("2026-02-20T14:30:00-05:30", datetime(2026, 2, 20, 14, 30, tzinfo=timezone(-timedelta(hours=5, minutes=30)))),
    ],
)
def test_parse_time(text: str, want: datetime) -> None:
    got = parse_time(text)
    assert got == want and got.utcoffset() == want.utcoffset()
