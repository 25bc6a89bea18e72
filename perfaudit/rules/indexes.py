"""Index audit rules: unused, duplicate, redundant, plus ``evaluate`` for the whole audit.

``evaluate(snapshot, conf)`` is pure: everything it judges was read by
``perfaudit.catalog.indexes.collect`` first.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import replace

from perfaudit.catalog.declared import ModelRef
from perfaudit.catalog.indexes import IndexInfo, IndexSnapshot
from perfaudit.conf import PerfauditSettings
from perfaudit.findings import Finding
from perfaudit.rules import drift
from perfaudit.rules.index_health import (
    bloated_indexes,
    drop_fix,
    estimated_btree_bytes,
    evidence,
    invalid_indexes,
    missing_fk_indexes,
)

__all__ = [
    "bloated_indexes",
    "duplicate_indexes",
    "estimated_btree_bytes",
    "evaluate",
    "invalid_indexes",
    "missing_fk_indexes",
    "redundant_indexes",
    "unused_indexes",
]

REPLICA_NOTE = (
    "scan counters are per server: a replica keeps its own, check them before dropping an "
    "index that may serve read traffic there"
)


def evaluate(snapshot: IndexSnapshot, conf: PerfauditSettings) -> list[Finding]:
    indexes, models = snapshot.indexes, snapshot.declared.models
    findings = [
        *unused_indexes(
            indexes,
            stats_reset=snapshot.server.stats_reset,
            now=snapshot.server.now,
            conf=conf,
            models=models,
        ),
        *duplicate_indexes(indexes, models),
        *redundant_indexes(indexes, models),
        *missing_fk_indexes(snapshot.foreign_keys, indexes, models),
        *invalid_indexes(indexes, models),
        *bloated_indexes(indexes, conf=conf, models=models),
    ]
    declared = snapshot.declared
    findings += drift.drift_findings(
        list(declared.indexes),
        indexes,
        known_names=set(declared.known_names),
        models=models,
        existing_tables=snapshot.existing_tables,
    )
    findings = soften_unactionable(findings, declared.unactionable)
    return runsql_for_undeclared(
        findings, declared.known_names | {d.name for d in declared.indexes}
    )


def soften_unactionable(findings: list[Finding], tables) -> list[Finding]:
    """Framework-made indexes: still reported, as info, without a migration that cannot exist."""
    result = []
    for f in findings:
        if f.table in tables and f.kind in {"unused", "duplicate", "redundant", "drift"}:
            f = replace(
                f,
                severity="info",
                message=f.message + " (index created by Django or an installed package for this "
                "table, not by a project migration)",
                fix=replace(f.fix, migration=None),
            )
        result.append(f)
    return result


def runsql_for_undeclared(findings: list[Finding], declared_names) -> list[Finding]:
    """RemoveIndexConcurrently only works on indexes in the migration state; others need SQL."""
    result = []
    for f in findings:
        migration = f.fix.migration or ""
        if migration.startswith("RemoveIndexConcurrently") and f.object not in declared_names:
            f = replace(
                f,
                fix=replace(
                    f.fix,
                    migration=f"RunSQL({f.fix.sql!r}) in a migration with atomic = False "
                    "(no migration state knows this index)",
                ),
            )
        result.append(f)
    return result


def unused_indexes(
    indexes: list[IndexInfo],
    *,
    stats_reset: dt.datetime | None,
    now: dt.datetime,
    conf: PerfauditSettings,
    models: dict[str, ModelRef],
) -> list[Finding]:
    findings = []
    recent = stats_reset is not None and (now - stats_reset) < dt.timedelta(
        days=conf.UNUSED_RECENT_RESET_DAYS
    )
    for index in indexes:
        if index.scans or index.protected or not index.is_valid:
            continue
        warn = not recent and index.table_scans >= conf.UNUSED_MIN_TABLE_SCANS
        if recent:
            why = "statistics were reset recently, so the window may be too short"
        elif not warn:
            why = f"its table was scanned only {index.table_scans} times, too few to judge"
        else:
            why = f"its table was scanned {index.table_scans} times meanwhile"
        findings.append(
            Finding(
                kind="unused",
                severity="warning" if warn else "info",
                table=index.table,
                object=index.name,
                message=f"no scans since statistics were last reset; {why}",
                evidence=evidence(
                    index,
                    table_scans=index.table_scans,
                    stats_reset=stats_reset,
                    note=REPLICA_NOTE,
                ),
                fix=drop_fix(index, models.get(index.table)),
            )
        )
    return findings


def _keep_order(index: IndexInfo) -> tuple:
    # The one to keep: enforces something, then most used, then oldest (lowest oid).
    return (not index.protected, not index.is_primary, -index.scans, index.oid)


def duplicate_indexes(indexes: list[IndexInfo], models: dict[str, ModelRef]) -> list[Finding]:
    groups: dict[tuple, list[IndexInfo]] = defaultdict(list)
    for index in indexes:
        if index.is_valid:
            key = (
                index.schema,
                index.table,
                index.method,
                index.key_signature,
                index.include,
                index.predicate,
            )
            groups[key].append(index)
    findings = []
    for group in groups.values():
        if len(group) < 2:
            continue
        keep, *drops = sorted(group, key=_keep_order)
        for index in drops:
            if index.is_primary:
                continue
            findings.append(
                Finding(
                    kind="duplicate",
                    severity="warning",
                    table=index.table,
                    object=index.name,
                    message=f"same columns, method, opclasses, expressions and predicate as "
                    f"{keep.name} ({index.column_list}); every write maintains both",
                    evidence=evidence(index, duplicate_of=keep.name, kept_scans=keep.scans),
                    fix=drop_fix(index, models.get(index.table)),
                )
            )
    return findings


def _covers(short: IndexInfo, long: IndexInfo) -> bool:
    """``short``'s keys are a strict leading prefix of ``long``'s, with equal everything else."""
    if (
        short.table != long.table
        or short.schema != long.schema
        or short.method != "btree"  # only btree searches use a leading prefix of the keys
        or long.method != "btree"
        or not long.is_valid
        or short.predicate != long.predicate
        or len(short.columns) >= len(long.columns)
    ):
        return False
    if short.key_signature != long.key_signature[: len(short.columns)]:
        return False
    # An index-only scan on ``short`` must still be possible on ``long``.
    long_names = {c.name for c in long.columns} | set(long.include)
    return set(short.include) <= long_names


def redundant_indexes(indexes: list[IndexInfo], models: dict[str, ModelRef]) -> list[Finding]:
    findings = []
    for short in indexes:
        if short.protected or not short.is_valid:
            continue
        covering = [long for long in indexes if long is not short and _covers(short, long)]
        if not covering:
            continue
        long = min(covering, key=lambda i: (len(i.columns), i.name))
        findings.append(
            Finding(
                kind="redundant",
                severity="warning",
                table=short.table,
                object=short.name,
                message=f"({short.column_list}) is a leading prefix of {long.name} "
                f"({long.column_list}), which serves the same lookups",
                evidence=evidence(short, covered_by=long.name, covered_by_scans=long.scans),
                fix=drop_fix(short, models.get(short.table)),
            )
        )
    return findings
