"""Index audit rules: unused, duplicate, redundant, missing FK index, invalid, bloat."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass

from perfaudit.catalog.indexes import ForeignKey, IndexInfo
from perfaudit.conf import PerfauditSettings
from perfaudit.findings import Finding, Fix

REPLICA_NOTE = (
    "scan counters are per server: a replica keeps its own, check them before dropping an "
    "index that may serve read traffic there"
)


@dataclass(frozen=True)
class ModelRef:
    """How a table maps to a Django model, so fixes can name the migration operation."""

    app_label: str
    model_name: str


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def drop_fix(index: IndexInfo, model: ModelRef | None) -> Fix:
    if index.constraint:
        sql = f"ALTER TABLE {_quote(index.table)} DROP CONSTRAINT {_quote(index.constraint)};"
        migration = None
    else:
        sql = f"DROP INDEX CONCURRENTLY {_quote(index.name)};"
        migration = (
            f"RemoveIndexConcurrently(model_name={model.model_name!r}, name={index.name!r})"
            if model
            else None
        )
    return Fix(sql=sql, migration=migration)


def _evidence(index: IndexInfo, **extra) -> dict:
    return {"size_bytes": index.size_bytes, "scans": index.scans, **extra}


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
                evidence=_evidence(
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
                    evidence=_evidence(index, duplicate_of=keep.name, kept_scans=keep.scans),
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
                evidence=_evidence(short, covered_by=long.name, covered_by_scans=long.scans),
                fix=drop_fix(short, models.get(short.table)),
            )
        )
    return findings


def _serves_fk(index: IndexInfo, fk: ForeignKey) -> bool:
    # A partial index cannot serve every lookup by the FK columns (ON DELETE, joins).
    if not index.is_valid or index.predicate is not None or index.method != "btree":
        return False
    n = len(fk.columns)
    leading = {c.attnum for c in index.columns[:n]}
    return len(index.columns) >= n and leading == set(fk.columns)


def missing_fk_indexes(
    foreign_keys: list[ForeignKey], indexes: list[IndexInfo], models: dict[str, ModelRef]
) -> list[Finding]:
    by_table: dict[tuple, list[IndexInfo]] = defaultdict(list)
    for index in indexes:
        by_table[(index.schema, index.table)].append(index)
    findings = []
    for fk in foreign_keys:
        if any(_serves_fk(i, fk) for i in by_table[(fk.schema, fk.table)]):
            continue
        cols = ", ".join(fk.column_names)
        name = f"{fk.table}_{'_'.join(fk.column_names)}_idx"[:63]
        model = models.get(fk.table)
        migration = None
        if model:
            migration = (
                f"AddIndexConcurrently(model_name={model.model_name!r}, "
                f"index=models.Index(fields={list(fk.column_names)!r}, name={name!r}))"
            )
        findings.append(
            Finding(
                kind="missing_fk_index",
                severity="warning",
                table=fk.table,
                object=fk.name,
                message=f"foreign key ({cols}) -> {fk.referenced_table} is not the leading "
                f"column(s) of any index: joins and ON DELETE on {fk.referenced_table} scan "
                f"{fk.table}",
                evidence={"columns": list(fk.column_names), "table_rows": fk.table_rows},
                fix=Fix(
                    sql=f"CREATE INDEX CONCURRENTLY {_quote(name)} ON {_quote(fk.table)} "
                    f"({', '.join(_quote(c) for c in fk.column_names)});",
                    migration=migration,
                ),
            )
        )
    return findings


def invalid_indexes(indexes: list[IndexInfo], models: dict[str, ModelRef]) -> list[Finding]:
    return [
        Finding(
            kind="invalid",
            severity="error",
            table=index.table,
            object=index.name,
            message="invalid index (a failed or still running CREATE INDEX CONCURRENTLY): "
            "never used by queries, yet still maintained on writes",
            evidence=_evidence(index, is_ready=index.is_ready),
            fix=Fix(
                sql=f"DROP INDEX CONCURRENTLY {_quote(index.name)}; -- then create it again, "
                f"or: REINDEX INDEX CONCURRENTLY {_quote(index.name)};",
                migration=drop_fix(index, models.get(index.table)).migration,
            ),
        )
        for index in indexes
        if not index.is_valid
    ]


# btree page layout: 8192-byte pages, 24-byte page header, 16-byte btree special space; each
# entry is an 8-byte IndexTupleData header + MAXALIGNed key + a 4-byte line pointer; leaf pages
# are filled to the default fillfactor of 90%.
_PAGE, _PAGE_OVERHEAD, _TUPLE_HEADER, _LINE_POINTER, _FILL = 8192, 40, 8, 4, 0.9


def estimated_btree_bytes(index: IndexInfo) -> int | None:
    if index.method != "btree" or any(c.avg_width is None for c in index.columns):
        return None
    key = sum(c.avg_width for c in index.columns)
    entry = _TUPLE_HEADER + math.ceil(key / 8) * 8 + _LINE_POINTER
    per_page = max(1, int((_PAGE - _PAGE_OVERHEAD) * _FILL // entry))
    leaf_pages = math.ceil(max(index.reltuples, 0) / per_page)
    # Upper levels and the metapage: about 1% of leaves, plus one.
    return (leaf_pages + math.ceil(leaf_pages / 100) + 1) * _PAGE


def bloated_indexes(
    indexes: list[IndexInfo], *, conf: PerfauditSettings, models: dict[str, ModelRef]
) -> list[Finding]:
    findings = []
    for index in indexes:
        if index.size_bytes < conf.BLOAT_MIN_BYTES or not index.is_valid:
            continue
        expected = estimated_btree_bytes(index)
        if expected is None:
            continue
        ratio = max(0.0, 1 - expected / index.size_bytes)
        if ratio < conf.BLOAT_INFO_RATIO:
            continue
        findings.append(
            Finding(
                kind="bloat",
                severity="warning" if ratio >= conf.BLOAT_WARNING_RATIO else "info",
                table=index.table,
                object=index.name,
                message=f"about {ratio:.0%} of the index is free space (estimate from "
                "pg_stats widths); rebuilding reclaims it without blocking writes",
                evidence=_evidence(
                    index, estimated_bytes=expected, bloat_ratio=round(ratio, 3), estimate=True
                ),
                fix=Fix(sql=f"REINDEX INDEX CONCURRENTLY {_quote(index.name)};"),
            )
        )
    return findings
