"""The one shape every perfaudit result takes: a Finding inside a Report.

The CLI tables, the JSON documents and the admin pages all render these objects, so they can
never disagree about what was found.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field, fields, replace
from decimal import Decimal
from typing import Any

from perfaudit.operations import FixOperation

SEVERITIES = ("info", "warning", "error")


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity)


@dataclass(frozen=True)
class Fix:
    sql: str | None = None
    #: The migration operations that apply the fix, valid in the migration state of
    #: ``app_label`` (structured: perfaudit.operations; the one writer prints and writes them).
    operations: tuple[FixOperation, ...] = ()
    #: The app whose migrations the operations belong in.
    app_label: str | None = None
    #: A shell command (quoted to run as printed), e.g. ``python manage.py explain '...'``.
    command: str | None = None
    #: The edit to the model that must accompany the operations (or replace them), so that
    #: makemigrations agrees with the database afterwards.
    model_change: str | None = None
    #: Why no migration can apply this fix safely on every database (e.g. a unique index that
    #: fails on duplicate rows): a person applies ``sql`` after checking; ``--write-migration``
    #: prints it as advice and writes the other fixes.
    unsafe: str | None = None

    @property
    def migration(self) -> str | None:
        """The operations as one Python expression (an operation, or a list of them) over the
        names ``migrations``, ``models`` and those of ``django.contrib.postgres.operations``:
        what the command, the JSON document and the admin page print."""
        if not self.operations:
            return None
        from perfaudit import migration_writer

        return migration_writer.expression(self.operations)

    def to_dict(self) -> dict[str, Any]:
        return {
            "sql": self.sql,
            "migration": self.migration,
            "app_label": self.app_label,
            "command": self.command,
            "model_change": self.model_change,
            "unsafe": self.unsafe,
        }


@dataclass(frozen=True)
class Finding:
    kind: str
    severity: str
    table: str | None
    object: str | None
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    fix: Fix = field(default_factory=Fix)
    #: Set from settings.PERFAUDIT["ACKNOWLEDGED"]: the reason the team accepted this finding.
    #: An acknowledged finding is still reported, and never counts for ``--fail-on``.
    acknowledged: str | None = None

    def __post_init__(self):
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {self.severity!r}")

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of a finding (what every report's ``findings`` list holds)."""
        document = {f.name: getattr(self, f.name) for f in fields(self)}
        return document | {"fix": self.fix.to_dict()}


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
    #: Table -> app label for the findings' tables that belong to installed packages (Django's
    #: contrib, third-party apps): the pages group their info findings under the app. Not
    #: part of the JSON document.
    package_apps: dict[str, str] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        return {}

    @property
    def data(self) -> dict[str, Any]:
        """The report-specific keys of the JSON document (as plain dicts and lists)."""
        return self.payload()

    def worst_at_least(self, severity: str) -> list[Finding]:
        rank = severity_rank(severity)
        return [
            f for f in self.findings if severity_rank(f.severity) >= rank and not f.acknowledged
        ]

    def filtered(self, *, kinds: set[str] | None = None, severity: str | None = None) -> Report:
        """The same report with only the findings of these kinds / at or above ``severity``."""
        rank = severity_rank(severity) if severity else 0
        findings = [
            f
            for f in self.findings
            if (not kinds or f.kind in kinds) and severity_rank(f.severity) >= rank
        ]
        return replace(self, findings=findings)

    def to_dict(self) -> dict[str, Any]:
        document = {
            "generated_at": self.generated_at,
            "database": self.database.to_dict(),
            "findings": [f.to_dict() for f in self.findings],
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
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    return str(value)


def acknowledge(findings: list[Finding], acknowledgements) -> list[Finding]:
    """Mark the findings an ``Acknowledgement`` matches (perfaudit.conf.acknowledgements())."""
    result = []
    for f in findings:
        ack = next((a for a in acknowledgements if a.matches(f)), None)
        result.append(replace(f, acknowledged=ack.reason) if ack else f)
    return result
