"""Result types. Core parses and validates the vault files; these classes
only give its JSON results Python types (datetimes instead of strings)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Dict, List, Optional

# RFC 3339 as Go writes it: "Z" or an offset, zero to nine fraction digits.
_RFC3339 = re.compile(r"^(?P<base>[^.Z+]+?)(?:\.(?P<frac>\d+))?(?P<tz>Z|[+-]\d\d:\d\d)$")


def parse_time(value: str) -> datetime:
    """Parses an RFC 3339 time from core into an aware datetime.

    Python before 3.11 accepts neither "Z" nor fractions other than 3 or 6
    digits, and Go may emit up to nine, so the text is normalised first.
    """
    m = _RFC3339.match(value)
    if m is None:
        return datetime.fromisoformat(value)
    frac = (m.group("frac") or "")[:6]
    tz = "+00:00" if m.group("tz") == "Z" else m.group("tz")
    text = m.group("base") + ("." + frac.ljust(6, "0") if frac else "") + tz
    return datetime.fromisoformat(text)


@dataclass
class SecretMetadata:
    """The plaintext record beside a secret: names and dates, no secret."""

    name: str
    group: str
    created: datetime
    rotated: datetime
    expires: Optional[datetime]
    authorized_agents: List[str] = field(default_factory=list)

    @classmethod
    def _from_json(cls, d: Dict[str, Any]) -> "SecretMetadata":
        expires = d.get("expires")
        return cls(
            name=d["name"],
            group=d["group"],
            created=parse_time(d["created"]),
            rotated=parse_time(d["rotated"]),
            expires=parse_time(expires) if expires else None,
            authorized_agents=list(d.get("authorized_agents") or []),
        )


@dataclass
class AgentInfo:
    """An agent of the vault, its groups and public key."""

    name: str
    groups: List[str]
    public_key: str
    has_escrow: bool

    @classmethod
    def _from_json(cls, d: Dict[str, Any]) -> "AgentInfo":
        return cls(
            name=d["name"],
            groups=list(d.get("groups") or []),
            public_key=d.get("public_key", ""),
            has_escrow=bool(d.get("has_escrow")),
        )


@dataclass
class GroupInfo:
    """A group, the secrets in it and the agents granted it."""

    name: str
    secrets: List[str]
    agents: List[str]

    @classmethod
    def _from_json(cls, d: Dict[str, Any]) -> "GroupInfo":
        return cls(name=d["name"], secrets=list(d.get("secrets") or []), agents=list(d.get("agents") or []))


@dataclass
class Finding:
    """One result of the read-only audit (``Vault.check``)."""

    severity: str
    """"error" or "warning"."""
    kind: str
    """A stable identifier such as "expired"."""
    subject: str
    message: str

    @classmethod
    def _from_json(cls, d: Dict[str, Any]) -> "Finding":
        return cls(severity=d["severity"], kind=d["kind"], subject=d["subject"], message=d.get("message", ""))
