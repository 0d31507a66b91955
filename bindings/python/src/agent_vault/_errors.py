"""The error codes of docs/wasm-abi.md as exception classes.

The module classifies every failure; this file only turns its code into a
class. Names of the original SDK (agent-vault-sdk) are kept as aliases of
the class with the same meaning, so ``except MetadataError`` and
``except CorruptVaultError`` catch the same errors.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Tuple, Type


class WasmError(Exception):
    """Internal: a wasmtime error or trap, with wasmtime's message."""


class VaultError(Exception):
    """Base class of every error agent_vault raises.

    ``code`` is the stable error code (``"secret_not_found"``, ...) shared by
    the CLI, the module and every binding; ``hint`` says how to fix the
    problem ("" when there is nothing to say).
    """

    code: str = "internal"

    def __init__(self, message: str, *, code: str | None = None, hint: str = "") -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} (hint: {self.hint})" if self.hint else self.message

    def __reduce__(self) -> Tuple[Any, ...]:
        # Keeps code and hint across pickling (multiprocessing, futures).
        return (_rebuild, (type(self), self.message, self.code, self.hint))


def _rebuild(cls: Type[VaultError], message: str, code: str, hint: str) -> VaultError:
    err = cls.__new__(cls)
    VaultError.__init__(err, message, code=code, hint=hint)
    return err


class InvalidInputError(VaultError):
    """A bad name, path, date or option."""

    code = "invalid_input"


class VaultNotFoundError(VaultError):
    """No vault at the path (or it cannot be fetched), or no key configured."""

    code = "vault_not_found"


class SecretNotFoundError(VaultError):
    """No such secret."""

    code = "secret_not_found"


class NotAuthorizedError(VaultError):
    """This identity is not a recipient of the secret."""

    code = "not_authorized"


class InvalidKeyError(VaultError):
    """Key text or key file unusable, or the vault was opened without a key."""

    code = "invalid_key"


class CorruptVaultError(VaultError):
    """Malformed manifest or metadata, a symlink in the vault, damaged ciphertext."""

    code = "corrupt_vault"


class ConflictError(VaultError):
    """Lock held, divergent Git history, or a file changed underneath."""

    code = "conflict"


class GitSyncError(ConflictError):
    """``pull()`` could not fast-forward: a dirty, detached, ahead or diverged
    checkout, no upstream, or an unreachable remote."""


class UntrustedError(VaultError):
    """The vault's history or signer is not trusted."""

    code = "untrusted"


# The original SDK's names.
MetadataError = ManifestError = CorruptVaultError
InvalidIdentifierError = InvalidInputError

_BY_CODE = {cls.code: cls for cls in (InvalidInputError, VaultNotFoundError, SecretNotFoundError, NotAuthorizedError,
                                      InvalidKeyError, CorruptVaultError, ConflictError, UntrustedError)}


def error_from_code(code: str, message: str, hint: str = "") -> VaultError:
    """The exception for a code the module reported. An unknown code (a newer
    module, or ``internal``) is a VaultError that keeps the code."""
    cls = _BY_CODE.get(code)
    if cls is None:
        return VaultError(message, code=code or "internal", hint=hint)
    return cls(message, hint=hint)
