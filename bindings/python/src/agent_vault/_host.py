"""The host operations of docs/wasm-abi.md ("Host imports"): what the
module's reader asks this process for. The reader decides every path, every
git command and what the answers mean; this file only carries them out."""

from __future__ import annotations

import os

from . import _wire

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List

#: Seconds before git is killed, so an unreachable remote cannot hang us.
GIT_TIMEOUT = 120.0
#: Never handed to git: git and its helpers have no business with the key.
_SECRET_ENV = ("AGENT_VAULT_KEY", "AGENT_VAULT_OWNER")
_KINDS = {FileNotFoundError: "not_found", NotADirectoryError: "not_dir", PermissionError: "permission",
          FileExistsError: "exists"}


def serve(request: bytearray) -> bytearray:
    """Answers one host request: a status byte, then the payload."""
    try:
        r = _wire.loads(request)
        if r["op"] == "read":
            return _read(r["path"], int(r["limit"]))
        result = _OPS[r["op"]](r)
    except OSError as e:
        where = e.filename if e.filename is not None else ""
        return _fail(_KINDS.get(type(e), "other"), f"{e.strerror or e}: {where}" if where else str(e))
    except (KeyError, ValueError, TypeError):
        return _fail("other", "malformed or unknown host request")
    return bytearray(b"\0" + _wire.dumps(result).encode())


def _fail(kind: str, message: str) -> bytearray:
    return bytearray(b"\1" + _wire.dumps({"error": kind, "message": message}).encode())


def _type(mode: int) -> str:
    import stat

    return ("symlink" if stat.S_ISLNK(mode) else "dir" if stat.S_ISDIR(mode) else
            "file" if stat.S_ISREG(mode) else "other")


def _read(path: str, limit: int) -> bytearray:
    """The file's bytes, at most limit + 1 of them, in a buffer the caller
    zeroes (it may hold a key)."""
    with open(path, "rb", buffering=0) as f:
        buf = bytearray(2 + min(limit, max(os.fstat(f.fileno()).st_size, 0)))
        n, view = 1, memoryview(buf)
        while n < len(buf):
            got = f.readinto(view[n:])
            if not got:
                break
            n += got
        view.release()
    del buf[n:]
    return buf


def _lstat(r: Dict[str, Any]) -> Dict[str, Any]:
    st = os.lstat(r["path"])
    return {"type": _type(st.st_mode), "size": st.st_size, "mode": st.st_mode & 0o777}


def _readdir(r: Dict[str, Any]) -> Dict[str, Any]:
    with os.scandir(r["path"]) as it:
        return {"entries": [{"name": e.name, "type": "symlink" if e.is_symlink() else "dir" if e.is_dir(
            follow_symlinks=False) else "file" if e.is_file(follow_symlinks=False) else "other"} for e in it]}


def _git(r: Dict[str, Any]) -> Dict[str, Any]:
    """Runs the user's git; a git that ran and failed is an answer, not an
    error. Spawned directly where possible: importing subprocess costs more
    than a quick git command."""
    directory, args = str(r["dir"]), [str(a) for a in r["args"]]
    env = {k: v for k, v in os.environ.items() if k not in _SECRET_ENV}
    env["GIT_TERMINAL_PROMPT"] = "0"  # agents run unattended: a prompt would hang
    spawn = getattr(os, "posix_spawnp", None)
    if spawn is None:
        import subprocess

        try:
            p = subprocess.run(["git", *args], cwd=directory, env=env, stdin=subprocess.DEVNULL,
                               capture_output=True, timeout=GIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise TimeoutError(f"git timed out after {GIT_TIMEOUT:.0f}s") from None
        return {"exit": p.returncode, "stdout": p.stdout.decode(errors="replace"),
                "stderr": p.stderr.decode(errors="replace")}
    pipes = [os.pipe(), os.pipe()]
    try:
        null = os.open(os.devnull, os.O_RDONLY)
        try:
            dup = os.POSIX_SPAWN_DUP2
            # -C runs git as if started in the directory (posix_spawn has no cwd).
            pid = spawn("git", ["git", "-C", directory, *args], env,
                        file_actions=[(dup, null, 0), (dup, pipes[0][1], 1), (dup, pipes[1][1], 2)])
        finally:
            os.close(null)
    except OSError:
        for rd, _ in pipes:
            os.close(rd)
        raise
    finally:
        for _, wr in pipes:
            os.close(wr)
    return _collect(pid, [rd for rd, _ in pipes])


def _collect(pid: int, fds: List[int]) -> Dict[str, Any]:
    import select
    import time

    out: Dict[int, bytes] = {fd: b"" for fd in fds}
    deadline, open_fds = time.monotonic() + GIT_TIMEOUT, list(fds)
    try:
        while open_fds:
            ready = select.select(open_fds, [], [], max(0.0, deadline - time.monotonic()))[0]
            if not ready:
                os.kill(pid, 9)  # SIGKILL
                os.waitpid(pid, 0)
                raise TimeoutError(f"git timed out after {GIT_TIMEOUT:.0f}s")
            for fd in ready:
                chunk = os.read(fd, 65536)
                out[fd] += chunk
                if not chunk:
                    open_fds.remove(fd)
    finally:
        for fd in fds:
            os.close(fd)
    status = os.waitpid(pid, 0)[1]
    return {"exit": os.waitstatus_to_exitcode(status), "stdout": out[fds[0]].decode(errors="replace"),
            "stderr": out[fds[1]].decode(errors="replace")}


def _remove_all(r: Dict[str, Any]) -> Dict[str, Any]:
    """Removes a tree, or a file (the reader's lock)."""
    import stat

    try:
        if stat.S_ISDIR(os.lstat(r["path"]).st_mode):
            import shutil

            shutil.rmtree(r["path"])
        else:
            os.unlink(r["path"])
    except FileNotFoundError:
        pass
    return {}


def _create(r: Dict[str, Any]) -> Dict[str, Any]:
    """Creates a private file that must not exist yet (O_EXCL: also not as
    a symlink); the reader's lock file is made so."""
    import binascii

    data = binascii.a2b_base64(r.get("data") or "")
    fd = os.open(r["path"], os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    except BaseException:
        os.unlink(r["path"])
        raise
    return {}


def write_atomic(path: str, data: bytes | bytearray, mode: int = 0o600) -> None:
    """Replaces path with data (temporary file, fsync, rename), creating the
    parents mode 0700."""
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    tmp = os.path.join(directory, f".{os.path.basename(path)}.tmp-{os.urandom(6).hex()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), mode)
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


def _write(r: Dict[str, Any]) -> Dict[str, Any]:
    import binascii

    write_atomic(r["path"], binascii.a2b_base64(r.get("data") or ""))
    return {}


_OPS = {
    "lstat": _lstat,
    "readdir": _readdir,
    "git": _git,
    "mkdir": lambda r: os.makedirs(r["path"], mode=0o700, exist_ok=True) or {},
    "rename": lambda r: os.rename(r["from"], r["to"]) or {},
    "remove_all": _remove_all,
    "write": _write,
    "create": _create,
}
