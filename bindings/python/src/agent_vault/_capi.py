"""The few calls of wasmtime's C API this package needs, through ctypes.

Importing the ``wasmtime`` package's Python layer takes longer than the
whole rest of a cold get (it declares every function of the C API), so
the module is driven through the C library that package ships instead:
the same file, so the same wasmtime version. Struct layouts are those of
wasmtime 50's headers; pyproject.toml keeps the dependency within 50.x.

Handles (engine, module, store, ...) are plain pointers; ``WasmError``
carries a wasmtime error or trap message.
"""

from __future__ import annotations

import ctypes
import os
import sys
from ctypes import POINTER, Structure, Union, byref, c_bool, c_char, c_char_p, c_int32, c_int64, c_size_t
from ctypes import c_uint8, c_uint32, c_uint64, c_void_p

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional, Tuple


class WasmError(Exception):
    """A wasmtime error or a trap, with wasmtime's message."""


class _ByteVec(Structure):
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


EXTERN_FUNC = 0
EXTERN_MEMORY = 3


class InstanceRef(Structure):
    _fields_ = [("store_id", c_uint64), ("private", c_size_t)]


class _Ref(Structure):
    _fields_ = [("store_id", c_uint64), ("private1", c_uint32), ("private2", c_uint32), ("private3", c_void_p)]


class _ValUnion(Union):
    _fields_ = [("i32", c_int32), ("i64", c_int64), ("ref", _Ref), ("funcref", Func), ("v128", c_uint8 * 16)]


class Val(Structure):
    _fields_ = [("kind", c_uint8), ("of", _ValUnion)]


I32 = 0
I64 = 1


def _package_dir() -> Optional[str]:
    """Returns the directory of the installed wasmtime package, found the
    way ``import wasmtime`` would find it, without running it."""
    init = getattr(sys.modules.get("wasmtime"), "__file__", None)
    if init:
        return os.path.dirname(str(init))
    from importlib.machinery import PathFinder

    spec = PathFinder.find_spec("wasmtime")
    if spec is None or not spec.submodule_search_locations:
        return None
    return str(list(spec.submodule_search_locations)[0])


def _library_path(package: str) -> Optional[str]:
    """Returns the C library inside the wasmtime package, named as that
    package names it (wasmtime/_ffi.py), or None if it is not there."""
    plat = "android" if hasattr(sys, "getandroidapilevel") else sys.platform
    lib = {"linux": "_libwasmtime.so", "android": "_libwasmtime.so", "win32": "_wasmtime.dll",
           "darwin": "_libwasmtime.dylib"}.get(plat)
    if lib is None:
        return None
    try:
        machine = os.uname().machine
    except AttributeError:  # Windows
        import platform

        machine = platform.machine()
    machine = {"AMD64": "x86_64", "amd64": "x86_64", "arm64": "aarch64", "ARM64": "aarch64"}.get(machine, machine)
    path = os.path.join(package, f"{plat}-{machine}", lib)
    return path if os.path.isfile(path) else None


#: The wasmtime package directory (its dist-info sits beside it).
PACKAGE_DIR = _package_dir()


def _load() -> ctypes.CDLL:
    path = _library_path(PACKAGE_DIR) if PACKAGE_DIR is not None else None
    if path is None:
        # Laid out differently: let wasmtime find it. A CDLL of our own
        # keeps our argtypes off the function objects wasmtime uses.
        from wasmtime import _ffi

        path = _ffi.dll._name
    return ctypes.CDLL(path)


_p = c_void_p

#: The functions used, with their result and argument types (opaque
#: pointers as c_void_p); tests check them against wasmtime's own bindings.
SIGNATURES: Dict[str, Tuple[Any, List[Any]]] = {
    "wasm_engine_new": (_p, []),
    "wasm_byte_vec_delete": (None, [POINTER(_ByteVec)]),
    "wasmtime_error_message": (None, [_p, POINTER(_ByteVec)]),
    "wasmtime_error_delete": (None, [_p]),
    "wasm_trap_message": (None, [_p, POINTER(_ByteVec)]),
    "wasm_trap_delete": (None, [_p]),
    "wasmtime_module_new": (_p, [_p, c_char_p, c_size_t, POINTER(_p)]),
    "wasmtime_module_deserialize_file": (_p, [_p, c_char_p, POINTER(_p)]),
    "wasmtime_module_serialize": (_p, [_p, POINTER(_ByteVec)]),
    "wasmtime_linker_new": (_p, [_p]),
    "wasmtime_linker_define_wasi": (_p, [_p]),
    "wasmtime_linker_instantiate_pre": (_p, [_p, _p, POINTER(_p)]),
    "wasmtime_linker_delete": (None, [_p]),
    "wasmtime_store_new": (_p, [_p, _p, _p]),
    "wasmtime_store_context": (_p, [_p]),
    "wasmtime_store_delete": (None, [_p]),
    "wasi_config_new": (_p, []),
    "wasi_config_preopen_dir": (c_bool, [_p, c_char_p, c_char_p, c_bool]),
    "wasmtime_context_set_wasi": (_p, [_p, _p]),
    "wasmtime_instance_pre_instantiate": (_p, [_p, _p, POINTER(InstanceRef), POINTER(_p)]),
    "wasmtime_instance_export_get": (c_bool, [_p, POINTER(InstanceRef), c_char_p, c_size_t, POINTER(Extern)]),
    "wasmtime_func_call": (_p, [_p, POINTER(Func), POINTER(Val), c_size_t, POINTER(Val), c_size_t, POINTER(_p)]),
    "wasmtime_memory_data": (_p, [_p, POINTER(Memory)]),
    "wasmtime_memory_data_size": (c_size_t, [_p, POINTER(Memory)]),
}

_lib = _load()
for _name, (_res, _args) in SIGNATURES.items():
    _fn = getattr(_lib, _name)
    _fn.restype = _res
    _fn.argtypes = _args


def _message(vec: _ByteVec) -> str:
    return ctypes.string_at(vec.data, vec.size).rstrip(b"\0").decode("utf-8", "replace")


def _check(err: Optional[int], trap: Optional[int] = None) -> None:
    """Raises WasmError for a wasmtime error or trap pointer, freeing both;
    an error's message wins over a trap's."""
    if not err and not trap:
        return
    vec = _ByteVec()
    if err:
        _lib.wasmtime_error_message(err, byref(vec))
        _lib.wasmtime_error_delete(err)
    else:
        _lib.wasm_trap_message(trap, byref(vec))
    if trap:
        _lib.wasm_trap_delete(trap)
    message = _message(vec)
    _lib.wasm_byte_vec_delete(byref(vec))
    raise WasmError(message)


def engine_new() -> int:
    return int(_lib.wasm_engine_new())


def module_deserialize_file(engine: int, path: str) -> int:
    """Maps a file written by module_serialize back in (no compilation)."""
    out = c_void_p()
    _check(_lib.wasmtime_module_deserialize_file(engine, os.fsencode(path), byref(out)))
    return out.value  # type: ignore[return-value]


def module_new(engine: int, wasm: bytes) -> int:
    """Compiles a module."""
    out = c_void_p()
    _check(_lib.wasmtime_module_new(engine, wasm, len(wasm), byref(out)))
    return out.value  # type: ignore[return-value]


def module_serialize(module: int) -> bytes:
    vec = _ByteVec()
    _check(_lib.wasmtime_module_serialize(module, byref(vec)))
    try:
        return ctypes.string_at(vec.data, vec.size)
    finally:
        _lib.wasm_byte_vec_delete(byref(vec))


def wasi_pre(engine: int, module: int) -> int:
    """Links module against WASI once; returns the pre-linked instance."""
    linker = _lib.wasmtime_linker_new(engine)
    try:
        _check(_lib.wasmtime_linker_define_wasi(linker))
        out = c_void_p()
        _check(_lib.wasmtime_linker_instantiate_pre(linker, module, byref(out)))
    finally:
        _lib.wasmtime_linker_delete(linker)  # the pre-linked instance keeps what it needs
    return out.value  # type: ignore[return-value]


class Store:
    """A wasmtime store whose WASI has nothing but, optionally, one
    read-only preopened directory ``(host, guest)``. Everything made in it
    keeps a reference to it, so it is freed only after its last user."""

    __slots__ = ("_ptr", "ctx")

    def __init__(self, engine: int, preopen: Optional[Tuple[str, str]]) -> None:
        self._ptr = _lib.wasmtime_store_new(engine, None, None)
        self.ctx: int = _lib.wasmtime_store_context(self._ptr)
        wasi = _lib.wasi_config_new()
        if preopen is not None:
            # False when the directory cannot be opened: it is left out.
            _lib.wasi_config_preopen_dir(wasi, os.fsencode(preopen[0]), preopen[1].encode(), False)
        _check(_lib.wasmtime_context_set_wasi(self.ctx, wasi))  # takes the config

    def __del__(self) -> None:
        ptr, self._ptr = self._ptr, None
        # At interpreter exit the process is about to release it all anyway.
        if ptr and not sys.is_finalizing():
            _lib.wasmtime_store_delete(ptr)

    def instantiate(self, pre: int) -> InstanceRef:
        inst = InstanceRef()
        trap = c_void_p()
        _check(_lib.wasmtime_instance_pre_instantiate(pre, self.ctx, byref(inst), byref(trap)), trap.value)
        return inst

    def export(self, inst: InstanceRef, name: str) -> Optional[Extern]:
        item = Extern()
        raw = name.encode()
        if not _lib.wasmtime_instance_export_get(self.ctx, byref(inst), raw, len(raw), byref(item)):
            return None
        return item

    def memory_span(self, memory: Memory) -> Tuple[int, int]:
        """Returns the address and size of a linear memory; both change
        when the memory grows, so they are fetched afresh for each access."""
        base = _lib.wasmtime_memory_data(self.ctx, byref(memory))
        size = _lib.wasmtime_memory_data_size(self.ctx, byref(memory))
        return base or 0, size


class Call:
    """A call of one exported function with fixed parameter and result
    types (I32 or I64), reusing its argument buffers."""

    __slots__ = ("_store", "_func", "_args", "_nargs", "_kinds", "_results", "_want")

    def __init__(self, store: Store, func: Func, params: Tuple[int, ...], result: Optional[int]) -> None:
        self._store = store
        self._func = func
        self._nargs = len(params)
        self._args = (Val * max(1, self._nargs))()
        for i, kind in enumerate(params):
            self._args[i].kind = kind
        self._kinds = params
        self._results = (Val * 1)()
        self._want = result

    def __call__(self, *params: int) -> int:
        args = self._args
        for i, value in enumerate(params):
            if self._kinds[i] == I32:
                args[i].of.i32 = value
            else:
                args[i].of.i64 = value
        trap = c_void_p()
        nres = 0 if self._want is None else 1
        err = _lib.wasmtime_func_call(
            self._store.ctx, byref(self._func), args, self._nargs, self._results, nres, byref(trap)
        )
        _check(err, trap.value)
        if self._want is None:
            return 0
        res = self._results[0]
        if res.kind != self._want:
            raise WasmError("unexpected result type")
        return int(res.of.i32 if res.kind == I32 else res.of.i64)


def copy_out(address: int, n: int) -> bytearray:
    """Copies n bytes at address into a new bytearray (which the caller
    can zero, unlike bytes)."""
    out = bytearray(n)
    if n:
        ctypes.memmove((c_char * n).from_buffer(out), address, n)
    return out


def copy_in(address: int, data: bytes | bytearray) -> None:
    n = len(data)
    if n:
        src = (c_char * n).from_buffer(data) if isinstance(data, bytearray) else data
        ctypes.memmove(address, src, n)
