"""Result types: the module's JSON results with Python types (datetimes
instead of strings). The module parses and checks the vault files."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Dict, List, Optional

# RFC 3339 as Go writes it: "Z" or an offset, zero to nine fraction digits.
_RFC3339 = re.compile(r"^(?P<base>[^.Z+]+?)(?:\.(?P<frac>\d+))?(?P<tz>Z|[+-]\d\d:\d\d)$")


def parse_time(value: str) -> datetime:
    """An aware datetime from core's RFC 3339. Python before 3.11 takes
    neither "Z" nor other than 3 or 6 fraction digits, and Go writes up to 9."""
    m = _RFC3339.match(value)
    if m is None:
        return datetime.fromisoformat(value)
    frac = (m.group("frac") or "")[:6]
    tz = "+00:00" if m.group("tz") == "Z" else m.group("tz")
    return datetime.fromisoformat(m.group("base") + ("." + frac.ljust(6, "0") if frac else "") + tz)


@dataclass
class SecretMetadata:
    """The plaintext record beside a secret: names and dates, no value."""

    name: str
    group: str
    created: datetime
    rotated: datetime
    expires: Optional[datetime]
    authorized_agents: List[str] = field(default_factory=list)

    @classmethod
    def _from_json(cls, d: Dict[str, Any]) -> SecretMetadata:
        return cls(name=d["name"], group=d["group"], created=parse_time(d["created"]),
                   rotated=parse_time(d["rotated"]), expires=parse_time(d["expires"]) if d.get("expires") else None,
                   authorized_agents=list(d.get("authorized_agents") or []))


@dataclass
class AgentInfo:
    """An agent, its groups and public key. ``agent["name"]`` and
    ``agent["groups"]`` also work, as with the original SDK's dicts."""

    name: str
    groups: List[str]
    public_key: str
    has_escrow: bool

    def __getitem__(self, key: str) -> Any:
        if key not in self.__dataclass_fields__:
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key) if key in self.__dataclass_fields__ else default

    @classmethod
    def _from_json(cls, d: Dict[str, Any]) -> AgentInfo:
        return cls(name=d["name"], groups=list(d.get("groups") or []), public_key=d.get("public_key", ""),
                   has_escrow=bool(d.get("has_escrow")))


@dataclass
class GroupInfo:
    """A group, the secrets in it and the agents granted it."""

    name: str
    secrets: List[str]
    agents: List[str]

    @classmethod
    def _from_json(cls, d: Dict[str, Any]) -> GroupInfo:
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
    def _from_json(cls, d: Dict[str, Any]) -> Finding:
        return cls(severity=d["severity"], kind=d["kind"], subject=d["subject"], message=d.get("message", ""))


class Manifest:
    """The vault's policy, agents and groups in manifest order, with the
    queries of the original SDK's ``Vault.manifest``."""

    def __init__(self, agents: List[AgentInfo], groups: List[GroupInfo]) -> None:
        self.agents, self.groups = agents, groups

    def agent_groups(self, agent_name: str) -> List[str]:
        return next((list(a.groups) for a in self.agents if a.name == agent_name), [])

    def group_secrets(self, group_name: str) -> List[str]:
        return next((list(g.secrets) for g in self.groups if g.name == group_name), [])

    def agents_for_secret(self, secret_path: str) -> List[str]:
        granted = {a for g in self.groups if secret_path in g.secrets for a in g.agents}
        return [a.name for a in self.agents if a.name in granted]

    def list_agents(self) -> List[Dict[str, Any]]:
        return [{"name": a.name, "groups": list(a.groups)} for a in self.agents]

    def list_groups(self) -> List[str]:
        return [g.name for g in self.groups]

    def list_secrets(self, group: Optional[str] = None) -> List[str]:
        return [s for g in self.groups if group is None or g.name == group for s in g.secrets]
