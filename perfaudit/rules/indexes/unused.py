"""Unused indexes: no scans by queries (foreign-key checks discounted) over a long enough
evidence window, and not the only index serving a foreign key or the one a pair keeps."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from perfaudit.conf import PerfauditSettings
from perfaudit.findings import Finding, Fix
from perfaudit.rules.indexes.fixes import drop_fix, index_evidence, origin_of
from perfaudit.rules.indexes.foreign_keys import serves_fk
from perfaudit.rules.indexes.window import window_source
from perfaudit.snapshots.declared import ModelRef
from perfaudit.snapshots.indexes import ForeignKey, IndexInfo
from perfaudit.snapshots.server import EvidenceWindow

REPLICA_NOTE = (
    "scan counters are per server: a replica keeps its own, check them before dropping an "
    "index that may serve read traffic there"
)


def fk_referenced_indexes(foreign_keys: list[ForeignKey]) -> set[tuple[str, str]]:
    """(table, index) of the unique indexes foreign keys point at: every insert or update of a
    referencing row scans them (PostgreSQL's RI check), so their scans are not queries'."""
    return {
        (fk.referenced_table, fk.referenced_index) for fk in foreign_keys if fk.referenced_index
    }


def only_fk_index(
    index: IndexInfo, indexes: list[IndexInfo], foreign_keys: list[ForeignKey]
) -> ForeignKey | None:
    """The foreign key this index alone serves (ON DELETE on the parent, joins), if any."""
    for fk in foreign_keys:
        if fk.table != index.table or not serves_fk(index, fk):
            continue
        others = [i for i in indexes if i is not index and i.table == fk.table and serves_fk(i, fk)]
        if not others:
            return fk
    return None


def _short(sql: str, n: int = 80) -> str:
    text = " ".join(sql.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _kept_because(index, window, query_scans, fk_scans, serves, kept, conf) -> str | None:
    """Why the evidence does not let us drop it (None: it does)."""
    min_days = conf.UNUSED_RECENT_RESET_DAYS
    if window.days is not None and window.days < min_days:
        return (
            f"not enough evidence: no scans, but the counters cover only "
            f"{window.days:.1f} days (since {window.start:%Y-%m-%d %H:%M}, "
            f"{window_source(window)}); judge after {min_days} days of normal traffic"
        )
    if query_scans < conf.UNUSED_MIN_TABLE_SCANS:
        return (
            f"not enough evidence: no scans, but queries read its table only "
            f"{query_scans:,} times"
            + (f" ({fk_scans:,} more scans were foreign-key checks)" if fk_scans else "")
            + f"; below UNUSED_MIN_TABLE_SCANS ({conf.UNUSED_MIN_TABLE_SCANS:,})"
        )
    if serves is not None:
        return (
            f"no scans, but keep it: it is the only index serving foreign key "
            f"{serves.name} ({', '.join(serves.column_names)}) -> {serves.referenced_table}; "
            "without it every DELETE or key UPDATE there scans this table"
        )
    if (index.table, index.name) in kept:
        return f"no scans, but keep it: {kept[(index.table, index.name)]}"
    return None


def unused_indexes(
    indexes: list[IndexInfo],
    *,
    stats_reset: dt.datetime | None = None,
    now: dt.datetime,
    conf: PerfauditSettings,
    models: dict[str, ModelRef] | None = None,
    window: EvidenceWindow | None = None,
    foreign_keys: list[ForeignKey] = (),
    origins: dict | None = None,
    kept: dict[tuple[str, str], str] | None = None,
    served: dict[tuple[str, str], list[str]] | None = None,
) -> list[Finding]:
    """``kept``: (table, index) -> the finding that keeps it (the covering side of a redundant
    pair, the kept one of duplicates): never also proposed for dropping. ``served``: (table,
    index) -> the top statements adviseindexes finds it would serve (named in the verdict)."""
    window = window or EvidenceWindow.from_evidence(now=now, stats_reset=stats_reset)
    kept = kept or {}
    fk_targets = fk_referenced_indexes(list(foreign_keys))
    by_table: dict[str, list[IndexInfo]] = defaultdict(list)
    for index in indexes:
        by_table[index.table].append(index)
    findings = []
    for index in indexes:
        if index.scans or index.protected or not index.is_valid:
            continue
        # Scans of the table by queries: FK checks on its referenced keys do not count.
        fk_scans = sum(i.scans for i in by_table[index.table] if (i.table, i.name) in fk_targets)
        query_scans = max(0, index.table_scans - fk_scans)
        evidence = index_evidence(
            index,
            table_scans=index.table_scans,
            fk_check_scans=fk_scans,
            table_query_scans=query_scans,
            window_start=window.start,
            window_days=None if window.days is None else round(window.days, 2),
            window_sources=window.sources,
            stats_reset=window.sources.get("stats_reset"),
            note=REPLICA_NOTE,
        )
        serves = only_fk_index(index, by_table[index.table], list(foreign_keys))
        message = _kept_because(index, window, query_scans, fk_scans, serves, kept, conf)
        severity, fix = "info", Fix()
        if message is None:
            severity = "warning"
            message = (
                f"no scans by queries over {window.days:.0f} days while queries read its "
                f"table {query_scans:,} times"
                if window.days is not None
                else f"no scans while queries read its table {query_scans:,} times (counters "
                "never reset)"
            )
            model = models.get(index.table) if models else None
            fix = drop_fix(index, model, origin_of(origins, models, index))
            statements = (served or {}).get((index.table, index.name))
            if statements:
                message += (
                    f"; but adviseindexes finds it would serve {len(statements)} of the top "
                    f"statements ({_short(statements[0])}): EXPLAIN them before dropping it"
                )
                evidence["serves_statements"] = list(statements)
        findings.append(
            Finding(
                kind="unused",
                severity=severity,
                table=index.table,
                object=index.name,
                message=message,
                evidence=evidence,
                fix=fix,
            )
        )
    return findings
