"""Duplicate indexes (same keys, method, opclasses, expressions and predicate) and redundant
ones (a strict leading prefix of another btree index), and which index each pair keeps."""

from __future__ import annotations

from collections import defaultdict

from perfaudit.findings import Finding
from perfaudit.rules.indexes.fixes import drop_fix, index_evidence, origin_of
from perfaudit.snapshots.declared import IndexOrigin, ModelRef
from perfaudit.snapshots.indexes import IndexInfo


def _keep_order(index: IndexInfo, origin: IndexOrigin) -> tuple:
    # The one to keep: enforces something (a constraint over a bare unique index), then what a
    # model declares (never the stray copy), then most used, then oldest (lowest oid).
    return (
        not index.protected,
        not index.is_primary,
        index.constraint is None,
        -origin.rank,
        -index.scans,
        index.oid,
    )


def _enforces_more(index: IndexInfo, keep: IndexInfo) -> bool:
    """``index`` enforces something ``keep`` does not: dropping it would lose a rule. Two
    unique indexes on the same keys enforce the same (NULLS NOT DISTINCT aside); a primary key
    or an exclusion constraint is never the copy dropped."""
    if not index.protected:
        return False
    if not index.is_unique or not keep.is_unique:  # a primary key sorts first: never dropped
        return True
    return index.nulls_not_distinct and not keep.nulls_not_distinct


def duplicate_indexes(
    indexes: list[IndexInfo], models: dict[str, ModelRef], origins: dict | None = None
) -> list[Finding]:
    """Exact duplicates: the copy kept enforces everything the dropped one does (a unique index
    duplicating a unique constraint's is reported too; the constraint is kept)."""
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
        keep, *drops = sorted(group, key=lambda i: _keep_order(i, origin_of(origins, models, i)))
        for index in drops:
            if _enforces_more(index, keep):
                continue
            origin = origin_of(origins, models, index)
            findings.append(
                Finding(
                    kind="duplicate",
                    severity="warning",
                    table=index.table,
                    object=index.name,
                    message=f"same columns, method, opclasses, expressions and predicate as "
                    f"{keep.name} ({index.column_list}); every write maintains both. Keeping "
                    f"{keep.name} ({origin_of(origins, models, keep).kind}), dropping this "
                    f"{origin.kind} one",
                    evidence=index_evidence(
                        index,
                        duplicate_of=keep.name,
                        kept_scans=keep.scans,
                        origin=origin.kind,
                        kept_origin=origin_of(origins, models, keep).kind,
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
                evidence=index_evidence(
                    short,
                    covered_by=long.name,
                    covered_by_scans=long.scans,
                    origin=origin_of(origins, models, short).kind,
                ),
                fix=drop_fix(short, models.get(short.table), origin_of(origins, models, short)),
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
