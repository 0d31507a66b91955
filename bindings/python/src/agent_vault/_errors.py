"""The error taxonomy of DESIGN.md §5, mapped to exception classes.

The module reports every failure as a stable string code; this file only
turns that code into the matching class. Messages come from core, which
never puts secret material in them.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, Tuple, Type


class VaultError(Exception):
    """Base class of every error agent_vault raises.

    ``code`` is the stable error code (``"secret_not_found"``, ...) shared by
    the CLI, the WebAssembly module and every binding; ``hint`` optionally
    says how to fix the problem ("" when there is none).
    """

    code: str = "internal"

    def __init__(self, message: str, *, code: str | None = None, hint: str = "") -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} (hint: {self.hint})"
        return self.message

    def __reduce__(self) -> Tuple[Any, ...]:
        # Keeps code and hint when an error crosses a process boundary
        # (multiprocessing, concurrent.futures), which pickles it.
        return (_rebuild, (type(self), self.message, self.code, self.hint))


def _rebuild(cls: Type["VaultError"], message: str, code: str, hint: str) -> "VaultError":
    err = cls.__new__(cls)
    VaultError.__init__(err, message, code=code, hint=hint)
    return err


class InvalidInputError(VaultError):
    """A bad name, path, date or flag."""

    code = "invalid_input"


class VaultNotFoundError(VaultError):
    """No ``.agent-vault/`` at the path, or no key configured."""

    code = "vault_not_found"


class SecretNotFoundError(VaultError):
    """No such secret path."""

    code = "secret_not_found"


class NotAuthorizedError(VaultError):
    """This identity is not a recipient of the secret."""

    code = "not_authorized"


class InvalidKeyError(VaultError):
    """Key text or key file unusable."""

    code = "invalid_key"


class CorruptVaultError(VaultError):
    """Malformed YAML, truncated or tampered ciphertext."""

    code = "corrupt_vault"


class ConflictError(VaultError):
    """Lock held, divergent Git history, or a file changed underneath."""

    code = "conflict"


_BY_CODE: Dict[str, Type[VaultError]] = {
    cls.code: cls
    for cls in (
        InvalidInputError,
        VaultNotFoundError,
        SecretNotFoundError,
        NotAuthorizedError,
        InvalidKeyError,
        CorruptVaultError,
        ConflictError,
    )
}


def error_from_code(code: str, message: str, hint: str = "") -> VaultError:
    """Builds the exception for a code reported by the module.

    An unknown code (a newer module, or ``internal``) still becomes a
    ``VaultError`` that carries the code, so callers never lose it.
    """
    cls = _BY_CODE.get(code)
    if cls is None:
        return VaultError(message, code=code or "internal", hint=hint)
    return cls(message, hint=hint)
