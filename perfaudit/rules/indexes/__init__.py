"""Index audit rules: unused, duplicate, redundant, missing FK index, invalid, bloat.

A verdict that leads to dropping an index needs evidence a DBA would accept: scans by queries
(not foreign-key checks) over a window long enough; otherwise it says "not enough evidence" and
proposes nothing. A fix is code that applies: SQL that runs as printed, and a migration
operation valid for the app's migration state (see ``IndexOrigin``).
"""

from __future__ import annotations

from dataclasses import replace

from perfaudit.conf import PerfauditSettings
from perfaudit.findings import Finding, Fix
from perfaudit.rules import drift
from perfaudit.rules.indexes.bloat import bloated_indexes, estimated_btree_bytes
from perfaudit.rules.indexes.duplicates import duplicate_indexes, kept_by, redundant_indexes

# Names imported ``as`` themselves were public helpers of the single-module rules.indexes:
# still importable from here (re-exports), though __all__ keeps listing only the rules.
from perfaudit.rules.indexes.fixes import create_concurrently as create_concurrently
from perfaudit.rules.indexes.fixes import drop_fix as drop_fix
from perfaudit.rules.indexes.foreign_keys import missing_fk_indexes
from perfaudit.rules.indexes.implicit import missing_implicit
from perfaudit.rules.indexes.invalid import duplicate_rows_query as duplicate_rows_query
from perfaudit.rules.indexes.invalid import invalid_indexes
from perfaudit.rules.indexes.origins import classify
from perfaudit.rules.indexes.unused import REPLICA_NOTE as REPLICA_NOTE
from perfaudit.rules.indexes.unused import fk_referenced_indexes as fk_referenced_indexes
from perfaudit.rules.indexes.unused import only_fk_index as only_fk_index
from perfaudit.rules.indexes.unused import unused_indexes
from perfaudit.snapshots.declared import STRAY, IndexOrigin, ModelRef
from perfaudit.snapshots.indexes import IndexSnapshot
from perfaudit.snapshots.server import EvidenceWindow

__all__ = [
    "STRAY",
    "EvidenceWindow",
    "Fix",
    "IndexOrigin",
    "ModelRef",
    "bloated_indexes",
    "duplicate_indexes",
    "estimated_btree_bytes",
    "evaluate",
    "invalid_indexes",
    "missing_fk_indexes",
    "redundant_indexes",
    "unused_indexes",
]


def evaluate(snapshot: IndexSnapshot, conf: PerfauditSettings, *, served=None) -> list[Finding]:
    """The whole index audit, pure: everything judged was read by catalog.indexes.collect.
    ``served``: (table, index) -> the top statements adviseindexes finds the index would
    serve (rules.advisor.audit.served_statements), named beside an "unused" verdict."""
    indexes, declared = snapshot.indexes, snapshot.declared
    models = declared.models
    origins = classify(indexes, declared)
    window = (
        snapshot.evidence.window()
        if snapshot.evidence
        else EvidenceWindow.from_evidence(
            now=snapshot.server.now, stats_reset=snapshot.server.stats_reset
        )
    )
    # Duplicates and redundant pairs first: the indexes they keep are never also "unused".
    pairs = [
        *duplicate_indexes(indexes, models, origins),
        *redundant_indexes(indexes, models, origins),
    ]
    findings = [
        *unused_indexes(
            indexes,
            now=snapshot.server.now,
            conf=conf,
            models=models,
            window=window,
            foreign_keys=snapshot.foreign_keys,
            origins=origins,
            kept=kept_by(pairs),
            served=served,
        ),
        *pairs,
        *missing_fk_indexes(
            snapshot.child_foreign_keys,
            indexes,
            models,
            index_names=declared.fk_index_names,
            implicit=declared.implicit,
        ),
        *invalid_indexes(indexes, models, building=snapshot.building, origins=origins),
        *bloated_indexes(indexes, conf=conf, models=models),
    ]
    findings += drift.drift_findings(
        list(declared.indexes),
        indexes,
        known_names=set(declared.known_names),
        models=models,
        existing_tables=snapshot.existing_tables,
        origins=origins,
    )
    findings += missing_implicit(
        tuple(s for s in declared.implicit if snapshot.table in (None, s.table)),
        indexes,
        existing_tables=snapshot.existing_tables,
        fk_columns={(fk.table, tuple(fk.column_names)) for fk in snapshot.foreign_keys},
    )
    findings = soften_unactionable(
        findings, declared.unactionable, origins=origins, snapshot=snapshot, conf=conf
    )
    return at_least_selected_size(one_per_object(findings), snapshot)


def at_least_selected_size(findings: list[Finding], snapshot: IndexSnapshot) -> list[Finding]:
    """The findings on indexes at least ``selection.min_size_bytes`` big. An error (an invalid
    index, a failed build) is never hidden by its size: a failed unique build is often tiny,
    and exactly what CI must not miss."""
    min_bytes = snapshot.selection.min_size_bytes
    if not min_bytes:
        return findings
    sizes = {(i.table, i.name): i.size_bytes for i in snapshot.indexes}
    return [
        f
        for f in findings
        if f.severity == "error" or sizes.get((f.table, f.object), min_bytes) >= min_bytes
    ]


def _package_note(finding: Finding, origins, declared) -> str:
    app = declared.package_apps.get(finding.table) if declared else None
    origin = (origins or {}).get((finding.table, finding.object))
    if origin is not None and origin.kind == "stray" and finding.kind == "drift":
        owner = f"the {app} package" if app else "Django (an auto-created many-to-many table)"
        return f" (on a table {owner} owns; no migration of this project can change it)"
    return (
        " (index created by Django or an installed package for this table, not by a project "
        "migration)"
    )


def soften_unactionable(
    findings: list[Finding], tables, *, origins=None, snapshot=None, conf=None
) -> list[Finding]:
    """Framework-made indexes: still reported, as info, without a migration that cannot exist.
    A declared index missing from such a table keeps its SQL, and stays a warning where the
    table is big enough (``PLAN_MIN_ROWS``) for the package's own queries to need it."""
    declared = snapshot.declared if snapshot else None
    rows = snapshot.table_rows if snapshot else {}
    min_rows = conf.PLAN_MIN_ROWS if conf else 0
    result = []
    for f in findings:
        if f.table in tables and f.kind in {"unused", "duplicate", "redundant", "drift"}:
            missing = f.kind == "drift" and f.evidence.get("missing")
            severity = "info"
            if missing and f.severity == "warning" and rows.get(f.table, 0) >= min_rows:
                severity = "warning"
            f = replace(
                f,
                severity=severity,
                message=f.message + _package_note(f, origins, declared),
                fix=replace(f.fix, operations=(), app_label=None, model_change=None),
            )
        result.append(f)
    return result


#: When one index draws several findings, the one reported first; the others become evidence.
KIND_PRIORITY = (
    "invalid",
    "build_in_progress",
    "duplicate",
    "redundant",
    "unused",
    "missing_fk_index",
    "drift",
    "bloat",
)


def one_per_object(findings: list[Finding]) -> list[Finding]:
    """One finding per (table, object): the most severe, then by KIND_PRIORITY; the others are
    kept in its evidence (``also``) and named in its message, so nothing is lost and one
    index never shows up twice with two different fixes."""
    sev = {"error": 0, "warning": 1, "info": 2}
    rank = {k: i for i, k in enumerate(KIND_PRIORITY)}
    groups: dict[tuple, list[Finding]] = {}
    for f in findings:
        groups.setdefault((f.table, f.object), []).append(f)
    result = []
    for group in groups.values():
        group.sort(key=lambda f: (sev[f.severity], rank.get(f.kind, len(rank))))
        first, *rest = group
        if rest:
            first = replace(
                first,
                message=first.message
                + "".join(f" [also {f.kind} ({f.severity}): {f.message}]" for f in rest),
                evidence={
                    **first.evidence,
                    "also": [
                        {"kind": f.kind, "severity": f.severity, "message": f.message} for f in rest
                    ],
                },
            )
        result.append(first)
    return result
