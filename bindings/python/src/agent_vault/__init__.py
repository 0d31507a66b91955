"""agent-vault for Python: read secrets from an agent-vault repository.

Decryption runs in the project's one WebAssembly build of its Go core,
so this package shares every rule (key resolution, path validation,
metadata parsing) with the CLI and the other bindings.

    from agent_vault import Vault

    with Vault(repo_path="/path/to/vault", key_path="~/.agent-vault/agents/my-agent.key") as vault:
        api_key = vault.get("stripe/api-key")
"""

from __future__ import annotations

import binascii

from ._errors import (
    ConflictError,
    CorruptVaultError,
    InvalidInputError,
    InvalidKeyError,
    NotAuthorizedError,
    SecretNotFoundError,
    VaultError,
    VaultNotFoundError,
)
from ._runtime import ABI_VERSION, call_pure
from ._vault import Vault

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterable, Optional

    from ._types import AgentInfo, Finding, GroupInfo, SecretMetadata

__version__ = "0.1.0"

__all__ = [
    "ABI_VERSION",
    "AgentInfo",
    "ConflictError",
    "CorruptVaultError",
    "Finding",
    "GroupInfo",
    "InvalidInputError",
    "InvalidKeyError",
    "NotAuthorizedError",
    "SecretMetadata",
    "SecretNotFoundError",
    "Vault",
    "VaultError",
    "VaultNotFoundError",
    "decrypt_raw",
    "module_version",
]


def decrypt_raw(
    ciphertext: bytes,
    identities: Optional[Iterable[str]] = None,
    passphrases: Optional[Iterable[str]] = None,
) -> bytes:
    """Decrypts an age file (binary or armored) with the given identities
    (``AGE-SECRET-KEY-1...`` strings) and passphrases.

    This is the module's raw decryption, without a vault; the conformance
    tests drive it with the age test vectors.
    """
    result = call_pure(
        {
            "op": "decrypt",
            "ciphertext": binascii.b2a_base64(ciphertext, newline=False).decode(),
            "identities": list(identities or []),
            "passphrases": list(passphrases or []),
        }
    )
    return binascii.a2b_base64(result["plaintext"])


def module_version() -> str:
    """Returns the version of the agent-vault core inside the module."""
    return str(call_pure({"op": "version"})["version"])


_LAZY = ("AgentInfo", "Finding", "GroupInfo", "SecretMetadata")


def __getattr__(name: str) -> object:
    # The result types need dataclasses, datetime and re, which cost more
    # start-up time than a get; they load on first use.
    if name in _LAZY:
        from . import _types

        return getattr(_types, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
