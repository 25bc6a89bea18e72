"""Invalid indexes (a failed or cancelled concurrent build) and builds still in progress."""

from __future__ import annotations

from perfaudit import ddl
from perfaudit.findings import Finding, Fix
from perfaudit.rules.indexes.fixes import create_concurrently, index_evidence, origin_of, run_sql
from perfaudit.snapshots.declared import IndexOrigin, ModelRef
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


def _rebuild(index: IndexInfo, model: ModelRef | None) -> Fix:
    """Drop it and build it again: only for an index something declares (a fresh install builds
    it, valid, and this re-creates it harmlessly). A unique one fails again on duplicate keys,
    stopping the operations after it: a person fixes the data and runs the SQL."""
    drop, create = ddl.drop_index(index.name), create_concurrently(index)
    if index.is_unique:
        dupes = duplicate_rows_query(index)
        return Fix(
            sql=f"{drop}\n-- find the duplicate keys and fix them first:\n{dupes}\n{create}",
            app_label=model.app_label if model else None,
            unsafe="re-creating a unique index fails while duplicate keys exist: fix the rows "
            "the query finds, then run the SQL (left out of --write-migration)",
        )
    operations = ()
    if model:
        reason = (
            "re-create an index whose concurrent build failed; a fresh install builds it valid "
            "and this re-creates it, harmlessly"
        )
        operations = (run_sql(index, model, (drop, create), None, reason),)
    return Fix(
        sql=f"{drop}\n{create}", operations=operations, app_label=model.app_label if model else None
    )


def _drop_stray(index: IndexInfo, model: ModelRef) -> Fix:
    """Nothing declares it: re-creating it would add an index (unique, perhaps) the project
    never asked for, on every fresh install too. Drop it."""
    drop = ddl.drop_index(index.name)
    reason = (
        "a failed build of an index nothing declares (made by hand): drop it; a fresh install "
        "never has it"
    )
    return Fix(
        sql=drop,
        operations=(run_sql(index, model, (drop,), None, reason),),
        app_label=model.app_label,
    )


def _invalid(index: IndexInfo, model: ModelRef | None, origin: IndexOrigin) -> Finding:
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
    evidence = index_evidence(
        index, is_ready=index.is_ready, definition=index.definition, origin=origin.kind
    )
    if not origin.wanted and model is not None:
        # On a model's table, an index no model, state or migration declares was made by hand:
        # building it again (unique, perhaps) would add what the project never asked for. On a
        # table no model maps, nothing declares anything: whoever made the table wants it.
        message = (
            f"invalid {'unique ' if index.is_unique else ''}index, {state}. No model, migration "
            "state or migration declares it: drop it rather than build it again"
        )
        fix = _drop_stray(index, model)
    elif index.is_unique:
        evidence["duplicate_rows_query"] = duplicate_rows_query(index)
        message = (
            f"invalid unique index, {state}. A unique build fails on duplicate keys; "
            "REINDEX would fail the same way and leave another invalid index. Find the "
            "duplicates, fix or delete them, then drop and re-create"
        )
        fix = _rebuild(index, model)
    else:
        message = f"invalid index, {state}: drop it and build it again"
        fix = _rebuild(index, model)
    return Finding(
        kind="invalid",
        severity="error",
        table=index.table,
        object=index.name,
        message=message,
        evidence=evidence,
        fix=fix,
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
        findings.append(_invalid(index, origin.model or models.get(index.table), origin))
    return findings
