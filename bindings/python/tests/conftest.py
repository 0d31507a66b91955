"""Shared fixtures: the repository layout, the CLI, and throwaway homes.

Nothing here skips: a missing vector file, CLI binary or tool fails the run.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Dict

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
VECTORS = REPO_ROOT / "tests" / "vectors"
# Tests may point elsewhere while developing; the suite uses `make cli`'s binary.
CLI = Path(os.environ.get("AGENT_VAULT_CLI", REPO_ROOT / "bin" / "agent-vault"))

# Tests swap HOME for throwaway directories. The compiled module is cached
# under the real one, so every test process does not compile it again.
os.environ.setdefault("XDG_CACHE_HOME", os.path.join(os.path.expanduser("~"), ".cache"))
os.environ.pop("AGENT_VAULT_KEY", None)

# Load the module now, under the real HOME: the cache's key lives in
# ~/.agent-vault, which tests swap, and a swapped one would recompile.
import agent_vault._runtime  # noqa: E402

agent_vault._runtime.shared()

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "agent-vault tests",
    "GIT_AUTHOR_EMAIL": "tests@example.invalid",
    "GIT_COMMITTER_NAME": "agent-vault tests",
    "GIT_COMMITTER_EMAIL": "tests@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(*args: str, cwd: Path, env: Dict[str, str]) -> str:
    """Runs git and returns its stdout; a failure fails the test."""
    proc = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, f"git {' '.join(args)} failed: {proc.stderr}"
    return proc.stdout.strip()


@dataclass
class Home:
    """A throwaway HOME with a CLI-made vault in ``repo``."""

    home: Path
    repo: Path
    env: Dict[str, str]

    def cli(self, *args: str, cwd: Path | None = None, input: bytes | None = None, check: bool = True) -> str:
        """Runs bin/agent-vault in this home; returns stdout."""
        if not CLI.is_file():
            pytest.fail(f"{CLI} is missing: run `make cli` (or `make build`) first")
        proc = subprocess.run(
            [str(CLI), *args], cwd=cwd or self.repo, env=self.env, input=input, capture_output=True
        )
        if check:
            assert proc.returncode == 0, f"agent-vault {args[0]} failed: {proc.stderr.decode(errors='replace')}"
        return proc.stdout.decode()

    def git(self, *args: str, cwd: Path | None = None) -> str:
        return git(*args, cwd=cwd or self.repo, env=self.env)

    def key(self, agent: str | None = None) -> Path:
        """The owner key, or an agent's key, written by the CLI."""
        base = self.home / ".agent-vault"
        return base / "owner.key" if agent is None else base / "agents" / f"{agent}.key"


def make_home(root: Path) -> Home:
    """Creates a HOME and an empty Git repository with a vault in it."""
    home = root / "home"
    repo = root / "repo"
    home.mkdir(parents=True)
    repo.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "AGENT_VAULT_KEY"}
    env.update(GIT_IDENTITY, HOME=str(home))
    h = Home(home=home, repo=repo, env=env)
    h.git("init", "-q", "-b", "main")
    h.cli("init")
    return h
