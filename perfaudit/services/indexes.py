"""auditindexes: collect the index catalog and the models' declarations, evaluate, report."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from django.apps import apps

from perfaudit import migration_writer
from perfaudit.catalog import advisor as advisor_catalog
from perfaudit.catalog import indexes as catalog
from perfaudit.conf import get_settings
from perfaudit.errors import ServiceError
from perfaudit.findings import Finding, Report
from perfaudit.rules import indexes as rules
from perfaudit.rules.advisor.audit import served_statements
from perfaudit.services.base import envelope, get_connection
from perfaudit.snapshots.advisor import AdvisorSelection
from perfaudit.snapshots.indexes import IndexSelection, IndexSnapshot


@dataclass(frozen=True)
class IndexListing:
    name: str
    size_bytes: int
    scans: int
    last_scan: dt.datetime | None
    valid: bool
    definition: str
    ready: bool = True
    unique: bool = False
    primary: bool = False
    constraint: str | None = None


@dataclass(frozen=True)
class TableIndexes:
    table: str
    rows: int
    indexes: list[IndexListing] = field(default_factory=list)


@dataclass(frozen=True)
class WrittenFixes:
    path: Path | None
    operations: int
    #: The model edits the fixes ask for (makemigrations undoes them otherwise).
    model_changes: list[str]
    #: Fixes for this app no migration applies safely (Fix.unsafe) or that only a model edit
    #: makes: (finding, why), printed for a person to apply, never written.
    advice: list[tuple[Finding, str]] = field(default_factory=list)


@dataclass(kw_only=True)
class IndexReport(Report):
    tables: list[TableIndexes] = field(default_factory=list)
    #: Since when the scan counters count (snapshots.server.EvidenceWindow), for "unused".
    evidence_window: dict[str, Any] = field(default_factory=dict)
    #: The migration --write-migration wrote (not part of the JSON document: stdout stays
    #: the report; the command says where it wrote on stderr).
    written: WrittenFixes | None = None

    def payload(self) -> dict[str, Any]:
        return {"tables": [asdict(t) for t in self.tables], "evidence_window": self.evidence_window}


def audit_indexes(
    *,
    using: str = "default",
    table: str | None = None,
    min_size_mb: float | None = None,
    write_migration: str | None = None,
) -> IndexReport:
    """``write_migration``: an app label; every applicable fix for that app's models is
    written as its next migration (``WrittenFixes`` in ``report.written``)."""
    connection = get_connection(using)
    selection = IndexSelection(table=table, min_size_bytes=int((min_size_mb or 0) * 1024 * 1024))
    snapshot = catalog.collect(connection, selection)
    if not snapshot.table_exists:
        raise ServiceError(f"no table {table!r} on the search path")
    conf = get_settings()
    findings = rules.evaluate(snapshot, conf)
    if any(f.kind == "unused" and f.severity != "info" for f in findings):
        # One knowledge base: name the top statements the advisor finds each would serve.
        findings = rules.evaluate(snapshot, conf, served=_served(connection, conf))
    report = IndexReport(
        **envelope(connection, snapshot.server, findings),
        tables=listing(snapshot),
        evidence_window=evidence_window(snapshot),
    )
    if write_migration:
        report.written = write_fixes(connection, report.findings, write_migration)
    return report


def _served(connection, conf) -> dict:
    """(table, index) -> the top pg_stat_statements entries the index would serve."""
    selection = AdvisorSelection(
        top=conf.ADVISOR_TOP_STATEMENTS,
        profiler_prefixes=tuple(conf.PROFILER_TABLE_PREFIXES),
        with_audit=False,
    )
    return served_statements(advisor_catalog.collect(connection, selection), conf)


def applicable(findings: list[Finding], app_label: str) -> list[Finding]:
    """Fixes with operations for this app, not acknowledged, one per object."""
    seen, result = set(), []
    for f in findings:
        if f.acknowledged or f.fix.app_label != app_label or not f.fix.operations:
            continue
        if (f.table, f.object) in seen:
            continue
        seen.add((f.table, f.object))
        result.append(f)
    return result


def advice_only(findings: list[Finding], app_label: str, tables: set[str]) -> list[tuple]:
    """(finding, why) for the fixes of this app's tables that are not written: unsafe ones,
    model edits alone, and the SQL of tables whose migrations are not the project's."""
    result = []
    for f in findings:
        if f.acknowledged or f.fix.operations or not f.fix.sql:
            continue
        if f.severity == "info" and f.kind != "drift":
            continue
        if f.fix.app_label != app_label and f.table not in tables:
            continue
        why = f.fix.unsafe or (
            f"model change: {f.fix.model_change}"
            if f.fix.model_change
            else "apply the SQL by hand: no migration of this project can"
        )
        result.append((f, why))
    return result


def _package_tables(connection, app_label: str) -> tuple[bool, set[str]]:
    """(whether APP is installed as a package, the tables of its models)."""
    config = apps.get_app_config(app_label)
    path = getattr(config, "path", "") or ""
    package = "site-packages" in path or "dist-packages" in path
    return package, {m._meta.db_table for m in config.get_models(include_auto_created=True)}


def write_fixes(connection, findings: list[Finding], app_label: str) -> WrittenFixes:
    """Every applicable fix for one app as its next migration, ``NNNN_perfaudit_fixes.py``:
    exactly the operations the audit printed, each with the finding that proposed it. The
    fixes no migration applies safely are returned as advice, never written; an app installed
    as a package gets no migration (its migrations are not the project's), only the SQL."""
    try:
        package, tables = _package_tables(connection, app_label)
    except LookupError:
        raise ServiceError(f"--write-migration: no installed app {app_label!r}") from None
    chosen = [] if package else applicable(findings, app_label)
    advice = advice_only(findings, app_label, tables)
    if not chosen and not advice:
        raise ServiceError(f"--write-migration: no applicable fix for app {app_label!r}")
    if not chosen:
        return WrittenFixes(None, 0, [], advice)
    operations, notes = [], []
    for f in chosen:
        note = f"{f.kind} {f.table}.{f.object}: {' '.join(f.message.split())}"
        if f.fix.model_change:
            note += f" MODEL CHANGE: {f.fix.model_change}"
        operations += f.fix.operations
        notes += [note] * len(f.fix.operations)
    written = migration_writer.write_migration(
        connection,
        app_label,
        operations,
        name="perfaudit_fixes",
        command=f"manage.py auditindexes --write-migration {app_label}",
        notes=notes,
    )
    changes = [f.fix.model_change for f in chosen if f.fix.model_change]
    return WrittenFixes(written.path, len(chosen), changes, advice)


def listing(snapshot: IndexSnapshot) -> list[TableIndexes]:
    """The listed indexes (``snapshot.listed``), table by table."""
    tables: dict[str, TableIndexes] = {}
    for index in snapshot.listed:
        entry = tables.setdefault(index.table, TableIndexes(index.table, index.table_rows))
        entry.indexes.append(
            IndexListing(
                name=index.name,
                size_bytes=index.size_bytes,
                scans=index.scans,
                last_scan=index.last_scan,
                valid=index.is_valid,
                definition=index.definition,
                ready=index.is_ready,
                unique=index.is_unique,
                primary=index.is_primary,
                constraint=index.constraint,
            )
        )
    return list(tables.values())


def evidence_window(snapshot: IndexSnapshot) -> dict[str, Any]:
    """Since when the scan counters count, as the JSON document shows it."""
    times = snapshot.evidence
    window = times.window() if times else None
    return {
        "start": window.start if window else None,
        "days": window.days if window else None,
        "sources": window.sources if window else {},
        "postmaster_start": times.postmaster_start if times else None,
    }
