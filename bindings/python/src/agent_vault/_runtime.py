"""Loading and calling the agent-vault WebAssembly module (docs/wasm-abi.md).

The engine, the compiled module and the WASI linker exist once per process.
Compiling the module takes seconds, so the compiled code is cached on disk
(``Module.serialize``) and later processes map it back in milliseconds.
Each ``Instance`` is one module instance with its own store and its own
read-only mount of a vault directory.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
import time
from pathlib import Path
from typing import Any, Dict, Optional, Type, TypeVar, Union

import wasmtime

from ._errors import VaultError, error_from_code

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

Request = Dict[str, Any]


class _Shared:
    """The per-process engine, compiled module and pre-linked instance."""

    def __init__(self) -> None:
        self.engine = wasmtime.Engine()
        self.module = _load_module(self.engine)
        linker = wasmtime.Linker(self.engine)
        linker.define_wasi()
        self.pre = linker.instantiate_pre(self.module)


_shared: Optional[_Shared] = None
_shared_lock = threading.Lock()


def _get_shared() -> _Shared:
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = _Shared()
        return _shared


def wasm_path() -> Path:
    """Returns the path of the module shipped inside this package."""
    return Path(__file__).with_name(_WASM_NAME)


def cache_dir() -> Path:
    """Returns the directory holding compiled modules.

    This is a cache of this binding's own compiled code, needed before the
    module (and so core) can run at all, which is why it is decided here:
    ``$XDG_CACHE_HOME/agent-vault``, else ``~/.cache/agent-vault``.
    """
    base = os.environ.get("XDG_CACHE_HOME") or ""
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "agent-vault"


def _wasmtime_version() -> str:
    # importlib.metadata costs more start-up time than the rest of this
    # package, so first read the version off wasmtime's own dist-info
    # folder, the one installers put beside the package.
    site = Path(wasmtime.__file__).parent.parent
    found = [p.name[len("wasmtime-") : -len(".dist-info")] for p in site.glob("wasmtime-*.dist-info")]
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


def cache_file(wasm: bytes) -> Path:
    """Returns the cache path for wasm compiled by this wasmtime.

    Serialized code only loads into the same wasmtime version on the same
    architecture, so both are part of the name along with the module hash.
    """
    digest = hashlib.sha256(wasm).hexdigest()[:32]
    name = f"agent_vault-{digest}-wasmtime-{_wasmtime_version()}-{_machine()}.cwasm"
    return cache_dir() / name


def _load_module(engine: wasmtime.Engine) -> wasmtime.Module:
    path = wasm_path()
    try:
        wasm = path.read_bytes()
    except OSError as e:
        raise VaultError(
            f"cannot read the agent-vault module at {path}: {e.strerror}",
            hint="reinstall agent-vault; from a source checkout run `make build` first",
        ) from None
    cached = cache_file(wasm)
    if cached.is_file():
        try:
            return wasmtime.Module.deserialize_file(engine, str(cached))
        except wasmtime.WasmtimeError:
            pass  # stale or damaged: compile again and replace it below
    try:
        module = wasmtime.Module(engine, wasm)
    except wasmtime.WasmtimeError as e:
        raise VaultError(f"cannot compile the agent-vault module at {path}: {e}") from None
    try:
        _write_atomic(cached, module.serialize())
        _prune(cached.parent)
    except OSError:
        pass  # the cache only saves time; a read-only home still works
    return module


# Compiled modules kept per cache directory: enough for a few installed
# versions side by side, without growing by one per upgrade forever.
_KEEP = 4


def _prune(directory: Path) -> None:
    """Drops all but the newest compiled modules, and temp files that a
    killed process left behind."""
    now = time.time()
    entries = []
    for p in directory.iterdir():
        try:
            st = p.stat()
        except OSError:
            continue
        if p.name.startswith(".tmp-") and now - st.st_mtime > 3600:
            p.unlink(missing_ok=True)
        elif p.name.startswith("agent_vault-") and p.name.endswith(".cwasm"):
            entries.append((st.st_mtime, p))
    for _, p in sorted(entries, reverse=True)[_KEEP:]:
        p.unlink(missing_ok=True)


def _write_atomic(path: Path, data: Union[bytes, bytearray]) -> None:
    """Writes data so that readers see the old file or the whole new one."""
    import tempfile  # only needed on a cache miss; kept off the start-up path

    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".cwasm", dir=path.parent)
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


T = TypeVar("T", wasmtime.Func, wasmtime.Memory)


def _export(exports: Any, name: str, kind: Type[T]) -> T:
    try:
        item = exports[name]
    except KeyError:
        item = None
    if not isinstance(item, kind):
        raise VaultError(f"{wasm_path()} is not an agent-vault module: it lacks the {name} export")
    return item


def _zero(buf: bytearray) -> None:
    buf[:] = bytes(len(buf))


class Instance:
    """One module instance; ``mount`` (a host directory) appears at /vault.

    An instance is single-threaded: the caller serialises calls. A trap
    leaves the instance unusable; ``broken`` then tells the owner to make a
    new one.
    """

    def __init__(self, mount: Optional[str] = None) -> None:
        shared = _get_shared()
        self._store = wasmtime.Store(shared.engine)
        wasi = wasmtime.WasiConfig()
        if mount is not None:
            try:
                wasi.preopen_dir(mount, GUEST_ROOT, False)
            except wasmtime.WasmtimeError:
                # Nothing to mount: core's open then reports the missing
                # vault with its own code and message.
                pass
        self._store.set_wasi(wasi)
        self.broken = False
        try:
            exports = shared.pre.instantiate(self._store).exports(self._store)
            self._memory = _export(exports, "memory", wasmtime.Memory)
            self._alloc = _export(exports, "av_alloc", wasmtime.Func)
            self._free = _export(exports, "av_free", wasmtime.Func)
            self._call = _export(exports, "av_call", wasmtime.Func)
            _export(exports, "_initialize", wasmtime.Func)(self._store)
            abi = _export(exports, "av_abi_version", wasmtime.Func)(self._store)
        except (wasmtime.Trap, wasmtime.WasmtimeError) as e:
            raise VaultError(f"failed to start the agent-vault module: {e}") from None
        if abi != ABI_VERSION:
            raise VaultError(
                f"{wasm_path()} has ABI version {abi}, but this agent_vault package needs "
                f"version {ABI_VERSION}",
                hint="the .wasm file and the Python package must come from the same build: "
                "reinstall agent-vault (or run `make build` in a source checkout)",
            )

    def call_bytes(self, request: Union[bytes, bytearray]) -> bytearray:
        """Sends one raw request; returns a copy of the raw response.

        Both guest buffers are freed (and so zeroed) before this returns.
        """
        if self.broken:
            raise VaultError("the agent-vault module instance stopped after an earlier fault")
        store = self._store
        try:
            ptr = self._alloc(store, len(request))
            try:
                if request:
                    self._memory.write(store, request, ptr)
                packed = self._call(store, ptr, len(request))
            finally:
                self._free(store, ptr)
            rptr, rlen = (packed >> 32) & 0xFFFFFFFF, packed & 0xFFFFFFFF
            if rptr == 0:
                raise VaultError("the module rejected the request buffer")
            try:
                return self._memory.read(store, rptr, rptr + rlen)
            finally:
                self._free(store, rptr)
        except (wasmtime.Trap, wasmtime.WasmtimeError) as e:
            self.broken = True
            raise VaultError(f"the agent-vault module faulted: {e}") from None

    def call(self, request: Request) -> Any:
        """Sends a request and returns its result, or raises its error."""
        data = bytearray(json.dumps(request, separators=(",", ":")).encode())
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
        data = bytearray(json.dumps(request, separators=(",", ":")).encode())
        try:
            resp = self.call_bytes(data)
        finally:
            _zero(data)
        try:
            if resp.startswith(_GET_HEAD) and resp.endswith(_GET_TAIL):
                return base64.b64decode(memoryview(resp)[len(_GET_HEAD) : len(resp) - len(_GET_TAIL)])
            return base64.b64decode(_decode(resp)["value"])
        finally:
            _zero(resp)


def _decode(resp: bytearray) -> Any:
    try:
        env = json.loads(resp)
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
_pure_lock = threading.Lock()


def call_pure(request: Request) -> Any:
    """Runs an op that needs no files (locate, resolve_key, decrypt) on a
    shared instance with nothing mounted."""
    global _pure
    with _pure_lock:
        if _pure is None or _pure.broken:
            _pure = Instance(None)
        return _pure.call(request)
