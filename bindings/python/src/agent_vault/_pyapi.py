"""The module through wasmtime's public Python API: the same functions as
``_capi``, for a wasmtime version ``_capi`` was not checked against. It
costs the import of wasmtime's Python layer on every start."""

from __future__ import annotations

import wasmtime as w

from ._errors import WasmError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, Optional, Tuple


def _wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any) -> Any:
        try:
            return fn(*args)
        except (w.WasmtimeError, w.Trap) as e:
            raise WasmError(str(e)) from None

    return run


engine = w.Engine
compile = _wrap(lambda e, wasm: w.Module(e, wasm))
deserialize = _wrap(lambda e, data: w.Module.deserialize(e, data))
deserialize_file = _wrap(lambda e, path: w.Module.deserialize_file(e, path))
serialize = _wrap(lambda m: bytes(m.serialize()))


class _Mem:
    def __init__(self, memory: w.Memory, store: Any) -> None:
        self.memory, self.store = memory, store

    def size(self) -> int:
        return int(self.memory.data_len(self.store))

    def read(self, start: int, n: int) -> bytearray:
        if not 0 <= start <= start + n <= self.memory.data_len(self.store):
            raise WasmError("a buffer outside the module's memory")
        return bytearray(self.memory.read(self.store, start, start + n))

    def write(self, start: int, data: bytes | bytearray) -> None:
        if not 0 <= start <= start + len(data) <= self.memory.data_len(self.store):
            raise WasmError("a buffer outside the module's memory")
        self.memory.write(self.store, data, start)


def link(e: w.Engine, module: w.Module, imports: Dict[str, Tuple[Callable[..., Optional[int]], int, int]]) -> Any:
    linker = w.Linker(e)
    linker.define_wasi()
    i32 = w.ValType.i32()
    for name, (fn, nparams, nresults) in imports.items():
        def host(caller: w.Caller, *args: int, fn: Callable[..., Optional[int]] = fn) -> Optional[int]:
            return fn(_Mem(caller["memory"], caller), *args)  # type: ignore[arg-type]

        linker.define_func("agent_vault", name, w.FuncType([i32] * nparams, [i32] * nresults), host,
                           access_caller=True)
    return e, linker, module


class Instance:
    @_wrap
    def __init__(self, e: w.Engine, pre: Any) -> None:
        _, linker, module = pre
        store = w.Store(e)
        store.set_wasi(w.WasiConfig())
        exports = linker.instantiate(store, module).exports(store)

        def call(name: str, mask: int = 0) -> Callable[..., int]:
            fn = exports[name]
            return _wrap(lambda *args: (fn(store, *args) or 0) & mask if mask else fn(store, *args))

        self.memory = _Mem(exports["memory"], store)  # type: ignore[arg-type]
        self.initialize, self.free = call("_initialize"), call("av_free")
        self.abi_version, self.alloc = call("av_abi_version", 0xFFFFFFFF), call("av_alloc", 0xFFFFFFFF)
        self.call = call("av_call", 0xFFFFFFFFFFFFFFFF)
