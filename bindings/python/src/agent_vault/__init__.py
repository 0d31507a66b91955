"""agent-vault for Python: read secrets from an agent-vault repository.

Everything a reader does (finding and cloning the vault, pulling, the key,
decryption) runs in the project's one WebAssembly build of its Go core;
this package gives it files and git, and Python types.

    from agent_vault import Vault

    with Vault("/path/to/vault", key_path="~/.agent-vault/agents/my-agent.key") as vault:
        api_key = vault.get("stripe/api-key")
"""

from __future__ import annotations

import binascii

from ._errors import (ConflictError, CorruptVaultError, GitSyncError, InvalidIdentifierError, InvalidInputError,
                      InvalidKeyError, ManifestError, MetadataError, NotAuthorizedError, SecretNotFoundError,
                      UntrustedError, VaultError, VaultNotFoundError)
from ._runtime import ABI_VERSION, call_pure
from ._vault import Vault

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterable, Optional

    from ._types import AgentInfo, Finding, GroupInfo, Manifest, SecretMetadata

__version__ = "0.1.0"

__all__ = [
    "ABI_VERSION", "AgentInfo", "ConflictError", "CorruptVaultError", "Finding", "GitSyncError", "GroupInfo",
    "InvalidIdentifierError", "InvalidInputError", "InvalidKeyError", "Manifest", "ManifestError", "MetadataError",
    "NotAuthorizedError", "SecretMetadata", "SecretNotFoundError", "UntrustedError", "Vault", "VaultError",
    "VaultNotFoundError", "decrypt_raw", "module_version",
]


def decrypt_raw(ciphertext: bytes, identities: Optional[Iterable[str]] = None,
                passphrases: Optional[Iterable[str]] = None) -> bytes:
    """Decrypts an age file (binary or armored) with identities
    (``AGE-SECRET-KEY-1...``) and passphrases, without a vault."""
    result = call_pure({"op": "decrypt", "ciphertext": binascii.b2a_base64(ciphertext, newline=False).decode(),
                        "identities": list(identities or []), "passphrases": list(passphrases or [])})
    return binascii.a2b_base64(result["plaintext"])


def module_version() -> str:
    """The version of the agent-vault core inside the module."""
    return str(call_pure({"op": "version"})["version"])


def __getattr__(name: str) -> object:
    # The result types need dataclasses, datetime and re, which cost more
    # start-up time than a get: they load on first use.
    if name in ("AgentInfo", "Finding", "GroupInfo", "Manifest", "SecretMetadata"):
        from . import _types

        return getattr(_types, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
