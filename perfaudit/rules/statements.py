"""pg_stat_statements rules: the extension not collecting, slow statements (over enough calls),
statements taking a large share of the database's time, evicted entries. Each fix is a command
that runs as printed."""

from __future__ import annotations

import shlex
from dataclasses import asdict

from perfaudit import sqltext
from perfaudit.conf import PerfauditSettings
from perfaudit.findings import Finding, Fix
from perfaudit.snapshots.statements import GenericPlanChecks, Statement, StatementsSnapshot
from perfaudit.sqltext import EXPLAINABLE


def explain_command(row: Statement, generic_plans: GenericPlanChecks) -> str:
    """A shell command for the statement, quoted so that it runs as printed."""
    text = " ".join(row.query.split())
    quoted = shlex.quote(text)
    if not sqltext.has_positional_params(text):
        return f"python manage.py explain --analyze {quoted}"
    substitute = "replace each $n with a real value, then: python manage.py explain --analyze"
    # Before PostgreSQL 16 the explain command plans it generically too (PREPARE + EXPLAIN
    # EXECUTE under force_generic_plan); GENERIC_PLAN's probe (16+) says when it cannot.
    error = generic_plans.errors.get(row.queryid)
    if error is not None:
        return (
            f"# EXPLAIN (GENERIC_PLAN) refuses this normalized text ({error}; pg_stat_statements "
            f"turns a typed literal such as interval '1 day' into interval $n): {substitute} "
            f"{quoted}"
        )
    return (
        f"python manage.py explain {quoted}  "
        "# generic plan (no ANALYZE): for timings, substitute values and add --analyze"
    )


def evaluate(
    snapshot: StatementsSnapshot,
    conf: PerfauditSettings,
    *,
    generic_plans: GenericPlanChecks | None = None,
) -> list[Finding]:
    """``generic_plans``: the sandbox's check that the printed explain commands run
    (sandbox.check_generic_plans); without it, PostgreSQL 16+ is trusted to plan them."""
    status = snapshot.status
    generic_plans = generic_plans or GenericPlanChecks()
    if not status.usable:
        return [
            Finding(
                kind="pg_stat_statements_missing",
                severity="warning",
                table=None,
                object="pg_stat_statements",
                message="pg_stat_statements is not collecting: " + status.how_to_enable(),
                evidence=asdict(status),
                fix=Fix(
                    sql="CREATE EXTENSION IF NOT EXISTS pg_stat_statements;"
                    if status.preloaded
                    else "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'; -- "
                    "then restart PostgreSQL and CREATE EXTENSION IF NOT EXISTS "
                    "pg_stat_statements;"
                ),
            )
        ]
    findings = statement_findings(snapshot, conf, generic_plans)
    if status.deallocations:
        findings.append(
            Finding(
                kind="statements_evicted",
                severity="info",
                table=None,
                object="pg_stat_statements",
                message=f"{status.deallocations:,} entries were evicted since the reset: raise "
                "pg_stat_statements.max so rare statements are kept",
                evidence={"deallocations": status.deallocations},
            )
        )
    return findings


def statement_findings(
    snapshot: StatementsSnapshot, conf: PerfauditSettings, generic_plans: GenericPlanChecks
) -> list[Finding]:
    findings = []
    for row in snapshot.candidates:
        if sqltext.first_keyword(row.query) not in EXPLAINABLE:
            continue
        slow = (
            bool(conf.SLOW_QUERY_MS)
            and row.mean_ms >= conf.SLOW_QUERY_MS
            and row.calls >= conf.SLOW_QUERY_MIN_CALLS
        )
        heavy = (
            row.calls >= conf.SLOW_QUERY_MIN_CALLS
            and bool(conf.TIME_SHARE_RATIO)
            and row.time_share is not None
            and row.time_share >= conf.TIME_SHARE_RATIO
        )
        if not (slow or heavy):
            continue
        text = " ".join(row.query.split())
        share = f"{row.time_share:.1%}" if row.time_share is not None else "?"
        if slow:
            message = (
                f"mean {row.mean_ms:,.1f} ms (max {row.max_ms:,.1f}) over {row.calls:,} calls, "
                f"{share} of the database's execution time: {text[:150]}"
            )
        else:
            message = (
                f"{share} of the database's execution time ({row.calls:,} calls, mean "
                f"{row.mean_ms:,.2f} ms): the first place to look even though each call is "
                f"fast: {text[:150]}"
            )
        # One finding per statement: a slow statement that is also heavy is one slow_query.
        findings.append(
            Finding(
                kind="slow_query" if slow else "top_time_share",
                severity="warning" if slow else "info",
                table=None,
                object=f"queryid {row.queryid}",
                message=message,
                evidence=asdict(row)
                | {
                    "hit_ratio": row.hit_ratio,
                    "min_calls": conf.SLOW_QUERY_MIN_CALLS,
                    "slow_query_ms": conf.SLOW_QUERY_MS,
                },
                fix=Fix(command=explain_command(row, generic_plans)),
            )
        )
    return findings
