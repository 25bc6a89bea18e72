"""Index health rules: missing foreign-key indexes, invalid indexes, bloat; and the drop fix."""

from __future__ import annotations

import math
from collections import defaultdict

from perfaudit.catalog.declared import ModelRef
from perfaudit.catalog.indexes import ForeignKey, IndexInfo
from perfaudit.conf import PerfauditSettings
from perfaudit.findings import Finding, Fix
from perfaudit.sqltext import quote_ident as _quote


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


def evidence(index: IndexInfo, **extra) -> dict:
    return {"size_bytes": index.size_bytes, "scans": index.scans, **extra}


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
            evidence=evidence(index, is_ready=index.is_ready),
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
                evidence=evidence(
                    index, estimated_bytes=expected, bloat_ratio=round(ratio, 3), estimate=True
                ),
                fix=Fix(sql=f"REINDEX INDEX CONCURRENTLY {_quote(index.name)};"),
            )
        )
    return findings
