"""The module through wasmtime's C API, with ctypes.

Importing the ``wasmtime`` package's Python layer costs more than a whole
cold get (it declares every function of the C API), so for the versions in
``CHECKED`` the C library inside that package is called directly. The
declarations below are those versions' layouts; the tests compare them with
the installed package's own generated bindings. Any other version goes
through ``_pyapi`` (wasmtime's public Python API) instead. This is the only
file that knows the C API.
"""

from __future__ import annotations

import ctypes
import os
import sys
from ctypes import POINTER, Structure, Union, byref, c_bool, c_char, c_char_p, c_int32, c_int64, c_size_t
from ctypes import c_uint8, c_uint32, c_uint64, c_void_p

from ._errors import WasmError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Optional, Tuple

#: The wasmtime majors these declarations were checked against.
CHECKED = ("49", "50")


class _Vec(Structure):  # wasm_byte_vec_t and wasm_valtype_vec_t
    _fields_ = [("size", c_size_t), ("data", c_void_p)]


class Func(Structure):
    _fields_ = [("store_id", c_uint64), ("private", c_void_p)]


class _StoreIndex(Structure):
    _fields_ = [("store_id", c_uint64), ("private1", c_uint32)]


class Memory(Structure):
    _fields_ = [("anon", _StoreIndex), ("private2", c_uint32)]


class _Global(Structure):
    _fields_ = [("store_id", c_uint64), ("private1", c_uint32), ("private2", c_uint32), ("private3", c_uint32)]


class _ExternUnion(Union):
    # global, table and tag share the largest layout; sharedmemory is a pointer.
    _fields_ = [("func", Func), ("memory", Memory), ("global_", _Global)]


class Extern(Structure):
    _fields_ = [("kind", c_uint8), ("of", _ExternUnion)]


class InstanceRef(Structure):
    _fields_ = [("store_id", c_uint64), ("private", c_size_t)]


class _Ref(Structure):
    _fields_ = [("store_id", c_uint64), ("private1", c_uint32), ("private2", c_uint32), ("private3", c_void_p)]


class _ValUnion(Union):
    _fields_ = [("i32", c_int32), ("i64", c_int64), ("ref", _Ref), ("funcref", Func), ("v128", c_uint8 * 16)]


class Val(Structure):
    _fields_ = [("kind", c_uint8), ("of", _ValUnion)]


I32, I64, EXTERN_FUNC, EXTERN_MEMORY = 0, 1, 0, 3
#: wasmtime_func_callback_t: (env, caller, args, nargs, results, nresults) -> trap.
CALLBACK = ctypes.CFUNCTYPE(c_size_t, c_void_p, c_void_p, POINTER(Val), c_size_t, POINTER(Val), c_size_t)

_p = c_void_p
#: The functions used, with result and argument types (opaque pointers as
#: c_void_p); tests check them against wasmtime's own bindings.
SIGNATURES: Dict[str, Tuple[Any, List[Any]]] = {
    "wasm_engine_new": (_p, []),
    "wasm_byte_vec_delete": (None, [POINTER(_Vec)]),
    "wasmtime_error_message": (None, [_p, POINTER(_Vec)]),
    "wasmtime_error_delete": (None, [_p]),
    "wasm_trap_message": (None, [_p, POINTER(_Vec)]),
    "wasm_trap_delete": (None, [_p]),
    "wasmtime_trap_new": (_p, [c_char_p, c_size_t]),
    "wasmtime_module_new": (_p, [_p, c_char_p, c_size_t, POINTER(_p)]),
    "wasmtime_module_deserialize": (_p, [_p, c_char_p, c_size_t, POINTER(_p)]),
    "wasmtime_module_deserialize_file": (_p, [_p, c_char_p, POINTER(_p)]),
    "wasmtime_module_serialize": (_p, [_p, POINTER(_Vec)]),
    "wasm_valtype_new": (_p, [c_uint8]),
    "wasm_valtype_vec_new": (None, [POINTER(_Vec), c_size_t, POINTER(_p)]),
    "wasm_functype_new": (_p, [POINTER(_Vec), POINTER(_Vec)]),
    "wasm_functype_delete": (None, [_p]),
    "wasmtime_linker_new": (_p, [_p]),
    "wasmtime_linker_define_wasi": (_p, [_p]),
    "wasmtime_linker_define_func": (_p, [_p, c_char_p, c_size_t, c_char_p, c_size_t, _p, CALLBACK, _p, _p]),
    "wasmtime_linker_instantiate_pre": (_p, [_p, _p, POINTER(_p)]),
    "wasmtime_linker_delete": (None, [_p]),
    "wasmtime_caller_export_get": (c_bool, [_p, c_char_p, c_size_t, POINTER(Extern)]),
    "wasmtime_caller_context": (_p, [_p]),
    "wasmtime_store_new": (_p, [_p, _p, _p]),
    "wasmtime_store_context": (_p, [_p]),
    "wasmtime_store_delete": (None, [_p]),
    "wasi_config_new": (_p, []),
    "wasmtime_context_set_wasi": (_p, [_p, _p]),
    "wasmtime_instance_pre_instantiate": (_p, [_p, _p, POINTER(InstanceRef), POINTER(_p)]),
    "wasmtime_instance_export_get": (c_bool, [_p, POINTER(InstanceRef), c_char_p, c_size_t, POINTER(Extern)]),
    "wasmtime_func_call": (_p, [_p, POINTER(Func), POINTER(Val), c_size_t, POINTER(Val), c_size_t, POINTER(_p)]),
    "wasmtime_memory_data": (_p, [_p, POINTER(Memory)]),
    "wasmtime_memory_data_size": (c_size_t, [_p, POINTER(Memory)]),
}


def library_path(package: str) -> Optional[str]:
    """The C library inside the wasmtime package, named as wasmtime/_ffi.py
    names it, or None if it is not there."""
    plat = "android" if hasattr(sys, "getandroidapilevel") else sys.platform
    lib = {"linux": "_libwasmtime.so", "android": "_libwasmtime.so", "win32": "_wasmtime.dll",
           "darwin": "_libwasmtime.dylib"}.get(plat)
    try:
        machine = os.uname().machine
    except AttributeError:  # Windows
        import platform

        machine = platform.machine()
    machine = {"AMD64": "x86_64", "amd64": "x86_64", "arm64": "aarch64", "ARM64": "aarch64"}.get(machine, machine)
    path = os.path.join(package, f"{plat}-{machine}", lib or "")
    return path if lib and os.path.isfile(path) else None


_lib: Any = None


def load(package: str) -> None:
    """Loads the C library of the wasmtime package in ``package`` (a CDLL of
    our own, so our argtypes stay off the handles wasmtime itself uses)."""
    global _lib
    path = library_path(package)
    if path is None:
        raise WasmError(f"no wasmtime C library in {package}")
    lib = ctypes.CDLL(path)
    for name, (res, args) in SIGNATURES.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args
    _lib = lib


def _check(err: Optional[int], trap: Optional[int] = None) -> None:
    """Raises WasmError for a wasmtime error or trap, freeing both."""
    if not err and not trap:
        return
    vec = _Vec()
    if err:
        _lib.wasmtime_error_message(err, byref(vec))
        _lib.wasmtime_error_delete(err)
    else:
        _lib.wasm_trap_message(trap, byref(vec))
    if trap:
        _lib.wasm_trap_delete(trap)
    message = ctypes.string_at(vec.data, vec.size).rstrip(b"\0").decode("utf-8", "replace")
    _lib.wasm_byte_vec_delete(byref(vec))
    raise WasmError(message)


def engine() -> int:
    return int(_lib.wasm_engine_new())


def compile(engine: int, wasm: bytes) -> int:
    out = c_void_p()
    _check(_lib.wasmtime_module_new(engine, wasm, len(wasm), byref(out)))
    return out.value  # type: ignore[return-value]


def deserialize(engine: int, data: bytes) -> int:
    out = c_void_p()
    _check(_lib.wasmtime_module_deserialize(engine, data, len(data), byref(out)))
    return out.value  # type: ignore[return-value]


def deserialize_file(engine: int, path: str) -> int:
    """Maps a file written by serialize back in (no compilation)."""
    out = c_void_p()
    _check(_lib.wasmtime_module_deserialize_file(engine, os.fsencode(path), byref(out)))
    return out.value  # type: ignore[return-value]


def serialize(module: int) -> bytes:
    vec = _Vec()
    _check(_lib.wasmtime_module_serialize(module, byref(vec)))
    try:
        return ctypes.string_at(vec.data, vec.size)
    finally:
        _lib.wasm_byte_vec_delete(byref(vec))


class _Mem:
    """Bounds-checked access to a linear memory; its address and size change
    when it grows, so they are fetched for each access."""

    __slots__ = ("ctx", "memory")

    def __init__(self, ctx: int, memory: Memory) -> None:
        self.ctx, self.memory = ctx, memory

    def _span(self, start: int, n: int) -> int:
        base = _lib.wasmtime_memory_data(self.ctx, byref(self.memory)) or 0
        if not 0 <= start <= start + n <= _lib.wasmtime_memory_data_size(self.ctx, byref(self.memory)):
            raise WasmError("a buffer outside the module's memory")
        return int(base) + start

    def size(self) -> int:
        return int(_lib.wasmtime_memory_data_size(self.ctx, byref(self.memory)))

    def read(self, start: int, n: int) -> bytearray:
        out = bytearray(n)
        if n:
            ctypes.memmove((c_char * n).from_buffer(out), self._span(start, n), n)
        return out

    def write(self, start: int, data: bytes | bytearray) -> None:
        n = len(data)
        if n:
            src = (c_char * n).from_buffer(data) if isinstance(data, bytearray) else data
            ctypes.memmove(self._span(start, n), src, n)


def _host_func(fn: Callable[..., Optional[int]]) -> Any:
    """Wraps fn(memory, *i32 args) -> i32 or None as a host callback. An
    exception becomes a trap: the module's call fails instead of going on
    with a made-up answer."""

    def callback(env: int, caller: int, args: Any, nargs: int, results: Any, nresults: int) -> int:
        try:
            item = Extern()
            if not _lib.wasmtime_caller_export_get(caller, b"memory", 6, byref(item)):
                raise WasmError("the module exports no memory")
            mem = _Mem(_lib.wasmtime_caller_context(caller), item.of.memory)
            out = fn(mem, *(args[i].of.i32 for i in range(nargs)))
            if nresults:
                results[0].kind, results[0].of.i32 = I32, out
            return 0
        except BaseException as e:
            msg = f"host function failed: {type(e).__name__}".encode()
            return int(_lib.wasmtime_trap_new(msg, len(msg)))

    return CALLBACK(callback)


# Callbacks stay referenced for as long as the process may call them.
_keep: List[Any] = []


def link(engine: int, module: int, imports: Dict[str, Tuple[Callable[..., Optional[int]], int, int]]) -> int:
    """Links module against WASI and the host functions ``imports`` (name:
    (function, number of i32 params, number of i32 results)) of the module
    agent_vault; returns the pre-linked instance."""
    linker = _lib.wasmtime_linker_new(engine)
    try:
        _check(_lib.wasmtime_linker_define_wasi(linker))
        for name, (fn, nparams, nresults) in imports.items():
            vecs = []
            for n in (nparams, nresults):
                types = (c_void_p * max(n, 1))(*[_lib.wasm_valtype_new(I32) for _ in range(n)])
                vecs.append(_Vec())
                _lib.wasm_valtype_vec_new(byref(vecs[-1]), n, types)
            ty = _lib.wasm_functype_new(byref(vecs[0]), byref(vecs[1]))  # takes the vectors
            cb = _host_func(fn)
            _keep.append(cb)
            try:
                _check(_lib.wasmtime_linker_define_func(linker, b"agent_vault", 11, name.encode(), len(name), ty, cb,
                                                        None, None))
            finally:
                _lib.wasm_functype_delete(ty)
        out = c_void_p()
        _check(_lib.wasmtime_linker_instantiate_pre(linker, module, byref(out)))
    finally:
        _lib.wasmtime_linker_delete(linker)  # the pre-linked instance keeps what it needs
    return out.value  # type: ignore[return-value]


class _Call:
    """One exported function with i32 parameters and an optional result,
    reusing its argument buffers."""

    __slots__ = ("_ctx", "_func", "_args", "_n", "_res", "_want")

    def __init__(self, ctx: int, func: Func, nparams: int, result: Optional[int]) -> None:
        self._ctx, self._func, self._n, self._want = ctx, func, nparams, result
        self._args = (Val * max(1, nparams))()
        for i in range(nparams):
            self._args[i].kind = I32
        self._res = (Val * 1)()

    def __call__(self, *params: int) -> int:
        for i, value in enumerate(params):
            self._args[i].of.i32 = value
        trap = c_void_p()
        nres = 0 if self._want is None else 1
        _check(_lib.wasmtime_func_call(self._ctx, byref(self._func), self._args, self._n, self._res, nres,
                                       byref(trap)), trap.value)
        res = self._res[0]
        if self._want is None:
            return 0
        if res.kind != self._want:
            raise WasmError("unexpected result type")
        return int(res.of.i32 if res.kind == I32 else res.of.i64)


class Instance:
    """A store with WASI (no preopened directory) and one instance of a
    pre-linked module; ``memory`` and the agent-vault exports as calls."""

    def __init__(self, engine: int, pre: int) -> None:
        self._ptr = _lib.wasmtime_store_new(engine, None, None)
        ctx = _lib.wasmtime_store_context(self._ptr)
        _check(_lib.wasmtime_context_set_wasi(ctx, _lib.wasi_config_new()))  # takes the config
        inst = InstanceRef()
        trap = c_void_p()
        _check(_lib.wasmtime_instance_pre_instantiate(pre, ctx, byref(inst), byref(trap)), trap.value)

        def export(name: str, kind: int) -> Extern:
            item = Extern()
            if not _lib.wasmtime_instance_export_get(ctx, byref(inst), name.encode(), len(name), byref(item)) \
                    or item.kind != kind:
                raise WasmError(f"the module lacks the {name} export")
            return item

        self.memory = _Mem(ctx, export("memory", EXTERN_MEMORY).of.memory)
        self.initialize = _Call(ctx, export("_initialize", EXTERN_FUNC).of.func, 0, None)
        self.abi_version = _Call(ctx, export("av_abi_version", EXTERN_FUNC).of.func, 0, I32)
        self.alloc = _Call(ctx, export("av_alloc", EXTERN_FUNC).of.func, 1, I32)
        self.free = _Call(ctx, export("av_free", EXTERN_FUNC).of.func, 1, None)
        self.call = _Call(ctx, export("av_call", EXTERN_FUNC).of.func, 2, I64)

    def __del__(self) -> None:
        ptr, self._ptr = getattr(self, "_ptr", None), None
        # At interpreter exit the process is about to release it all anyway.
        if ptr and not sys.is_finalizing():
            _lib.wasmtime_store_delete(ptr)
