"""Git, through the user's own ``git`` so their config, credentials and
hooks apply. Only clone, pull and a few read-only queries are needed."""

from __future__ import annotations

import os
import subprocess
from typing import List, Optional

#: Seconds before a git command is abandoned, so an unreachable remote
#: cannot hang the agent.
TIMEOUT = 120.0


class GitError(Exception):
    """A git command failed; the message carries git's last stderr line."""


def _run(args: List[str], cwd: Optional[str] = None) -> str:
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


def _same(a: str, b: str) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def upstream_head(directory: str) -> Optional[str]:
    """Returns HEAD if directory is a Git work tree whose branch tracks an
    upstream, else None.

    The directory must be the top of the work tree (or its ``.agent-vault``
    folder): a vault that merely sits inside some other repository must not
    make us pull that repository.
    """
    repo = os.path.normpath(directory)
    if os.path.basename(repo) == ".agent-vault":
        repo = os.path.dirname(repo)
    # No .git at the top means not a work-tree top: no need to run git.
    if not os.path.exists(os.path.join(repo, ".git")):
        return None
    try:
        top, head_, _ = _run(["rev-parse", "--show-toplevel", "HEAD", "@{upstream}"], cwd=repo).splitlines()
    except (GitError, ValueError):
        return None  # no upstream, no commit yet, or not a repository
    return head_ if _same(top, repo) else None


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
