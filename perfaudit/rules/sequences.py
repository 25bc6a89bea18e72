"""Sequences close to the largest value they can hand out (or their column can store)."""

from __future__ import annotations

from perfaudit import ddl
from perfaudit.conf import PerfauditSettings
from perfaudit.findings import Finding, Fix
from perfaudit.snapshots.sequences import TYPE_MAX, SequencesSnapshot


def evaluate(snapshot: SequencesSnapshot, conf: PerfauditSettings) -> list[Finding]:
    findings = []
    for s in snapshot.sequences:
        ratio = s.used_ratio
        if ratio is None or ratio < conf.SEQUENCE_WARNING_RATIO:
            continue
        severity = "error" if ratio >= conf.SEQUENCE_ERROR_RATIO else "warning"
        column_max = TYPE_MAX.get(s.column_type or "")
        # The column stops first (or together with the sequence): widening the sequence alone
        # would only move the failure from nextval() to the INSERT.
        column_bound = column_max is not None and s.increment > 0 and column_max <= s.max_value
        narrow_column = s.column_type in ("smallint", "integer") and s.increment > 0
        feeds = f" feeding {s.table}.{s.column} ({s.column_type})" if s.table else ""
        if s.cycle:
            outcome = "then it CYCLEs back to its minimum and inserts hit duplicate keys"
        elif column_bound:
            outcome = (
                f"the column's type stops at {column_max:,}: inserts will fail with "
                f"'{s.column_type} out of range'"
            )
        else:
            outcome = "then nextval() fails and inserts stop"
        if narrow_column and s.table and s.column:
            table = ddl.table(s.schema, s.table)
            sql = f"ALTER TABLE {table} ALTER COLUMN {ddl.ident(s.column)} TYPE bigint;"
            if not s.identity:
                # An identity column's sequence follows the column's new type; a serial's
                # sequence keeps its own type (and so its old maximum) unless told.
                sql += f"\nALTER SEQUENCE {ddl.table(s.schema, s.name)} AS bigint;"
            sql += (
                "\n-- rewrites the table under an ACCESS EXCLUSIVE lock: schedule it, or add a "
                "bigint column, backfill it in batches and swap; widen the referencing FK "
                "columns too"
            )
        elif s.max_value < TYPE_MAX["bigint"] and s.increment > 0:
            sql = (
                f"ALTER SEQUENCE {ddl.table(s.schema, s.name)} AS bigint MAXVALUE "
                f"{TYPE_MAX['bigint']};"
            )
        else:
            sql = "-- the sequence's whole range is nearly used: plan new keys (e.g. UUIDs)"
        findings.append(
            Finding(
                kind="sequence_near_max",
                severity=severity,
                table=s.table,
                object=s.name,
                message=f"sequence {s.name}{feeds} has used {ratio:.1%} of its range "
                f"({s.values_left:,} values left); {outcome}",
                evidence={
                    "last_value": s.last_value,
                    "limit": s.limit,
                    "sequence_max": s.max_value,
                    "sequence_type": s.data_type,
                    "column_type": s.column_type,
                    "identity": s.identity,
                    "used_ratio": round(ratio, 4),
                    "values_left": s.values_left,
                },
                fix=Fix(sql=sql),
            )
        )
    return findings
