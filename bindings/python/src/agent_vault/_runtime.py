"""Loading and calling the agent-vault module (docs/wasm-abi.md).

The engine and the compiled, pre-linked module exist once per process;
each ``Instance`` is one module instance with its own store. The module
asks for files and git through two host imports, answered by ``_host``.

A cold get is dominated by start-up, so this file keeps imports to what a
get needs (no wasmtime Python layer where ``_capi`` applies, no pathlib,
hashlib or typing at run time).
"""

from __future__ import annotations

import _thread
import binascii
import os
import sys

from . import _cache, _host, _wire
from ._errors import VaultError, WasmError, error_from_code

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any, Dict, List, Optional

#: The ABI version this package speaks; a module with another is refused.
ABI_VERSION = 3
_M32, _M64 = 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF
# A successful get without warnings is exactly this (wasm/abi), so the value
# is decoded straight from the copied bytes, never an immutable string.
_GET_HEAD, _GET_TAIL = b'{"ok":true,"result":{"value":"', b'"}}'


def _wasmtime_dir() -> Optional[str]:
    """The installed wasmtime package's directory, found as ``import
    wasmtime`` would find it, without running it."""
    init = getattr(sys.modules.get("wasmtime"), "__file__", None)
    if init:
        return os.path.dirname(str(init))
    from importlib.machinery import PathFinder

    spec = PathFinder.find_spec("wasmtime")
    return str(list(spec.submodule_search_locations)[0]) if spec and spec.submodule_search_locations else None


def wasmtime_version(package: Optional[str]) -> str:
    # importlib.metadata costs more start-up time than all of this package,
    # so the dist-info folder installers put beside the package is read first.
    if package is not None:
        try:
            found = [n[9:-10] for n in os.listdir(os.path.dirname(package))
                     if n.startswith("wasmtime-") and n.endswith(".dist-info")]
        except OSError:
            found = []
        if len(found) == 1:
            return found[0]
    from importlib import metadata

    try:
        return str(metadata.version("wasmtime"))
    except metadata.PackageNotFoundError:
        return "unknown"


def backend(package: Optional[str], version: str) -> ModuleType:
    """``_capi`` for a wasmtime version it was checked against, else the
    public API (``_pyapi``)."""
    if package is not None:
        from . import _capi

        if version.split(".")[0] in _capi.CHECKED:
            try:
                _capi.load(package)
                return _capi
            except (OSError, AttributeError, WasmError):
                pass
    from . import _pyapi

    return _pyapi


try:
    from _thread import _local
except ImportError:  # not CPython
    from threading import local as _local
# The answer host_call keeps for host_result: both run on the thread that
# called into the module, and an instance serves one call at a time.
_pending = _local()


def _zero(buf: bytearray) -> None:
    buf[:] = bytes(len(buf))


def _host_call(mem: Any, ptr: int, size: int) -> int:
    try:
        request = mem.read(ptr & _M32, size & _M32)
    except WasmError:
        return -1
    answer = _host.serve(request)
    _zero(request)
    _pending.answer = answer
    return len(answer)


def _host_result(mem: Any, ptr: int) -> None:
    answer, _pending.answer = getattr(_pending, "answer", None), None
    if answer is not None:
        try:
            mem.write(ptr & _M32, answer)
        finally:
            _zero(answer)


class _Shared:
    """The per-process engine and pre-linked module, never freed."""

    def __init__(self) -> None:
        package = _wasmtime_dir()
        self.version = wasmtime_version(package)
        self.backend = backend(package, self.version)
        self.engine = self.backend.engine()
        module = _cache.load(self.backend, self.engine, self.version)
        try:
            self.pre = self.backend.link(self.engine, module, {"host_call": (_host_call, 2, 1),
                                                               "host_result": (_host_result, 1, 0)})
        except WasmError as e:
            raise VaultError(f"cannot link the agent-vault module: {e}") from None


_shared: Optional[_Shared] = None
_shared_lock = _thread.allocate_lock()


def shared() -> _Shared:
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = _Shared()
        return _shared


def _s32(n: int) -> int:
    return n - (1 << 32) if n & 0x80000000 else n


class Instance:
    """One module instance. Single-threaded: the owner serialises calls. A
    trap leaves it unusable (``broken``)."""

    def __init__(self) -> None:
        sh = shared()
        self.broken = False
        try:
            self._i = sh.backend.Instance(sh.engine, sh.pre)
            self._i.initialize()
            abi = self._i.abi_version()
        except WasmError as e:
            raise VaultError(f"failed to start the agent-vault module: {e}") from None
        if abi != ABI_VERSION:
            raise VaultError(f"{_cache.WASM} has ABI version {abi}, but this agent_vault package needs version "
                             f"{ABI_VERSION}", hint="the .wasm file and the Python package must come from the same "
                             "build: reinstall agent-vault (or run `make build` in a source checkout)")

    def call_bytes(self, request: bytes | bytearray) -> bytearray:
        """Sends one raw request; returns a copy of the raw response. Both
        guest buffers are freed (so zeroed) before this returns."""
        if self.broken:
            raise VaultError("the agent-vault module instance stopped after an earlier fault")
        i = self._i
        try:
            ptr = i.alloc(len(request)) & _M32
            try:
                i.memory.write(ptr, request)
                packed = i.call(_s32(ptr), len(request)) & _M64
            finally:
                i.free(_s32(ptr))
            rptr, rlen = packed >> 32, packed & _M32
            if rptr == 0:
                raise VaultError("the module rejected the request buffer")
            try:
                return i.memory.read(rptr, rlen)
            finally:
                i.free(_s32(rptr))
        except WasmError as e:
            self.broken = True
            raise VaultError(f"the agent-vault module faulted: {e}") from None

    def _send(self, request: Dict[str, Any]) -> bytearray:
        data = bytearray(_wire.dumps(request).encode())
        try:
            return self.call_bytes(data)
        finally:
            _zero(data)

    def call(self, request: Dict[str, Any]) -> Any:
        """Sends a request; returns its result or raises its error, after
        showing its warnings."""
        resp = self._send(request)
        try:
            return _decode(resp)
        finally:
            _zero(resp)

    def call_value(self, request: Dict[str, Any]) -> bytes:
        """Sends a request whose result is ``{"value": base64}`` (a get)."""
        resp = self._send(request)
        try:
            if resp.startswith(_GET_HEAD) and resp.endswith(_GET_TAIL):
                return binascii.a2b_base64(memoryview(resp)[len(_GET_HEAD):len(resp) - len(_GET_TAIL)])
            return binascii.a2b_base64(_decode(resp)["value"])
        finally:
            _zero(resp)


def _decode(resp: bytearray) -> Any:
    try:
        env = _wire.loads(resp)
    except ValueError:
        # Raised outside the handler: the decode error may quote a secret.
        env = None
    if not isinstance(env, dict):
        raise VaultError("the agent-vault module sent a malformed response")
    warnings: List[str] = env.get("warnings") or []
    if warnings:
        import warnings as w

        for message in warnings:
            w.warn(f"agent-vault: {message}", RuntimeWarning, stacklevel=5)
    if env.get("ok") is True:
        return env.get("result")
    err = env.get("error")
    if not isinstance(err, dict):
        raise VaultError("the agent-vault module sent a malformed error response")
    raise error_from_code(str(err.get("code", "")), str(err.get("message", "")), str(err.get("hint") or ""))


_pure: Optional[Instance] = None
_pure_lock = _thread.allocate_lock()


def call_pure(request: Dict[str, Any]) -> Any:
    """Runs an op that needs no vault (version, decrypt) on a shared instance."""
    global _pure
    with _pure_lock:
        if _pure is None or _pure.broken:
            _pure = Instance()
        return _pure.call(request)
