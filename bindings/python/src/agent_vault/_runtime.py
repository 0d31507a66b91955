"""Loading and calling the agent-vault WebAssembly module (docs/wasm-abi.md).

The engine and the compiled, pre-linked module exist once per process.
Compiling the module takes seconds, so the compiled code is cached on disk
and later processes map it back in a millisecond. Each ``Instance`` is one
module instance with its own store and its own read-only mount of a vault
directory.

A cold get is dominated by start-up, so this file keeps imports to what a
get needs (``_capi`` instead of the wasmtime package's Python layer, no
pathlib, hashlib or typing at run time).
"""

from __future__ import annotations

import _thread
import binascii
import os

from . import _capi, _wire
from ._errors import VaultError, error_from_code

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any, Dict, List, Optional, Tuple, Union

    Request = Dict[str, Any]

#: The ABI version this package was written for. A module reporting any
#: other version is refused.
ABI_VERSION = 1

#: Where the vault directory is mounted inside the guest.
GUEST_ROOT = "/vault"

_WASM_NAME = "agent_vault.wasm"

# The guest builds a successful get response by hand in exactly this shape
# (wasm/abi), so the value can be decoded straight from the copied bytes
# without first becoming an immutable Python string.
_GET_HEAD = b'{"ok":true,"result":{"value":"'
_GET_TAIL = b'"}}'


class _Shared:
    """The per-process engine and pre-linked module. Never freed: they live
    as long as the process."""

    def __init__(self) -> None:
        self.engine = _capi.engine_new()
        module = _load_module(self.engine)
        try:
            self.pre = _capi.wasi_pre(self.engine, module)
        except _capi.WasmError as e:
            raise VaultError(f"cannot link the agent-vault module: {e}") from None


_shared: Optional[_Shared] = None
_shared_lock = _thread.allocate_lock()


def _get_shared() -> _Shared:
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = _Shared()
        return _shared


def _wasm_file() -> str:
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), _WASM_NAME)


def wasm_path() -> Path:
    """Returns the path of the module shipped inside this package."""
    from pathlib import Path

    return Path(_wasm_file())


def _cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or ""
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "agent-vault")


def cache_dir() -> Path:
    """Returns the directory holding compiled modules.

    This is a cache of this binding's own compiled code, needed before the
    module (and so core) can run at all, which is why it is decided here:
    ``$XDG_CACHE_HOME/agent-vault``, else ``~/.cache/agent-vault``.
    """
    from pathlib import Path

    return Path(_cache_dir())


def _wasmtime_version() -> str:
    # importlib.metadata costs more start-up time than the rest of this
    # package, so first read the version off wasmtime's own dist-info
    # folder, the one installers put beside the package.
    if _capi.PACKAGE_DIR is not None:
        site = os.path.dirname(_capi.PACKAGE_DIR)
        try:
            names = os.listdir(site)
        except OSError:
            names = []
        found = [n[len("wasmtime-") : -len(".dist-info")] for n in names
                 if n.startswith("wasmtime-") and n.endswith(".dist-info")]
        if len(found) == 1:
            return found[0]
    from importlib import metadata

    try:
        return str(metadata.version("wasmtime"))
    except metadata.PackageNotFoundError:
        # wasmtime also checks its own version when deserializing, so an
        # unversioned name is still safe: a mismatch just recompiles.
        return "unknown"


def _machine() -> str:
    try:
        return os.uname().machine
    except AttributeError:  # Windows
        import platform

        return platform.machine()


def _cache_name(digest: str) -> str:
    """Names the compiled form of the module with this SHA-256.

    Serialized code only loads into the same wasmtime version on the same
    architecture, so both are part of the name along with the module hash.
    """
    return f"agent_vault-{digest[:32]}-wasmtime-{_wasmtime_version()}-{_machine()}.cwasm"


def _stamp_name(st: os.stat_result) -> str:
    """Names the file remembering the SHA-256 of the module file with these
    stats. Any write to the file changes its ctime and a replacement its
    inode, so a changed module never matches an old stamp."""
    ident = "-".join(f"{n:x}" for n in (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
    return f"agent_vault-{ident}.sha256"


def _read_stamp(path: str) -> Optional[str]:
    try:
        with open(path, "rb") as f:
            text = f.read(65)
    except OSError:
        return None
    if len(text) != 64 or text.translate(None, b"0123456789abcdef"):
        return None
    return text.decode()


def _read_module(path: str) -> Tuple[bytes, str]:
    """Returns the module's bytes and their SHA-256."""
    import hashlib

    try:
        with open(path, "rb") as f:
            wasm = f.read()
    except OSError as e:
        raise VaultError(
            f"cannot read the agent-vault module at {path}: {e.strerror}",
            hint="reinstall agent-vault; from a source checkout run `make build` first",
        ) from None
    return wasm, hashlib.sha256(wasm).hexdigest()


def _load_module(engine: int) -> int:
    path = _wasm_file()
    cache = _cache_dir()
    # Hashing the 6 MB module takes longer than mapping its compiled code,
    # so the hash is computed once per module file and remembered under
    # the file's stats.
    try:
        stamp = os.path.join(cache, _stamp_name(os.stat(path)))
    except OSError:
        stamp = ""
    digest = _read_stamp(stamp) if stamp else None
    wasm = None
    if digest is None:
        wasm, digest = _read_module(path)
    cached = os.path.join(cache, _cache_name(digest))
    if os.path.isfile(cached):
        try:
            module = _capi.module_deserialize_file(engine, cached)
        except _capi.WasmError:
            pass  # stale or damaged: compile again and replace it below
        else:
            if wasm is not None and stamp:
                _try_write(stamp, digest.encode())
            return module
    if wasm is None:
        wasm, digest = _read_module(path)
        cached = os.path.join(cache, _cache_name(digest))
    try:
        module = _capi.module_new(engine, wasm)
    except _capi.WasmError as e:
        raise VaultError(f"cannot compile the agent-vault module at {path}: {e}") from None
    try:
        data = _capi.module_serialize(module)
    except _capi.WasmError:
        return module
    if _try_write(cached, data) and stamp:
        _try_write(stamp, digest.encode())
    return module


def _try_write(path: str, data: bytes) -> bool:
    """Writes a cache file; False if it cannot (the cache only saves time,
    and a read-only home still works)."""
    try:
        _write_atomic(path, data)
        _prune(os.path.dirname(path))
    except OSError:
        return False
    return True


# Compiled modules kept per cache directory: enough for a few installed
# versions side by side, without growing by one per upgrade forever.
_KEEP = 4


def _prune(directory: str) -> None:
    """Drops all but the newest compiled modules and hash stamps, and temp
    files that a killed process left behind."""
    import time

    now = time.time()
    kinds: Dict[str, List[Tuple[float, str]]] = {".cwasm": [], ".sha256": []}
    for name in os.listdir(directory):
        p = os.path.join(directory, name)
        try:
            st = os.stat(p)
        except OSError:
            continue
        if name.startswith(".tmp-"):
            if now - st.st_mtime > 3600:
                _unlink(p)
        elif name.startswith("agent_vault-"):
            for suffix, entries in kinds.items():
                if name.endswith(suffix):
                    entries.append((st.st_mtime, p))
    for entries in kinds.values():
        for _, p in sorted(entries, reverse=True)[_KEEP:]:
            _unlink(p)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _write_atomic(path: str, data: Union[bytes, bytearray]) -> None:
    """Writes data so that readers see the old file or the whole new one."""
    import tempfile  # only needed on a cache miss; kept off the start-up path

    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=os.path.splitext(path)[1], dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _zero(buf: bytearray) -> None:
    buf[:] = bytes(len(buf))


class _Fault(Exception):
    """The guest broke the ABI (a buffer outside its memory)."""


class Instance:
    """One module instance; ``mount`` (a host directory) appears at /vault.

    An instance is single-threaded: the caller serialises calls. A trap
    leaves the instance unusable; ``broken`` then tells the owner to make a
    new one.
    """

    def __init__(self, mount: Optional[str] = None) -> None:
        shared = _get_shared()
        self.broken = False
        try:
            # A mount that cannot be opened is left out: core's open then
            # reports the missing vault with its own code and message.
            store = self._store = _capi.Store(shared.engine, None if mount is None else (mount, GUEST_ROOT))
            inst = store.instantiate(shared.pre)
            self._memory = _export(store, inst, "memory", _capi.EXTERN_MEMORY).of.memory

            def func(name: str, params: Tuple[int, ...], result: Optional[int]) -> _capi.Call:
                return _capi.Call(store, _export(store, inst, name, _capi.EXTERN_FUNC).of.func, params, result)

            i32, i64 = _capi.I32, _capi.I64
            self._alloc = func("av_alloc", (i32,), i32)
            self._free = func("av_free", (i32,), None)
            self._call = func("av_call", (i32, i32), i64)
            func("_initialize", (), None)()
            abi = func("av_abi_version", (), i32)()
        except _capi.WasmError as e:
            raise VaultError(f"failed to start the agent-vault module: {e}") from None
        if abi != ABI_VERSION:
            raise VaultError(
                f"{_wasm_file()} has ABI version {abi}, but this agent_vault package needs "
                f"version {ABI_VERSION}",
                hint="the .wasm file and the Python package must come from the same build: "
                "reinstall agent-vault (or run `make build` in a source checkout)",
            )

    def _read(self, start: int, stop: Optional[int] = None) -> bytearray:
        """Copies guest memory [start, stop) (stop None: to its end)."""
        base, size = self._store.memory_span(self._memory)
        if stop is None:
            stop = size
        if not 0 <= start <= stop <= size:
            raise _Fault("a buffer outside the module's memory")
        return _capi.copy_out(base + start, stop - start)

    def _write(self, start: int, data: Union[bytes, bytearray]) -> None:
        base, size = self._store.memory_span(self._memory)
        if not 0 <= start <= start + len(data) <= size:
            raise _Fault("a buffer outside the module's memory")
        _capi.copy_in(base + start, data)

    def call_bytes(self, request: Union[bytes, bytearray]) -> bytearray:
        """Sends one raw request; returns a copy of the raw response.

        Both guest buffers are freed (and so zeroed) before this returns.
        """
        if self.broken:
            raise VaultError("the agent-vault module instance stopped after an earlier fault")
        try:
            ptr = self._alloc(len(request))
            try:
                if request:
                    self._write(ptr & 0xFFFFFFFF, request)
                packed = self._call(ptr, len(request))
            finally:
                self._free(ptr)
            rptr, rlen = (packed >> 32) & 0xFFFFFFFF, packed & 0xFFFFFFFF
            if rptr == 0:
                raise VaultError("the module rejected the request buffer")
            try:
                return self._read(rptr, rptr + rlen)
            finally:
                self._free(rptr)
        except (_capi.WasmError, _Fault) as e:
            self.broken = True
            raise VaultError(f"the agent-vault module faulted: {e}") from None

    def call(self, request: Request) -> Any:
        """Sends a request and returns its result, or raises its error."""
        data = bytearray(_wire.dumps(request).encode())
        try:
            resp = self.call_bytes(data)
        finally:
            _zero(data)
        try:
            return _decode(resp)
        finally:
            _zero(resp)

    def call_value(self, request: Request) -> bytes:
        """Sends a request whose result is ``{"value": base64}`` (a get)."""
        data = bytearray(_wire.dumps(request).encode())
        try:
            resp = self.call_bytes(data)
        finally:
            _zero(data)
        try:
            if resp.startswith(_GET_HEAD) and resp.endswith(_GET_TAIL):
                return binascii.a2b_base64(memoryview(resp)[len(_GET_HEAD) : len(resp) - len(_GET_TAIL)])
            return binascii.a2b_base64(_decode(resp)["value"])
        finally:
            _zero(resp)


def _export(store: _capi.Store, inst: _capi.InstanceRef, name: str, kind: int) -> _capi.Extern:
    item = store.export(inst, name)
    if item is None or item.kind != kind:
        raise VaultError(f"{_wasm_file()} is not an agent-vault module: it lacks the {name} export")
    return item


def _decode(resp: bytearray) -> Any:
    try:
        env = _wire.loads(resp)
    except ValueError:
        # Raised below, outside the handler: the decode error quotes the
        # response, which may hold a secret, and would ride along as context.
        env = None
    if not isinstance(env, dict):
        raise VaultError("the agent-vault module sent a malformed response")
    if env.get("ok") is True:
        return env.get("result")
    err = env.get("error")
    if not isinstance(err, dict):
        raise VaultError("the agent-vault module sent a malformed error response")
    raise error_from_code(str(err.get("code", "")), str(err.get("message", "")), str(err.get("hint") or ""))


_pure: Optional[Instance] = None
_pure_lock = _thread.allocate_lock()


def call_pure(request: Request) -> Any:
    """Runs an op that needs no files (locate, resolve_key, decrypt) on a
    shared instance with nothing mounted."""
    global _pure
    with _pure_lock:
        if _pure is None or _pure.broken:
            _pure = Instance(None)
        return _pure.call(request)
