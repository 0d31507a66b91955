"""The ``Vault`` class: one open reader inside its own module instance."""

from __future__ import annotations

import os

from ._errors import ConflictError, GitSyncError, InvalidInputError
from ._runtime import Instance

try:
    from _thread import RLock
except ImportError:  # not CPython
    from threading import RLock

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import TracebackType
    from typing import Any, Dict, List, Optional, Type, Union

    from ._types import AgentInfo, Finding, GroupInfo, Manifest, SecretMetadata

    PathLike = Union[str, "os.PathLike[str]"]


class Vault:
    """A vault opened for reading with one identity.

    ``repo_path`` is a local repository (the directory holding
    ``.agent-vault/``) or a Git URL, fetched into ``~/.agent-vault/cache``;
    None searches the working directory and its parents. The key is
    ``key_path`` or ``key_str``, else ``AGENT_VAULT_KEY``, else
    ``~/.agent-vault/owner.key``; ``metadata_only=True`` opens without one.
    With ``auto_pull`` a repository whose branch tracks an upstream is
    fast-forwarded before reads (at most every ``pull_interval`` seconds); a
    failed pull warns once per streak of failures and the local copy is read.
    Every read is checked against the owner's signature: ``owner`` (or
    ``AGENT_VAULT_OWNER``) is the owner's verification key (``avowner1...``);
    without it the pin file beside the key file, or the key the vault names
    on first use. ``seen`` (``{"vault_id": ..., "version": n}``) is a signed
    state already known, anything older being refused as a rollback.

    The module applies every rule; this class passes the options on. Calls
    on one instance are serialised by a lock.
    """

    def __init__(
        self,
        repo_path: Optional[PathLike] = None,
        key_path: Optional[PathLike] = None,
        key_str: Optional[str] = None,
        auto_pull: bool = True,
        *,
        metadata_only: bool = False,
        pull_interval: float = 0.0,
        owner: Optional[str] = None,
        seen: Optional[Dict[str, Any]] = None,
    ) -> None:
        self._lock = RLock()
        self._closed = False
        home = os.path.expanduser("~")
        try:
            cwd = os.getcwd()
        except OSError:  # removed under us: only an absolute path or a URL can work
            cwd = ""
        key = {"path": os.fspath(key_path) if key_path is not None else "", "text": key_str or "",
               "env": os.environ.get("AGENT_VAULT_KEY", "")}
        self._open_request: Dict[str, Any] = {
            "op": "open", "repo": os.fspath(repo_path) if repo_path is not None else "", "cwd": cwd,
            "home": "" if home == "~" else home, "key": {k: v for k, v in key.items() if v},
            "metadata_only": bool(metadata_only), "auto_pull": bool(auto_pull), "pull_interval": float(pull_interval),
            "owner": owner or os.environ.get("AGENT_VAULT_OWNER", ""),
        }
        if seen:
            self._open_request["seen"] = seen
        self.identity = ""
        """The name of the identity: "owner", an agent's name, or ""."""
        self.recipient = ""
        """The public key (age1...) of the identity, or "" without a key."""
        self._dir = ""
        self._open()

    def _open(self) -> None:
        self._instance = Instance()
        result = self._instance.call(self._open_request)
        self._handle = int(result["handle"])
        self.identity, self.recipient = result.get("identity", ""), result.get("recipient", "")
        self._dir = result.get("dir", "")

    def _call(self, request: Dict[str, Any], value: bool = False) -> Any:
        """Runs request on the open vault, holding the lock."""
        with self._lock:
            if self._closed:
                raise InvalidInputError("the vault is closed", hint="open a new Vault")
            if self._instance.broken:
                self._open()  # a trap ended the last instance: start afresh
            request["handle"] = self._handle
            if value:
                return self._instance.call_value(request)
            return self._instance.call(request)

    def get_bytes(self, secret: str) -> bytes:
        """Decrypts a secret; returns its value as bytes."""
        value: bytes = self._call({"op": "get", "secret": secret}, value=True)
        return value

    def get(self, secret: str) -> str:
        """Decrypts a secret; returns it as text (UTF-8). Raises
        ``InvalidInputError`` for a value that is not UTF-8 (use get_bytes)."""
        value = self.get_bytes(secret)
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            pass
        # Raised outside the handler: the decode error holds the value.
        raise InvalidInputError(f"secret {secret} is not UTF-8 text", hint="use get_bytes() for binary values")

    def list_secrets(self, group: Optional[str] = None, all: bool = False) -> List[SecretMetadata]:
        """Metadata of the secrets this key can read (every one with
        ``all=True`` or without a key), sorted by name, optionally of one group."""
        from ._types import SecretMetadata

        result = self._call({"op": "list", "group": group or "", "all": bool(all)})
        return [SecretMetadata._from_json(d) for d in result["secrets"]]

    def _policy(self) -> Dict[str, Any]:
        result: Dict[str, Any] = self._call({"op": "agents"})
        return result

    def list_agents(self) -> List[AgentInfo]:
        """The agents in manifest order."""
        from ._types import AgentInfo

        return [AgentInfo._from_json(d) for d in self._policy()["agents"]]

    def list_groups(self) -> List[GroupInfo]:
        """The groups in manifest order."""
        from ._types import GroupInfo

        return [GroupInfo._from_json(d) for d in self._policy()["groups"]]

    @property
    def manifest(self) -> Manifest:
        """The vault's agents and groups, read afresh."""
        from ._types import AgentInfo, GroupInfo, Manifest

        policy = self._policy()
        return Manifest([AgentInfo._from_json(d) for d in policy["agents"]],
                        [GroupInfo._from_json(d) for d in policy["groups"]])

    def check(self, now: Optional[str] = None) -> List[Finding]:
        """The read-only audit; ``now`` is an RFC 3339 time (default: now)."""
        from ._types import Finding

        return [Finding._from_json(d) for d in self._call({"op": "check", "now": now or ""})["findings"]]

    def pull(self) -> None:
        """Fast-forwards from the upstream now. Raises ``GitSyncError`` when
        it cannot (no upstream, a dirty, detached, ahead or diverged
        checkout, an unreachable remote)."""
        try:
            self._call({"op": "pull"})
        except ConflictError as e:
            raise GitSyncError(e.message, hint=e.hint) from None

    def reload(self) -> None:
        """Re-reads the vault from disk."""
        self._call({"op": "reload"})

    @property
    def path(self) -> str:
        """The local repository directory (the local copy, for a URL)."""
        return self._dir

    def close(self) -> None:
        """Releases the module instance; later calls raise."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._instance = None  # type: ignore[assignment]

    def __enter__(self) -> Vault:
        return self

    def __exit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<agent_vault.Vault {self._dir!r} identity={self.identity!r}{' closed' if self._closed else ''}>"
