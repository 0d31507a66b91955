"""The ``Vault`` class: an open vault inside one module instance."""

from __future__ import annotations

import binascii
import os
import time

from . import _git
from ._errors import InvalidInputError, VaultError, VaultNotFoundError
from ._runtime import GUEST_ROOT, Instance, call_pure

try:
    from _thread import RLock
except ImportError:  # not CPython
    from threading import RLock

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import TracebackType
    from typing import Any, Dict, List, Optional, Type, Union

    from ._types import AgentInfo, Finding, GroupInfo, SecretMetadata

    PathLike = Union[str, "os.PathLike[str]"]

# Seconds during which the pull made while opening also serves the first
# read, so `Vault(url).get(name)` in a fresh process pulls once, not twice.
_OPEN_GRACE = 1.0


def _home() -> str:
    home = os.path.expanduser("~")
    return "" if home == "~" else home


def _read_key_file(path: str) -> Optional[bytearray]:
    """Reads a key file into a buffer the caller zeroes; None if unreadable.

    Core classifies an unreadable key file itself (missing default key vs.
    bad explicit key), so the reason is not reported from here.
    """
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            buf = bytearray(size + 1)
            n = f.readinto(buf)
            del buf[n:]
            return buf
    except OSError:
        return None


class Vault:
    """A vault opened for reading with one identity.

    ``repo_path`` is a local repository (the directory that contains
    ``.agent-vault/``) or a Git URL, which is cloned into a cache under
    ``~/.agent-vault/cache`` and pulled on later use.

    The key comes from ``key_path`` or ``key_str`` if given, else from
    ``AGENT_VAULT_KEY`` (a key file path or a raw ``AGE-SECRET-KEY-...``),
    else ``~/.agent-vault/owner.key``; core applies that order. With
    ``metadata_only=True`` no key is used: listing and checking work, gets
    raise ``InvalidKeyError``.

    With ``auto_pull`` (the default), when the repository tracks an
    upstream, opening and every read first run ``git pull --ff-only`` (at
    most once per ``pull_interval`` seconds; the pull made while opening
    also serves a read within the next second) and re-open the vault if
    HEAD moved. A failed pull warns and the local state is used.
    ``auto_pull=False`` never pulls; only the first clone of a URL still
    runs git.

    Calls on one instance are serialised by a lock, so a ``Vault`` can be
    shared between threads. ``close()`` (or leaving a ``with`` block)
    releases the module instance.
    """

    def __init__(
        self,
        repo_path: PathLike = ".",
        key_path: Optional[PathLike] = None,
        *,
        key_str: Optional[str] = None,
        auto_pull: bool = True,
        pull_interval: float = 0.0,
        metadata_only: bool = False,
    ) -> None:
        self._lock = RLock()
        self._instance: Optional[Instance] = None
        self._handle = 0
        self._closed = False
        self._auto_pull = auto_pull
        self._pull_interval = pull_interval
        self._last_pull = float("-inf")
        home = _home()
        repo = os.fspath(repo_path)
        self._head: Optional[str] = None
        self._tracks_upstream: Optional[bool] = None
        # Core decides where the vault is, but a local directory is almost
        # always located at its absolute path. The vault's instance is
        # started there at once, so locate needs no instance of its own,
        # and git checks for an upstream meanwhile.
        guess = os.path.abspath(repo) if os.path.isdir(repo) else None
        upstream = _git.start_upstream_head(guess) if guess is not None and auto_pull else None
        try:
            if guess is not None:
                self._instance = Instance(guess)
                loc = self._instance.call({"op": "locate", "repo": repo, "home": home})
            else:
                loc = call_pure({"op": "locate", "repo": repo, "home": home})
        finally:
            head = upstream() if upstream is not None else None
        self._dir: str = os.path.abspath(loc["dir"])
        self._remote: Optional[str] = loc.get("remote")
        if self._dir == guess and not self._remote:
            self._head = head
            self._tracks_upstream = upstream is not None and head is not None
        else:
            self._instance = None
        self._key: Optional[Dict[str, str]] = None
        if not metadata_only:
            spec = {
                "path": os.fspath(key_path) if key_path is not None else "",
                "text": key_str or "",
                "env": os.environ.get("AGENT_VAULT_KEY", ""),
                "home": home,
            }
            self._key = {k: v for k, v in spec.items() if v}
        self._first_read = True
        if self._remote and not os.path.isdir(os.path.join(self._dir, ".git")):
            self._clone()
            self._last_pull = time.monotonic()
        else:
            self._pull_if_due(force=True)
        self.identity = ""
        """The name of the identity: "owner", an agent's name, or ""."""
        self.recipient = ""
        """The public key (age1...) of the identity, or "" without a key."""
        self._open()

    def _clone(self) -> None:
        assert self._remote is not None
        try:
            _git.clone(self._remote, self._dir)
        except (_git.GitError, OSError) as e:
            raise VaultNotFoundError(
                f"failed to clone {self._remote}: {e}",
                hint="check the URL and that `git clone` works for it in this shell",
            ) from None

    def _open(self) -> None:
        """Opens the vault, in the current instance if it is still sound."""
        instance = self._instance
        if instance is None or instance.broken:
            instance = Instance(self._dir)
        request: Dict[str, Any] = {"op": "open", "root": GUEST_ROOT}
        key_file: Optional[bytearray] = None
        if self._key is not None:
            request["key"] = self._key
            choice = instance.call({"op": "resolve_key", "key": self._key})
            if choice.get("path"):
                key_file = _read_key_file(choice["path"])
                if key_file is not None:
                    request["key_file"] = binascii.b2a_base64(key_file, newline=False).decode()
        try:
            result = instance.call(request)
        finally:
            if key_file is not None:
                key_file[:] = bytes(len(key_file))
            request.pop("key_file", None)
        self._instance = instance
        self._handle = int(result["handle"])
        self.identity = result.get("identity", "")
        self.recipient = result.get("recipient", "")

    def _reopen(self) -> None:
        """Re-reads the vault (the manifest above all) after Git moved it."""
        if self._instance is not None and not self._instance.broken and self._handle:
            handle, self._handle = self._handle, 0
            self._instance.call({"op": "close", "handle": handle})
        self._open()

    def _pull_if_due(self, force: bool = False) -> bool:
        """Pulls from the upstream if one is tracked; True if HEAD moved."""
        if not self._auto_pull:
            return False
        now = time.monotonic()
        interval = self._pull_interval
        if self._first_read and not force:
            # The pull made while opening serves a read that follows at once,
            # so a short-lived process talks to the remote only once.
            self._first_read = False
            interval = max(interval, _OPEN_GRACE)
        if not force and now - self._last_pull < interval:
            return False
        if self._tracks_upstream is None:
            self._head = _git.upstream_head(self._dir)
            self._tracks_upstream = self._head is not None
        if not self._tracks_upstream:
            return False
        self._last_pull = now
        try:
            _git.pull(self._dir)
            head = _git.head(self._dir)
        except _git.GitError as e:
            import warnings

            warnings.warn(
                f"agent-vault: could not update {self._dir} from its upstream ({e}); "
                "using the local copy",
                RuntimeWarning,
                stacklevel=5,
            )
            return False
        moved = head != self._head
        self._head = head
        return moved

    def _call(self, request: Dict[str, Any], value: bool = False) -> Any:
        """Syncs with the upstream if due, then runs request on the open
        vault; the caller holds the lock."""
        if self._closed:
            raise InvalidInputError("the vault is closed", hint="open a new Vault")
        # A zero handle means an earlier re-open failed: try it again.
        if self._pull_if_due() or self._instance is None or self._instance.broken or not self._handle:
            self._reopen()
        assert self._instance is not None
        request["handle"] = self._handle
        if value:
            return self._instance.call_value(request)
        return self._instance.call(request)

    def get_bytes(self, secret: str) -> bytes:
        """Decrypts a secret and returns its value as bytes."""
        with self._lock:
            value: bytes = self._call({"op": "get", "secret": secret}, value=True)
            return value

    def get(self, secret: str) -> str:
        """Decrypts a secret and returns it as text (UTF-8).

        Raises ``InvalidInputError`` for a value that is not UTF-8; use
        ``get_bytes`` for binary values.
        """
        value = self.get_bytes(secret)
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            pass
        # Raised outside the except block: the decode error holds the value
        # and would otherwise ride along as __context__.
        raise InvalidInputError(f"secret {secret} is not UTF-8 text", hint="use get_bytes() for binary values")

    def list_secrets(self, group: Optional[str] = None) -> List[SecretMetadata]:
        """Lists secret metadata sorted by name, optionally for one group."""
        request: Dict[str, Any] = {"op": "list"}
        if group is not None:
            request["group"] = group
        with self._lock:
            result = self._call(request)
        from ._types import SecretMetadata

        return [SecretMetadata._from_json(d) for d in result["secrets"]]

    def list_agents(self) -> List[AgentInfo]:
        """Lists the agents in manifest order."""
        with self._lock:
            result = self._call({"op": "agents"})
        from ._types import AgentInfo

        return [AgentInfo._from_json(d) for d in result["agents"]]

    def list_groups(self) -> List[GroupInfo]:
        """Lists the groups in manifest order."""
        with self._lock:
            result = self._call({"op": "groups"})
        from ._types import GroupInfo

        return [GroupInfo._from_json(d) for d in result["groups"]]

    def check(self, now: Optional[str] = None) -> List[Finding]:
        """Runs the read-only audit; ``now`` is an RFC 3339 time (default:
        the current time)."""
        request: Dict[str, Any] = {"op": "check"}
        if now:
            request["now"] = now
        with self._lock:
            result = self._call(request)
        from ._types import Finding

        return [Finding._from_json(d) for d in result["findings"]]

    @property
    def path(self) -> str:
        """The local repository directory (the clone, for a URL)."""
        return self._dir

    def close(self) -> None:
        """Releases the module instance. Further calls raise."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            instance, self._instance = self._instance, None
            if instance is not None and not instance.broken:
                try:
                    instance.call({"op": "close", "handle": self._handle})
                except VaultError:
                    pass

    def __enter__(self) -> "Vault":
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<agent_vault.Vault {self._dir!r} identity={self.identity!r} {state}>"
