"""The one shape every perfaudit result takes: a Finding inside a Report.

The CLI tables, the JSON documents and the admin pages all render these objects, so they can
never disagree about what was found.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

SEVERITIES = ("info", "warning", "error")


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity)


@dataclass(frozen=True)
class Fix:
    sql: str | None = None
    #: The Django migration operation that applies the fix (indexes only).
    migration: str | None = None


@dataclass(frozen=True)
class Finding:
    kind: str
    severity: str
    table: str | None
    object: str | None
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    fix: Fix = field(default_factory=Fix)

    def __post_init__(self):
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {self.severity!r}")


@dataclass(frozen=True)
class DatabaseRef:
    """Which database a report describes: the envelope every JSON document starts with."""

    vendor: str
    version: str
    stats_reset: dt.datetime | None
    alias: str
    name: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Worst first, then by kind and table. Stable: within one kind and table, the rule's own
    order (e.g. by cost) is kept."""
    return sorted(findings, key=lambda f: (_SEVERITY_ORDER[f.severity], f.kind, f.table or ""))


@dataclass(kw_only=True)
class Report:
    """The base of every report (perfaudit.services.<topic>): envelope + findings.

    Subclasses add typed fields and say in ``payload()`` how they appear in the JSON document,
    after the envelope keys: ``to_dict()`` is the JSON contract.
    """

    generated_at: dt.datetime
    database: DatabaseRef
    findings: list[Finding] = field(default_factory=list)

    def payload(self) -> dict[str, Any]:
        return {}

    @property
    def data(self) -> dict[str, Any]:
        """The report-specific keys of the JSON document (as plain dicts and lists)."""
        return self.payload()

    def worst_at_least(self, severity: str) -> list[Finding]:
        rank = severity_rank(severity)
        return [f for f in self.findings if severity_rank(f.severity) >= rank]

    def to_dict(self) -> dict[str, Any]:
        document = {
            "generated_at": self.generated_at,
            "database": self.database.to_dict(),
            "findings": [asdict(f) for f in self.findings],
        }
        for key, value in self.payload().items():
            document.setdefault(key, value)
        return document

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=json_default)


def json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    return str(value)
