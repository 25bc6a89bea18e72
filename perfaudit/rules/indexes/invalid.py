"""Invalid indexes (a failed or cancelled concurrent build) and builds still in progress."""

from __future__ import annotations

from perfaudit import ddl
from perfaudit.findings import Finding, Fix
from perfaudit.operations import RUN_SQL, FixOperation
from perfaudit.rules.indexes.fixes import create_concurrently, index_evidence, origin_of
from perfaudit.snapshots.declared import ModelRef
from perfaudit.snapshots.indexes import IndexInfo


def duplicate_rows_query(index: IndexInfo) -> str:
    """Rows that break a unique index's keys (NULLs never conflict, unless NULLS NOT DISTINCT)."""
    keys = ", ".join(c.name for c in index.columns)
    conditions = [f"({c.name}) IS NOT NULL" for c in index.columns]
    if index.predicate:
        conditions.insert(0, f"({index.predicate})")
    return (
        f"SELECT {keys}, count(*) FROM {ddl.ident(index.table)} WHERE {' AND '.join(conditions)} "
        f"GROUP BY {keys} HAVING count(*) > 1;"
    )


def _building(index: IndexInfo, progress: dict) -> Finding:
    return Finding(
        kind="build_in_progress",
        severity="info",
        table=index.table,
        object=index.name,
        message=f"being built right now ({progress.get('command')}, phase "
        f"{progress.get('phase')}, pid {progress.get('pid')}): not usable until it "
        "finishes; leave it alone",
        evidence=index_evidence(index, progress=progress, is_ready=index.is_ready),
    )


def _rebuild(index: IndexInfo, model: ModelRef | None, drop: str, create: str) -> Fix:
    operations = ()
    if model:
        rebuild = FixOperation(
            RUN_SQL,
            model.app_label,
            model_name=model.model_name,
            table=index.table,
            name=index.name,
            sql=(drop, create),
            reason="re-create an index whose concurrent build failed; a fresh install "
            "builds it valid and this re-creates it, harmlessly",
        )
        operations = (rebuild,)
    sql = f"{drop}\n{create}"
    if index.is_unique:
        dupes = duplicate_rows_query(index)
        sql = f"{drop}\n-- find the duplicate keys and fix them first:\n{dupes}\n{create}"
    return Fix(sql=sql, operations=operations, app_label=model.app_label if model else None)


def _invalid(index: IndexInfo, model: ModelRef | None) -> Finding:
    if index.is_ready:
        state = (
            "a failed or cancelled CREATE INDEX CONCURRENTLY: never used by queries, yet "
            "maintained on every write (it got as far as being ready)"
        )
    else:
        state = (
            "a failed or cancelled CREATE INDEX CONCURRENTLY that never became ready: "
            "neither used by queries nor maintained on writes"
        )
    evidence = index_evidence(index, is_ready=index.is_ready, definition=index.definition)
    if index.is_unique:
        evidence["duplicate_rows_query"] = duplicate_rows_query(index)
        message = (
            f"invalid unique index, {state}. A unique build fails on duplicate keys; "
            "REINDEX would fail the same way and leave another invalid index. Find the "
            "duplicates, fix or delete them, then drop and re-create"
        )
    else:
        message = f"invalid index, {state}: drop it and build it again"
    return Finding(
        kind="invalid",
        severity="error",
        table=index.table,
        object=index.name,
        message=message,
        evidence=evidence,
        fix=_rebuild(index, model, ddl.drop_index(index.name), create_concurrently(index)),
    )


def invalid_indexes(
    indexes: list[IndexInfo],
    models: dict[str, ModelRef],
    *,
    building: dict[int, dict] | None = None,
    origins: dict | None = None,
) -> list[Finding]:
    """``building``: index oid -> its pg_stat_progress_create_index row (a build running now)."""
    building = building or {}
    findings = []
    for index in indexes:
        if index.is_valid:
            continue
        progress = building.get(index.oid)
        if progress is not None:
            findings.append(_building(index, progress))
            continue
        origin = origin_of(origins, models, index)
        findings.append(_invalid(index, origin.model or models.get(index.table)))
    return findings
