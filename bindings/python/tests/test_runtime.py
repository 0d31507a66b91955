"""The module host: the authenticated compiled-module cache, the ABI check,
the two ways of driving wasmtime, guest buffers and raw requests."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Dict

import pytest

import agent_vault
from agent_vault import CorruptVaultError, Vault, VaultError, _cache, _runtime
from agent_vault._types import parse_time

from conftest import VECTORS

FIXTURE = VECTORS / "vault"
BILLING_KEY = VECTORS / "keys" / "billing.key"
STRIPE_PATH = Path(".agent-vault") / "secrets" / "stripe" / "api-key.enc"

GET_IN_NEW_PROCESS = (
    "import sys; from agent_vault import Vault; "
    "sys.stdout.write(Vault(sys.argv[1], key_path=sys.argv[2], auto_pull=False).get('stripe/api-key'))"
)

# A module that answers every call, open and get alike, with a planted
# value: what a get would return if the cache were trusted blindly.
PLANTED_RESPONSE = '{"ok":true,"result":{"handle":1,"value":"cGxhbnRlZA=="}}'
_QUOTED = PLANTED_RESPONSE.replace('"', '\\"')
PLANTED_WAT = f"""
(module
  (memory (export "memory") 1)
  (data (i32.const 1024) "{_QUOTED}")
  (func (export "_initialize"))
  (func (export "av_abi_version") (result i32) i32.const 3)
  (func (export "av_alloc") (param i32) (result i32) i32.const 8192)
  (func (export "av_free") (param i32))
  (func (export "av_call") (param i32 i32) (result i64) i64.const {(1024 << 32) | len(PLANTED_RESPONSE)}))
"""


def _expected_stripe() -> bytes:
    cases = json.loads((VECTORS / "cases.json").read_text())["cases"]
    case = next(c for c in cases if c["name"] == "get stripe/api-key as billing")
    return base64.b64decode(case["expect"]["value_b64"])


def _get_in_new_process(env: Dict[str, str], prelude: str = "") -> str:
    proc = subprocess.run([sys.executable, "-c", prelude + GET_IN_NEW_PROCESS, str(FIXTURE), str(BILLING_KEY)],
                          env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _genuine_entry() -> Path:
    """The compiled module this process loaded, in the real cache."""
    sh = _runtime.shared()
    digest = _cache._read_wasm()[1]
    path = Path(_cache.entry_path(_cache.cache_dir(), digest, sh.version))
    assert path.is_file(), "the module was not cached under the real HOME"
    return path


@pytest.fixture
def isolated(tmp_path: Path) -> Dict[str, object]:
    """A HOME with a known cache key and an empty cache directory, holding a
    copy of the genuine compiled module tagged with that key."""
    home, cache = tmp_path / "home", tmp_path / "xdg" / "agent-vault"
    (home / ".agent-vault").mkdir(parents=True)
    cache.mkdir(parents=True)
    key = os.urandom(32)
    key_file = home / ".agent-vault" / "cache-key"
    key_file.write_bytes(key)
    key_file.chmod(0o600)
    digest = _cache._read_wasm()[1]
    entry = cache / _genuine_entry().name
    shutil.copyfile(_genuine_entry(), entry)
    entry.chmod(0o600)
    Path(f"{entry}.mac").write_text(_cache._mac(key, b"module", digest, entry.read_bytes()).hex())
    env = dict(os.environ, HOME=str(home), XDG_CACHE_HOME=str(tmp_path / "xdg"))
    return {"env": env, "key": key, "entry": entry, "digest": digest, "cache": cache}


def _planted_module() -> bytes:
    import wasmtime

    return bytes(wasmtime.Module(wasmtime.Engine(), PLANTED_WAT).serialize())


def test_tagged_entry_is_mapped_in_and_left_alone(isolated: Dict[str, object]) -> None:
    entry: Path = isolated["entry"]  # type: ignore[assignment]
    before = entry.stat()
    assert _get_in_new_process(isolated["env"]) == _expected_stripe().decode()  # type: ignore[arg-type]
    after = entry.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    # The module's hash, remembered (and tagged) under its file's stats.
    stamps = list(Path(isolated["cache"]).glob("*.sha256"))  # type: ignore[arg-type]
    assert len(stamps) == 1 and stamps[0].read_text().startswith(str(isolated["digest"]))
    assert stamps[0].stat().st_mode & 0o077 == 0


def test_planted_module_is_not_loaded(isolated: Dict[str, object]) -> None:
    """A different module in the cache entry, with the old tag beside it, is
    refused and the module compiled again."""
    entry: Path = isolated["entry"]  # type: ignore[assignment]
    planted = _planted_module()
    entry.write_bytes(planted)
    assert _get_in_new_process(isolated["env"]) == _expected_stripe().decode()  # type: ignore[arg-type]
    assert entry.read_bytes() != planted  # replaced by a fresh compilation
    digest, key = str(isolated["digest"]), bytes(isolated["key"])  # type: ignore[arg-type]
    assert bytes.fromhex(Path(f"{entry}.mac").read_text()) == _cache._mac(key, b"module", digest, entry.read_bytes())


def test_planted_module_with_a_forged_tag_would_answer(isolated: Dict[str, object]) -> None:
    """The control for the test above: the planted module, tagged with the
    cache key (which an attacker does not have), is loaded and answers."""
    entry: Path = isolated["entry"]  # type: ignore[assignment]
    planted = _planted_module()
    entry.write_bytes(planted)
    key, digest = bytes(isolated["key"]), str(isolated["digest"])  # type: ignore[arg-type]
    Path(f"{entry}.mac").write_text(_cache._mac(key, b"module", digest, planted).hex())
    assert _get_in_new_process(isolated["env"]) == "planted"  # type: ignore[arg-type]


def test_flipped_bytes_and_foreign_files_are_refused(isolated: Dict[str, object], tmp_path: Path) -> None:
    sh = _runtime.shared()
    entry: Path = isolated["entry"]  # type: ignore[assignment]
    key, digest = bytes(isolated["key"]), str(isolated["digest"])  # type: ignore[arg-type]

    def load() -> object:
        return _cache._load_verified(sh.backend, sh.engine, str(entry), key, digest)

    assert load() is not None
    assert _cache._load_verified(sh.backend, sh.engine, str(entry), os.urandom(32), digest) is None  # another key
    entry.chmod(0o622)  # writable by others: not trusted whatever its tag
    assert load() is None
    entry.chmod(0o600)
    data = bytearray(entry.read_bytes())
    data[len(data) // 2] ^= 0x01
    entry.write_bytes(bytes(data))
    assert load() is None
    # A stamp pointing at another module's hash is not believed.
    stamp = tmp_path / "stamp.sha256"
    stamp.write_bytes(_cache._tagged(key, b"stamp", "ident", digest))
    assert _cache._read_tagged(str(stamp), key, b"stamp", "ident") == digest
    stamp.write_text(stamp.read_text().replace(digest, "0" * 64))
    assert _cache._read_tagged(str(stamp), key, b"stamp", "ident") is None


def test_checked_bytes_are_bound_to_the_file(isolated: Dict[str, object], monkeypatch: pytest.MonkeyPatch) -> None:
    """Once its bytes check out, an entry whose last change is old enough is
    bound to its identity; the binding spares later loads the hashing and
    breaks with any change to the file."""
    import time

    sh = _runtime.shared()
    entry: Path = isolated["entry"]  # type: ignore[assignment]
    key, digest = bytes(isolated["key"]), str(isolated["digest"])  # type: ignore[arg-type]
    mac = Path(f"{entry}.mac")

    def load() -> object:
        return _cache._load_verified(sh.backend, sh.engine, str(entry), key, digest)

    assert load() is not None and len(mac.read_text().split()) == 1  # changed just now: not bound yet
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 60)
    assert load() is not None
    tag, bound = mac.read_text().split()
    mac.write_text(f"{'0' * 64}\n{bound}\n")  # a wrong content tag: only the binding can pass
    assert load() is not None
    with open(entry, "r+b") as f:  # the same bytes written again: a new ctime
        first = f.read(1)
        f.seek(0)
        f.write(first)
    assert load() is None
    mac.write_text(f"{tag}\n{bound}\n")
    assert load() is not None  # the content tag still holds: bound afresh
    assert mac.read_text().split()[1] != bound


def test_builtin_hmac_matches_the_hmac_module() -> None:
    import hmac

    # RFC 4231, test case 2.
    assert _cache._hmac_sha256(b"Jefe", b"what do ya want for nothing?").hex() == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    for size in (0, 1, 55, 56, 63, 64, 65, 200, 4095):
        for key_size in (1, 32, 64, 65, 131):
            key, msg = os.urandom(key_size), os.urandom(size)
            assert _cache._hmac_sha256(key, msg) == hmac.digest(key, msg, "sha256"), (size, key_size)
    key, big = os.urandom(32), os.urandom(5000)
    assert _cache._mac(key, b"l", "d", big) == _cache._mac(key, b"l", "d", memoryview(big)) == hmac.digest(
        key, b"l\0d\0" + big, "sha256")
    assert _cache._mac(key, b"l", "d", big[:100]) == hmac.digest(key, b"l\0d\0" + big[:100], "sha256")


def test_cache_key_is_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    key = _cache.cache_key()
    path = tmp_path / ".agent-vault" / "cache-key"
    assert key is not None and len(key) == 32 and path.read_bytes() == key
    assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o777 == 0o700
    assert _cache.cache_key() == key
    path.chmod(0o644)  # readable by others: no longer a secret, so not used
    assert _cache.cache_key() is None
    path.write_bytes(b"short")
    path.chmod(0o600)
    assert _cache.cache_key() is None


def test_prune_keeps_the_newest(tmp_path: Path) -> None:
    for i in range(6):
        for suffix in (".cwasm", ".cwasm.mac", ".sha256"):
            p = tmp_path / f"agent_vault-old{i}{suffix}"
            p.write_text("x")
            os.utime(p, (1_000_000 + i, 1_000_000 + i))
    (tmp_path / ".x.tmp-left").write_text("x")
    os.utime(tmp_path / ".x.tmp-left", (1_000_000, 1_000_000))
    _cache._prune(str(tmp_path))
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(f"agent_vault-old{i}{s}" for i in range(2, 6) for s in (".cwasm", ".cwasm.mac", ".sha256"))


def test_cache_dir_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert _cache.cache_dir() == str(tmp_path / "xdg" / "agent-vault")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert _cache.cache_dir() == str(tmp_path / ".cache" / "agent-vault")


def test_c_api_declarations_match_wasmtime() -> None:
    """_capi declares the C API itself; the installed wasmtime's generated
    bindings are the reference, and this version is one _capi claims."""
    import ctypes

    from wasmtime import _bindings, _ffi

    from agent_vault import _capi

    assert _runtime.shared().version.split(".")[0] in _capi.CHECKED
    assert _runtime.shared().backend is _capi
    for mine, theirs in [
        (_capi.Func, _bindings.wasmtime_func_t),
        (_capi.Memory, _bindings.wasmtime_memory_t),
        (_capi.Extern, _bindings.wasmtime_extern_t),
        (_capi.InstanceRef, _bindings.wasmtime_instance_t),
        (_capi.Val, _bindings.wasmtime_val_t),
        (_capi._Vec, _bindings.wasm_byte_vec_t),
        (_capi._Vec, _bindings.wasm_valtype_vec_t),
    ]:
        assert (ctypes.sizeof(mine), ctypes.alignment(mine)) == (ctypes.sizeof(theirs), ctypes.alignment(theirs))
    assert _capi.Extern.of.offset == _bindings.wasmtime_extern_t.of.offset
    assert _capi.Val.of.offset == _bindings.wasmtime_val_t.of.offset
    assert (_capi.I32, _capi.I64) == (_ffi.WASMTIME_I32.value, _ffi.WASMTIME_I64.value) == (_ffi.WASM_I32.value,
                                                                                            _ffi.WASM_I64.value)
    assert (_capi.EXTERN_FUNC, _capi.EXTERN_MEMORY) == (_ffi.WASMTIME_EXTERN_FUNC.value,
                                                        _ffi.WASMTIME_EXTERN_MEMORY.value)
    theirs_cb = _bindings.wasmtime_func_callback_t
    assert _capi.CALLBACK._restype_ == theirs_cb._restype_
    assert [ctypes.sizeof(a) for a in _capi.CALLBACK._argtypes_] == [ctypes.sizeof(a) for a in theirs_cb._argtypes_]

    def size(t: object) -> int:
        return 0 if t is None else ctypes.sizeof(t)  # type: ignore[arg-type]

    for name, (res, args) in _capi.SIGNATURES.items():
        ref = getattr(_bindings, "_" + name)
        assert size(res) == size(ref.restype), name
        assert [size(a) for a in args] == [size(a) for a in ref.argtypes], name


def test_unchecked_version_uses_the_public_api() -> None:
    from agent_vault import _capi, _pyapi

    package = _runtime._wasmtime_dir()
    assert _runtime.backend(package, "999.0.0") is _pyapi
    assert _runtime.backend(None, _runtime.shared().version) is _pyapi
    assert _runtime.backend(package, _runtime.shared().version) is _capi
    # A whole get through the public API, in a process where no version is checked.
    prelude = "from agent_vault import _capi; _capi.CHECKED = (); "
    check = "; from agent_vault import _runtime; assert _runtime.shared().backend.__name__.endswith('_pyapi')"
    proc = subprocess.run([sys.executable, "-c", prelude + GET_IN_NEW_PROCESS + check, str(FIXTURE),
                           str(BILLING_KEY)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == _expected_stripe().decode()


def test_abi_mismatch_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_runtime, "ABI_VERSION", _runtime.ABI_VERSION + 1)
    with pytest.raises(VaultError) as info:
        _runtime.Instance()
    assert f"ABI version {_runtime.ABI_VERSION - 1}" in str(info.value)
    assert f"needs version {_runtime.ABI_VERSION}" in str(info.value)
    assert "same build" in info.value.hint


def test_module_version() -> None:
    assert agent_vault.module_version()
    assert agent_vault.ABI_VERSION == 3


def test_guest_and_host_buffers_are_zeroed() -> None:
    """The response holding the value is freed, so zeroed, once copied out;
    the host's own copies of requests and answers are zeroed too."""
    value = _expected_stripe()
    with Vault(FIXTURE, key_path=BILLING_KEY, auto_pull=False) as v:
        assert v.get_bytes("stripe/api-key") == value
        mem = v._instance._i.memory
        memory = mem.read(0, mem.size())
    assert base64.b64encode(value) not in memory

    class Mem:
        def __init__(self) -> None:
            self.data = bytearray(64)

        def read(self, start: int, n: int) -> bytearray:
            return bytearray(self.data[start:start + n])

        def write(self, start: int, data: bytes) -> None:
            self.data[start:start + len(data)] = data

    mem2 = Mem()
    req = b'{"op":"lstat","path":"/"}'
    mem2.write(0, req)
    n = _runtime._host_call(mem2, 0, len(req))
    answer = _runtime._pending.answer
    _runtime._host_result(mem2, 32)
    assert mem2.data[32] == 0 and b'"type":"dir"' in mem2.data[33:32 + n]
    assert answer == bytearray(n) and _runtime._pending.answer is None


def _copy_fixture(dst: Path) -> Path:
    shutil.copytree(FIXTURE, dst, symlinks=True)
    return dst


def test_symlinked_secret_is_refused(tmp_path: Path) -> None:
    """lstat must not follow links: core refuses them inside a vault."""
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


def test_reading_leaves_the_vault_alone(tmp_path: Path) -> None:
    repo = _copy_fixture(tmp_path / "vault")
    before = sorted(str(p.relative_to(repo)) for p in repo.rglob("*"))
    with Vault(repo, key_path=BILLING_KEY, auto_pull=False) as v:
        v.get("stripe/api-key")
        v.check()
    assert sorted(str(p.relative_to(repo)) for p in repo.rglob("*")) == before


def test_raw_request_garbage_is_an_error() -> None:
    instance = _runtime.Instance()
    with pytest.raises(agent_vault.InvalidInputError):
        instance.call({"op": "no-such-op"})
    assert b'"ok":false' in instance.call_bytes(b"\xff{not json")
    assert instance.call({"op": "version"})["abi"] == 3


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
