"""The advisor's report stage: the typed report (its JSON contract), and the migration the
one writer writes for --write-migration."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from perfaudit import migration_writer
from perfaudit.findings import Report
from perfaudit.rules.advisor.advice import Advice, StatementResult, Suggestion
from perfaudit.services.advisor.request import AdvisorRequest
from perfaudit.services.base import envelope
from perfaudit.snapshots.advisor import AdvisorSnapshot, Verification

MODES = ("hypopg", "build", "auto", "unverified")


@dataclass(kw_only=True)
class AdvisorReport(Report):
    mode: str = "unverified"
    min_cost_reduction: float = 0.5
    suggestions: list[Suggestion] = field(default_factory=list)
    statements: list[StatementResult] = field(default_factory=list)
    written: str | None = None
    hypopg: dict[str, bool] = field(default_factory=dict)
    pg_stat_statements_usable: bool | None = None

    def payload(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "min_cost_reduction": self.min_cost_reduction,
            "hypopg": self.hypopg,
            "pg_stat_statements_usable": self.pg_stat_statements_usable,
            "suggestions": [s.to_dict() for s in self.suggestions],
            "statements": [s.to_dict() for s in self.statements],
            "written_migration": self.written,
        }


def write_suggestions(connection, app_label: str, suggestions) -> str | None:
    """The suggestions for APP's models as its next migration (None: none is for APP)."""
    operations = [
        s.operation for s in suggestions if s.operation and s.operation.app_label == app_label
    ]
    if not operations:
        return None
    written = migration_writer.write_migration(
        connection,
        app_label,
        operations,
        name="adviseindexes",
        command=f"manage.py adviseindexes --write-migration {app_label}",
        notes=[f"{s.name}: {' '.join(s.sql.split())}" for s in suggestions if s.operation],
    )
    return str(written.path)


def advisor_report(
    connection,
    snapshot: AdvisorSnapshot,
    verification: Verification,
    advice: Advice,
    request: AdvisorRequest,
) -> AdvisorReport:
    ext, status = snapshot.extensions, snapshot.statements_status
    report = AdvisorReport(
        **envelope(connection, snapshot.server, list(advice.findings)),
        mode=verification.mode,
        min_cost_reduction=request.min_cost_reduction,
        suggestions=list(advice.suggestions),
        statements=list(advice.statements),
        hypopg={"installed": ext.hypopg_installed, "available": ext.hypopg_available},
        pg_stat_statements_usable=status.usable if status else None,
    )
    if request.write_migration:
        report.written = write_suggestions(connection, request.write_migration, advice.suggestions)
    return report
