"""The compiled-module cache, authenticated.

Compiling the module takes seconds, so its compiled form is kept in
``$XDG_CACHE_HOME/agent-vault`` and mapped back in by later processes.
That code is what receives the key, so nothing is loaded from the cache
unless it carries an HMAC-SHA256 made with a random secret that only this
user can read (``~/.agent-vault/cache-key``, mode 0600): a module planted in
or copied into the cache directory, or a modified one, is compiled afresh.
The file is opened once, checked (ours, writable by no one else, its tag)
and handed to wasmtime as ``/dev/fd/N``, so a rename in between cannot swap
it. See _load_verified for how later loads avoid hashing it again.
"""

from __future__ import annotations

import os

from . import _host
from ._errors import VaultError, WasmError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any, Optional, Tuple

WASM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "agent_vault.wasm")
PRECOMPILED = os.path.join(os.path.dirname(WASM), "agent_vault.cwasm")
# Entries kept per kind: a few installed versions side by side.
_KEEP = 4


def cache_dir() -> str:
    """``$XDG_CACHE_HOME/agent-vault``, else ``~/.cache/agent-vault``."""
    base = os.environ.get("XDG_CACHE_HOME") or ""
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "agent-vault")


def _mine(st: os.stat_result) -> bool:
    """A regular file of ours that no one else can write."""
    import stat

    uid = getattr(os, "geteuid", None)
    return stat.S_ISREG(st.st_mode) and not st.st_mode & 0o022 and (uid is None or st.st_uid == uid())


def cache_key() -> Optional[bytes]:
    """The secret of ~/.agent-vault/cache-key, made on first use; None when
    there is no usable one (then nothing is read from or written to the cache)."""
    home = os.path.expanduser("~")
    path = os.path.join(home, ".agent-vault", "cache-key")
    nofollow = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    for _ in range(2):
        try:
            with open(os.open(path, os.O_RDONLY | nofollow), "rb") as f:
                st, key = os.fstat(f.fileno()), f.read(33)
            return key if len(key) == 32 and _mine(st) and not st.st_mode & 0o077 else None
        except FileNotFoundError:
            pass
        except OSError:
            return None
        try:
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | nofollow, 0o600)
        except FileExistsError:
            continue  # another process made it first: read that one
        except OSError:
            return None
        try:
            os.write(fd, os.urandom(32))
        finally:
            os.close(fd)
    return None


def _hmac_sha256(key: bytes, msg: bytes) -> bytes:
    """HMAC-SHA256 as RFC 2104 defines it, from the interpreter's built-in
    SHA-256. Only for the short messages of a start-up: the hmac module
    loads OpenSSL, which alone costs a sixth of a cold get. Tests check it
    against the hmac module."""
    try:
        from _sha256 import sha256  # type: ignore[import-not-found]
    except ImportError:  # Python 3.12+
        from _sha2 import sha256  # type: ignore[import-not-found,no-redef]
    block = (key if len(key) <= 64 else sha256(key).digest()).ljust(64, b"\0")
    inner = sha256(bytes(b ^ 0x36 for b in block) + msg).digest()
    return sha256(bytes(b ^ 0x5C for b in block) + inner).digest()  # type: ignore[no-any-return]


def _mac(key: bytes, label: bytes, digest: str, data: Any = b"") -> bytes:
    """The tag of data (bytes or a buffer) under label and a module hash."""
    head = label + b"\0" + digest.encode() + b"\0"
    if isinstance(data, bytes) and len(data) < 4096:
        return _hmac_sha256(key, head + data)
    import hmac

    h = hmac.new(key, head, "sha256")
    h.update(data)
    return h.digest()


def _equal(a: bytes, b: bytes) -> bool:
    from _operator import _compare_digest  # hmac.compare_digest, without importing hmac

    return bool(_compare_digest(a, b))


def _read_wasm() -> Tuple[bytes, str]:
    import hashlib

    try:
        with open(WASM, "rb") as f:
            wasm = f.read()
    except OSError as e:
        raise VaultError(f"cannot read the agent-vault module at {WASM}: {e.strerror}",
                         hint="reinstall agent-vault; from a source checkout run `make build` first") from None
    return wasm, hashlib.sha256(wasm).hexdigest()


def _read_tagged(path: str, key: bytes, label: bytes, digest: str) -> Optional[str]:
    """The text of a small tagged file (text, then the hex tag on its own
    line), or None if the tag does not match."""
    try:
        with open(path, "rb") as f:
            text, _, tag = f.read(4096).decode().partition("\n")
        return text if _equal(bytes.fromhex(tag.strip()), _mac(key, label, digest, text.encode())) else None
    except (OSError, ValueError):
        return None


def _tagged(key: bytes, label: bytes, digest: str, text: str) -> bytes:
    return f"{text}\n{_mac(key, label, digest, text.encode()).hex()}\n".encode()


def _ident(st: os.stat_result) -> str:
    """A file's identity: a replacement changes the inode, any write the
    ctime, which no one but root can set back."""
    return "-".join(f"{n:x}" for n in (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))


def _load_verified(backend: ModuleType, engine: Any, entry: str, key: bytes, digest: str) -> Any:
    """The module in entry if its tag is right, else None.

    Hashing the 14 MB file would cost a third of a cold get, so once its
    bytes have checked out the tag file also binds them to the file's
    identity, and later loads check that binding instead. It is made only
    for a file whose last change is well in the past: a change after it
    would get a later ctime.
    """
    import time

    try:
        with open(entry + ".mac", "rb") as f:
            fields = f.read(400).decode().split()
        tag, bound = bytes.fromhex(fields[0]), bytes.fromhex(fields[1]) if len(fields) > 1 else b""
        fd = os.open(entry, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0))
    except (OSError, ValueError, IndexError):
        return None
    try:
        st = os.fstat(fd)
        if not _mine(st):
            return None
        # Windows has neither /dev/fd nor a ctime that means "changed".
        fast = os.path.isdir("/dev/fd")
        binding = _mac(key, b"module-at", digest, _ident(st).encode())
        if not (fast and _equal(bound, binding)):
            import mmap

            with mmap.mmap(fd, 0, access=mmap.ACCESS_READ) as data:
                if not _equal(_mac(key, b"module", digest, data), tag):
                    return None
                if not fast:
                    return backend.deserialize(engine, data[:])
            if time.time() - st.st_ctime > 10:
                _try_write(entry + ".mac", f"{tag.hex()}\n{binding.hex()}\n".encode())
        return backend.deserialize_file(engine, f"/dev/fd/{fd}")
    except (OSError, ValueError, WasmError):
        return None  # stale (another wasmtime) or damaged: compiled again
    finally:
        os.close(fd)


def entry_path(directory: str, digest: str, wasmtime_version: str) -> str:
    """Where the module with this SHA-256 is cached: compiled code loads only
    into the wasmtime version and architecture that made it."""
    machine = os.uname().machine if hasattr(os, "uname") else os.environ.get("PROCESSOR_ARCHITECTURE", "")
    return os.path.join(directory, f"agent_vault-{digest[:32]}-wasmtime-{wasmtime_version}-{machine}.cwasm")


def load(backend: ModuleType, engine: Any, wasmtime_version: str) -> Any:
    """The compiled module: from the cache if it is there and authentic,
    else compiled (and cached)."""
    directory, key = cache_dir(), cache_key()
    st = os.stat(WASM) if os.path.exists(WASM) else None
    if st is None:
        raise VaultError(f"the agent-vault module is missing at {WASM}",
                         hint="reinstall agent-vault; from a source checkout run `make build` first")
    # Hashing the module costs more than mapping its compiled code, so its
    # hash is kept under the file's stats: a rewrite changes ctime, a
    # replacement the inode.
    ident = _ident(st)
    stamp = os.path.join(directory, f"agent_vault-{ident}.sha256")
    digest = _read_tagged(stamp, key, b"stamp", ident) if key else None
    wasm = None
    if digest is None:
        wasm, digest = _read_wasm()
    entry = entry_path(directory, digest, wasmtime_version)
    module = _load_verified(backend, engine, entry, key, digest) if key else None
    if module is not None:
        if wasm is not None:
            _try_write(stamp, _tagged(key, b"stamp", ident, digest))  # type: ignore[arg-type]
        return module
    module, data = _packaged(backend, engine, wasmtime_version, digest)
    if module is None:
        if wasm is None:
            wasm, digest = _read_wasm()
        module, data = _compile(backend, engine, wasm, key)
    if key is not None and data is not None:
        if _try_write(entry, data) and _try_write(entry + ".mac", _mac(key, b"module", digest, data).hex().encode()):
            _try_write(stamp, _tagged(key, b"stamp", ident, digest))
    return module


def _packaged(backend: ModuleType, engine: Any, wasmtime_version: str, digest: str) -> Tuple[Any, Optional[bytes]]:
    """The module a wheel carries precompiled (setup.py) and its bytes, if it
    was made from this module for this wasmtime; (None, None) otherwise. It
    is as trusted as the package's own code beside it, and checked against
    the SHA-256 recorded with it; once loaded, it is cached with our tag."""
    import hashlib
    import json

    try:
        with open(PRECOMPILED + ".json", "rb") as f:
            meta = json.load(f)
        if (meta.get("wasmtime"), meta.get("wasm_sha256")) != (wasmtime_version, digest):
            return None, None
        with open(PRECOMPILED, "rb") as f:
            data = f.read()
            if os.fstat(f.fileno()).st_mode & 0o022 or hashlib.sha256(data).hexdigest() != meta.get("sha256"):
                return None, None
        return backend.deserialize(engine, data), data
    except (OSError, ValueError, WasmError):
        return None, None  # built for another CPU, damaged, or none shipped


def _compile(backend: ModuleType, engine: Any, wasm: bytes, key: Optional[bytes]) -> Tuple[Any, Optional[bytes]]:
    try:
        module = backend.compile(engine, wasm)
    except WasmError as e:
        raise VaultError(f"cannot compile the agent-vault module at {WASM}: {e}") from None
    try:
        return module, backend.serialize(module) if key is not None else None
    except WasmError:
        return module, None


def _try_write(path: str, data: bytes) -> bool:
    """Writes a cache file; False if it cannot (a read-only home still works)."""
    try:
        _host.write_atomic(path, data)
        _prune(os.path.dirname(path))
    except OSError:
        return False
    return True


def _prune(directory: str) -> None:
    """Drops all but the newest entries of each kind, and temporary files a
    killed process left behind."""
    import time

    kinds: dict = {".cwasm": [], ".mac": [], ".sha256": []}
    for name in os.listdir(directory):
        p = os.path.join(directory, name)
        try:
            mtime = os.stat(p).st_mtime
        except OSError:
            continue
        if ".tmp-" in name and time.time() - mtime > 3600:
            _unlink(p)
        elif name.startswith("agent_vault-"):
            kinds.get(os.path.splitext(name)[1], []).append((mtime, p))
    for entries in kinds.values():
        for _, p in sorted(entries, reverse=True)[_KEEP:]:
            _unlink(p)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
