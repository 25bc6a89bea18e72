"""Index audit rules: unused, duplicate, redundant, missing FK index, invalid, bloat.

A verdict that leads to dropping an index needs evidence a DBA would accept: scans by queries
(not foreign-key checks) over a window long enough; otherwise it says "not enough evidence" and
proposes nothing. A fix is code that applies: SQL that runs as printed, and a migration
operation valid for the app's migration state (see ``IndexOrigin``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field, replace

from perfaudit.catalog.declared import STRAY, IndexOrigin, ModelRef
from perfaudit.catalog.indexes import ForeignKey, IndexInfo, IndexSnapshot
from perfaudit.conf import PerfauditSettings
from perfaudit.findings import Finding, Fix
from perfaudit.rules import drift
from perfaudit.rules._sql import run_sql_operation
from perfaudit.sqltext import quote_ident as _quote

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

REPLICA_NOTE = (
    "scan counters are per server: a replica keeps its own, check them before dropping an "
    "index that may serve read traffic there"
)


@dataclass(frozen=True)
class EvidenceWindow:
    """Since when the scan counters have been counting, and why we think so.

    ``start`` is the latest of: the statistics reset, the first applied migration (a database
    younger than that has no history at all, whatever "stats reset: never" suggests) and, on
    PostgreSQL < 15 (which resets statistics at every restart), the server's start.
    """

    start: dt.datetime | None
    now: dt.datetime
    sources: dict = field(default_factory=dict)

    @property
    def days(self) -> float | None:
        if self.start is None:
            return None
        return (self.now - self.start).total_seconds() / 86400

    @classmethod
    def from_evidence(
        cls,
        *,
        now: dt.datetime,
        stats_reset: dt.datetime | None = None,
        postmaster_start: dt.datetime | None = None,
        first_migration: dt.datetime | None = None,
        server_version_num: int = 150000,
    ) -> EvidenceWindow:
        sources = {"stats_reset": stats_reset, "first_migration": first_migration}
        if server_version_num < 150000:
            sources["postmaster_start"] = postmaster_start
        known = [v for v in sources.values() if v is not None]
        return cls(max(known) if known else None, now, sources)


def evaluate(snapshot: IndexSnapshot, conf: PerfauditSettings) -> list[Finding]:
    """The whole index audit, pure: everything judged was read by catalog.indexes.collect."""
    indexes, declared = snapshot.indexes, snapshot.declared
    models = declared.models
    # Meta.indexes entries are in the migration state (the catalog refines this per name).
    origins = {
        (d.table, d.name): IndexOrigin("declared", d.model, in_state=True) for d in declared.indexes
    } | dict(declared.origins)
    window = evidence_window(snapshot) or EvidenceWindow.from_evidence(
        now=snapshot.server.now, stats_reset=snapshot.server.stats_reset
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
        ),
        *pairs,
        *missing_fk_indexes(
            snapshot.child_foreign_keys, indexes, models, index_names=declared.fk_index_names
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
    )
    findings = soften_unactionable(findings, declared.unactionable)
    return one_per_object(findings)


def evidence_window(snapshot: IndexSnapshot) -> EvidenceWindow | None:
    times = snapshot.evidence
    if times is None:
        return None
    return EvidenceWindow.from_evidence(
        now=times.now,
        stats_reset=times.stats_reset,
        postmaster_start=times.postmaster_start,
        first_migration=times.first_migration,
        server_version_num=times.version_num,
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
                fix=replace(f.fix, migration=None, app_label=None, model_change=None),
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


def create_concurrently(index: IndexInfo) -> str:
    """The index's own definition as ``CREATE INDEX CONCURRENTLY IF NOT EXISTS``, so it can be
    re-run (a migration's reverse, a re-create after fixing data)."""
    definition = index.definition
    for head in ("CREATE UNIQUE INDEX ", "CREATE INDEX "):
        if definition.startswith(head):
            return head + "CONCURRENTLY IF NOT EXISTS " + definition[len(head) :] + ";"
    return definition + ";"  # pragma: no cover - pg_get_indexdef always starts so


def drop_fix(index: IndexInfo, model: ModelRef | None, origin: IndexOrigin | None = None) -> Fix:
    """How to drop ``index``: SQL, and the migration operation its origin allows."""
    origin = origin or (IndexOrigin("declared", model, in_state=True) if model else STRAY)
    model = origin.model or model
    if index.constraint:
        return Fix(
            sql=f"ALTER TABLE {_quote(index.table)} DROP CONSTRAINT {_quote(index.constraint)};"
        )
    sql = f"DROP INDEX CONCURRENTLY IF EXISTS {_quote(index.name)};"
    app_label = model.app_label if model else None
    if origin.kind == "declared" and origin.in_state and model:
        where = f"{model.object_name or model.model_name}.Meta.indexes"
        return Fix(
            sql=sql,
            migration=f"RemoveIndexConcurrently(model_name={model.model_name!r}, "
            f"name={index.name!r})",
            app_label=app_label,
            model_change=f"delete the models.Index(name={index.name!r}) entry from {where} "
            "(otherwise makemigrations adds it back)",
        )
    if origin.kind in ("field", "like") and model:
        what = "its _like pattern-ops index" if origin.kind == "like" else "its index"
        reason = (
            f"Django creates {what} for {model.object_name or model.model_name}."
            f"{origin.field}; no migration state names it, so RemoveIndex* cannot apply. A "
            "fresh install creates it and this drops it again"
        )
        return Fix(
            sql=sql,
            migration=run_sql_operation(sql, create_concurrently(index), reason),
            app_label=app_label,
            model_change=(
                f"or set db_index=False on {model.object_name or model.model_name}."
                f"{origin.field} and let makemigrations write the AlterField"
                if origin.kind == "field"
                else None
            ),
        )
    reason = "no model or migration state knows this index (created by hand or by RunSQL)"
    return Fix(
        sql=sql,
        migration=run_sql_operation(sql, create_concurrently(index), reason) if model else None,
        app_label=app_label,
    )


def _evidence(index: IndexInfo, **extra) -> dict:
    return {"size_bytes": index.size_bytes, "scans": index.scans, **extra}


def _origin(origins, models, index: IndexInfo) -> IndexOrigin:
    if origins is not None:
        return origins.get((index.table, index.name), STRAY)
    model = models.get(index.table) if models else None
    return IndexOrigin("declared", model, in_state=True) if model else STRAY


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
        if fk.table != index.table or not _serves_fk(index, fk):
            continue
        others = [
            i for i in indexes if i is not index and i.table == fk.table and _serves_fk(i, fk)
        ]
        if not others:
            return fk
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
) -> list[Finding]:
    """``kept``: (table, index) -> the finding that keeps it (the covering side of a redundant
    pair, the kept one of duplicates): never also proposed for dropping."""
    window = window or EvidenceWindow.from_evidence(now=now, stats_reset=stats_reset)
    kept = kept or {}
    fk_targets = fk_referenced_indexes(list(foreign_keys))
    by_table: dict[str, list[IndexInfo]] = defaultdict(list)
    for index in indexes:
        by_table[index.table].append(index)
    findings = []
    min_days = conf.UNUSED_RECENT_RESET_DAYS
    for index in indexes:
        if index.scans or index.protected or not index.is_valid:
            continue
        # Scans of the table by queries: FK checks on its referenced keys do not count.
        fk_scans = sum(i.scans for i in by_table[index.table] if (i.table, i.name) in fk_targets)
        query_scans = max(0, index.table_scans - fk_scans)
        evidence = _evidence(
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
        fix = Fix()
        severity = "info"
        serves = only_fk_index(index, by_table[index.table], list(foreign_keys))
        if window.days is not None and window.days < min_days:
            message = (
                f"not enough evidence: no scans, but the counters cover only "
                f"{window.days:.1f} days (since {window.start:%Y-%m-%d %H:%M}, "
                f"{_window_source(window)}); judge after {min_days} days of normal traffic"
            )
        elif query_scans < conf.UNUSED_MIN_TABLE_SCANS:
            message = (
                f"not enough evidence: no scans, but queries read its table only "
                f"{query_scans:,} times"
                + (f" ({fk_scans:,} more scans were foreign-key checks)" if fk_scans else "")
                + f"; below UNUSED_MIN_TABLE_SCANS ({conf.UNUSED_MIN_TABLE_SCANS:,})"
            )
        elif serves is not None:
            message = (
                f"no scans, but keep it: it is the only index serving foreign key "
                f"{serves.name} ({', '.join(serves.column_names)}) -> {serves.referenced_table}; "
                "without it every DELETE or key UPDATE there scans this table"
            )
        elif (index.table, index.name) in kept:
            message = f"no scans, but keep it: {kept[(index.table, index.name)]}"
        else:
            severity = "warning"
            message = (
                f"no scans by queries over {window.days:.0f} days while queries read its "
                f"table {query_scans:,} times"
                if window.days is not None
                else f"no scans while queries read its table {query_scans:,} times (counters "
                "never reset)"
            )
            fix = drop_fix(
                index, models.get(index.table) if models else None, _origin(origins, models, index)
            )
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


def _window_source(window: EvidenceWindow) -> str:
    for key, label in (
        ("stats_reset", "statistics reset"),
        ("first_migration", "first migration applied"),
        ("postmaster_start", "server start: PostgreSQL < 15 resets statistics on restart"),
    ):
        if window.sources.get(key) == window.start:
            return label
    return "unknown"


def _keep_order(index: IndexInfo, origin: IndexOrigin) -> tuple:
    # The one to keep: enforces something, then what a model declares (never the stray copy),
    # then most used, then oldest (lowest oid).
    return (not index.protected, not index.is_primary, -origin.rank, -index.scans, index.oid)


def duplicate_indexes(
    indexes: list[IndexInfo], models: dict[str, ModelRef], origins: dict | None = None
) -> list[Finding]:
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
        keep, *drops = sorted(group, key=lambda i: _keep_order(i, _origin(origins, models, i)))
        for index in drops:
            if index.protected:
                continue
            origin = _origin(origins, models, index)
            findings.append(
                Finding(
                    kind="duplicate",
                    severity="warning",
                    table=index.table,
                    object=index.name,
                    message=f"same columns, method, opclasses, expressions and predicate as "
                    f"{keep.name} ({index.column_list}); every write maintains both. Keeping "
                    f"{keep.name} ({_origin(origins, models, keep).kind}), dropping this "
                    f"{origin.kind} one",
                    evidence=_evidence(
                        index,
                        duplicate_of=keep.name,
                        kept_scans=keep.scans,
                        origin=origin.kind,
                        kept_origin=_origin(origins, models, keep).kind,
                    ),
                    fix=drop_fix(index, models.get(index.table), origin),
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


def redundant_indexes(
    indexes: list[IndexInfo], models: dict[str, ModelRef], origins: dict | None = None
) -> list[Finding]:
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
                evidence=_evidence(
                    short,
                    covered_by=long.name,
                    covered_by_scans=long.scans,
                    origin=_origin(origins, models, short).kind,
                ),
                fix=drop_fix(short, models.get(short.table), _origin(origins, models, short)),
            )
        )
    return findings


def kept_by(findings: list[Finding]) -> dict[tuple[str, str], str]:
    """The indexes that duplicate/redundant findings keep in place of the ones they drop."""
    kept = {}
    for f in findings:
        if f.kind == "redundant":
            kept[(f.table, f.evidence["covered_by"])] = (
                f"it is what serves {f.object}'s lookups once that redundant index is dropped"
            )
        elif f.kind == "duplicate":
            kept[(f.table, f.evidence["duplicate_of"])] = (
                f"it is the copy kept in place of its duplicate {f.object}"
            )
    return kept


def _serves_fk(index: IndexInfo, fk: ForeignKey) -> bool:
    # A partial index cannot serve every lookup by the FK columns (ON DELETE, joins).
    if not index.is_valid or index.predicate is not None or index.method != "btree":
        return False
    n = len(fk.columns)
    leading = {c.attnum for c in index.columns[:n]}
    return len(index.columns) >= n and leading == set(fk.columns)


def missing_fk_indexes(
    foreign_keys: list[ForeignKey],
    indexes: list[IndexInfo],
    models: dict[str, ModelRef],
    *,
    index_names: dict[tuple, tuple] | None = None,
) -> list[Finding]:
    """``index_names``: (table, column names) -> (model field names, the name Django gives
    ``models.Index(fields=[...])`` on that model: its own naming, within its 30-character
    limit)."""
    by_table: dict[tuple, list[IndexInfo]] = defaultdict(list)
    for index in indexes:
        by_table[(index.schema, index.table)].append(index)
    findings = []
    for fk in foreign_keys:
        if any(_serves_fk(i, fk) for i in by_table[(fk.schema, fk.table)]):
            continue
        cols = ", ".join(fk.column_names)
        model = models.get(fk.table)
        fields, name = (index_names or {}).get(
            (fk.table, tuple(fk.column_names)), (fk.column_names, _short_index_name(fk))
        )
        fields = list(fields)
        migration = model_change = None
        if model:
            migration = (
                f"AddIndexConcurrently(model_name={model.model_name!r}, "
                f"index=models.Index(fields={fields!r}, name={name!r}))"
            )
            model_change = (
                f"add models.Index(fields={fields!r}, name={name!r}) to "
                f"{model.object_name or model.model_name}.Meta.indexes (otherwise "
                "makemigrations removes it again)"
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
                    sql=f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {_quote(name)} ON "
                    f"{_quote(fk.table)} ({', '.join(_quote(c) for c in fk.column_names)});",
                    migration=migration,
                    app_label=model.app_label if model else None,
                    model_change=model_change,
                ),
            )
        )
    return findings


def _short_index_name(fk: ForeignKey) -> str:
    """Django's Index naming shape (table[:11]_column[:7]_hash_idx, 30 characters at most)
    for tables no model maps."""
    import hashlib

    digest = hashlib.md5(  # noqa: S324 - a name, not security
        "".join([fk.table, *fk.column_names, "idx"]).encode()
    ).hexdigest()[:6]
    return f"{fk.table[:11]}_{fk.column_names[0][:7]}_{digest}_idx"


def duplicate_rows_query(index: IndexInfo) -> str:
    """Rows that break a unique index's keys (NULLs never conflict, unless NULLS NOT DISTINCT)."""
    keys = ", ".join(c.name for c in index.columns)
    conditions = [f"({c.name}) IS NOT NULL" for c in index.columns]
    if index.predicate:
        conditions.insert(0, f"({index.predicate})")
    return (
        f"SELECT {keys}, count(*) FROM {_quote(index.table)} WHERE {' AND '.join(conditions)} "
        f"GROUP BY {keys} HAVING count(*) > 1;"
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
            findings.append(
                Finding(
                    kind="build_in_progress",
                    severity="info",
                    table=index.table,
                    object=index.name,
                    message=f"being built right now ({progress.get('command')}, phase "
                    f"{progress.get('phase')}, pid {progress.get('pid')}): not usable until it "
                    "finishes; leave it alone",
                    evidence=_evidence(index, progress=progress, is_ready=index.is_ready),
                )
            )
            continue
        origin = _origin(origins, models, index)
        model = origin.model or models.get(index.table)
        drop = f"DROP INDEX CONCURRENTLY IF EXISTS {_quote(index.name)};"
        create = create_concurrently(index)
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
        evidence = _evidence(index, is_ready=index.is_ready, definition=index.definition)
        if index.is_unique:
            dupes = duplicate_rows_query(index)
            evidence["duplicate_rows_query"] = dupes
            message = (
                f"invalid unique index, {state}. A unique build fails on duplicate keys; "
                "REINDEX would fail the same way and leave another invalid index. Find the "
                "duplicates, fix or delete them, then drop and re-create"
            )
            sql = f"{drop}\n-- find the duplicate keys and fix them first:\n{dupes}\n{create}"
        else:
            message = f"invalid index, {state}: drop it and build it again"
            sql = f"{drop}\n{create}"
        migration = None
        if model:
            migration = run_sql_operation(
                [drop, create],
                None,
                "re-create an index whose concurrent build failed; a fresh install builds it "
                "valid and this re-creates it, harmlessly",
            )
        findings.append(
            Finding(
                kind="invalid",
                severity="error",
                table=index.table,
                object=index.name,
                message=message,
                evidence=evidence,
                fix=Fix(sql=sql, migration=migration, app_label=model.app_label if model else None),
            )
        )
    return findings


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
