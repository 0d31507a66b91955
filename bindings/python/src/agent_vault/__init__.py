"""agent-vault for Python: read secrets from an agent-vault repository.

Decryption runs in the project's one WebAssembly build of its Go core,
so this package shares every rule (key resolution, path validation,
metadata parsing) with the CLI and the other bindings.

    from agent_vault import Vault

    with Vault(repo_path="/path/to/vault", key_path="~/.agent-vault/agents/my-agent.key") as vault:
        api_key = vault.get("stripe/api-key")
"""

from __future__ import annotations

import base64
from typing import Iterable, Optional

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
from ._types import AgentInfo, Finding, GroupInfo, SecretMetadata
from ._vault import Vault

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
            "ciphertext": base64.b64encode(ciphertext).decode(),
            "identities": list(identities or []),
            "passphrases": list(passphrases or []),
        }
    )
    return base64.b64decode(result["plaintext"])


def module_version() -> str:
    """Returns the version of the agent-vault core inside the module."""
    return str(call_pure({"op": "version"})["version"])
