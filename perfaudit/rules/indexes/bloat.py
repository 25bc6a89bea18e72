"""Bloated btree indexes: actual size against an estimate from pg_stats widths."""

from __future__ import annotations

import math

from perfaudit import ddl
from perfaudit.conf import PerfauditSettings
from perfaudit.findings import Finding, Fix
from perfaudit.rules.indexes.fixes import index_evidence
from perfaudit.snapshots.declared import ModelRef
from perfaudit.snapshots.indexes import IndexInfo

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
                evidence=index_evidence(
                    index, estimated_bytes=expected, bloat_ratio=round(ratio, 3), estimate=True
                ),
                fix=Fix(sql=ddl.reindex(index.name)),
            )
        )
    return findings
