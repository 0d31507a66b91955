"""Git, through the user's own ``git`` so their config, credentials and
hooks apply. Only clone, pull and a few read-only queries are needed."""

from __future__ import annotations

import os
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, List, Optional

#: Seconds before a git command is abandoned, so an unreachable remote
#: cannot hang the agent.
TIMEOUT = 120.0


class GitError(Exception):
    """A git command failed; the message carries git's last stderr line."""


def _run(args: List[str], cwd: Optional[str] = None) -> str:
    import subprocess  # costs more start-up time than a get; only a repository needs it

    # Agents run unattended: a credential prompt would hang forever.
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0")
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=TIMEOUT,
        )
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} timed out after {TIMEOUT:.0f}s") from None
    if proc.returncode != 0:
        lines = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip()]
        detail = f": {lines[-1]}" if lines else ""
        raise GitError(f"git {args[0]} failed (exit {proc.returncode}){detail}")
    return proc.stdout.strip()


def _start(args: List[str], cwd: str) -> Callable[[], Optional[str]]:
    """Starts a quick read-only git command; the returned function waits
    for it and returns its output, or None if it failed.

    Spawned directly where possible: importing subprocess costs more than
    the command itself, and the caller can work while git runs.
    """
    spawn = getattr(os, "posix_spawnp", None)
    if spawn is None:
        try:
            out: Optional[str] = _run(args, cwd=cwd)
        except GitError:
            out = None
        return lambda: out
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0")
    r, w = os.pipe()
    try:
        null = os.open(os.devnull, os.O_RDWR)
        try:
            dup2 = os.POSIX_SPAWN_DUP2
            pid = spawn("git", ["git", "-C", cwd, *args], env, file_actions=[(dup2, null, 0), (dup2, w, 1), (dup2, null, 2)])
        finally:
            os.close(null)
    except OSError:
        os.close(r)
        return lambda: None  # no git
    finally:
        os.close(w)
    deadline = time.monotonic() + TIMEOUT

    def wait() -> Optional[str]:
        import select

        out = b""
        with open(r, "rb", buffering=0) as f:
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([f], [], [], left)[0]:
                    os.kill(pid, 9)  # SIGKILL
                    os.waitpid(pid, 0)
                    return None
                chunk = f.read(65536)
                if not chunk:
                    break
                out += chunk
        _, status = os.waitpid(pid, 0)
        return out.decode(errors="replace").strip() if status == 0 else None

    return wait


def _same(a: str, b: str) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def upstream_head(directory: str) -> Optional[str]:
    """Returns HEAD if directory is a Git work tree whose branch tracks an
    upstream, else None.

    The directory must be the top of the work tree (or its ``.agent-vault``
    folder): a vault that merely sits inside some other repository must not
    make us pull that repository.
    """
    return start_upstream_head(directory)()


def start_upstream_head(directory: str) -> Callable[[], Optional[str]]:
    """Starts upstream_head(directory); the returned function waits for
    the answer. It must be called, to reap git."""
    repo = os.path.normpath(directory)
    if os.path.basename(repo) == ".agent-vault":
        repo = os.path.dirname(repo)
    # No .git at the top means not a work-tree top: no need to run git.
    if not os.path.exists(os.path.join(repo, ".git")):
        return lambda: None
    wait = _start(["rev-parse", "--show-toplevel", "HEAD", "@{upstream}"], repo)

    def answer() -> Optional[str]:
        try:
            top, head_, _ = (wait() or "").splitlines()
        except ValueError:
            return None  # no upstream, no commit yet, or not a repository
        return head_ if _same(top, repo) else None

    return answer


def head(directory: str) -> str:
    """Returns the commit HEAD points at."""
    return _run(["rev-parse", "HEAD"], cwd=directory)


def pull(directory: str) -> None:
    """Fast-forwards the work tree from its upstream; never merges."""
    _run(["pull", "--ff-only", "--quiet"], cwd=directory)


def clone(url: str, directory: str) -> None:
    """Clones url into directory.

    The clone is made beside the target and renamed into place, so an
    interrupted clone never leaves a half-filled cache that later opens
    would trust. If another process finished first, its clone is kept.
    """
    import shutil
    import tempfile

    parent = os.path.dirname(directory)
    os.makedirs(parent, mode=0o700, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".clone-", dir=parent)
    try:
        _run(["clone", "--quiet", "--", url, tmp])
        try:
            os.rename(tmp, directory)
        except OSError:
            if not os.path.isdir(os.path.join(directory, ".git")):
                raise
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
