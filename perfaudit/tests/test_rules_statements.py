"""Slow-query rules without a database: minimum calls, share of total time, runnable fixes."""

import shlex

from perfaudit.conf import PerfauditSettings
from perfaudit.rules import statements
from perfaudit.snapshots.statements import (
    GenericPlanChecks,
    Statement,
    StatementsSnapshot,
    StatementsStatus,
)

from .factories import server_info

CONF = PerfauditSettings()
STATUS = StatementsStatus(True, True, True)


def stmt(queryid, query, *, calls, mean, share):
    return Statement(queryid, query, calls, calls * mean, mean, mean * 2, calls, 10, 0, share)


def evaluate(*rows, version=180000, generic_errors=None):
    snapshot = StatementsSnapshot(
        server=server_info(version_num=version), status=STATUS, candidates=list(rows)
    )
    checks = GenericPlanChecks(errors=generic_errors or {})
    return statements.evaluate(snapshot, CONF, generic_plans=checks)


def test_one_call_is_not_a_slow_query():
    assert evaluate(stmt(1, "SELECT pg_sleep(1)", calls=1, mean=1000.0, share=0.01)) == []
    [f] = evaluate(
        stmt(1, "SELECT pg_sleep(1)", calls=CONF.SLOW_QUERY_MIN_CALLS, mean=1000.0, share=0.01)
    )
    assert (f.kind, f.severity) == ("slow_query", "warning")


def test_share_of_total_time_is_reported_even_when_each_call_is_fast():
    [f] = evaluate(stmt(2, "SELECT * FROM t WHERE id = 5", calls=90_000, mean=0.4, share=0.11))
    assert (f.kind, f.severity) == ("top_time_share", "info")
    assert "11.0% of the database's execution time" in f.message


def test_one_finding_per_statement():
    [f] = evaluate(stmt(3, "SELECT 1", calls=500, mean=300.0, share=0.6))
    assert f.kind == "slow_query" and "60.0%" in f.message


def test_utility_statements_are_never_flagged():
    assert evaluate(stmt(4, "CREATE INDEX i ON t (x)", calls=20, mean=900.0, share=0.9)) == []


def test_fix_command_runs_as_printed():
    query = "SELECT * FROM t WHERE note = 'it''s' AND x > 1"
    [f] = evaluate(stmt(5, query, calls=20, mean=500.0, share=0.2))
    argv = shlex.split(f.fix.command)
    assert argv == ["python", "manage.py", "explain", "--analyze", query]


def test_placeholders_use_a_generic_plan_on_every_version():
    query = "SELECT * FROM t WHERE owner_id = $1 AND created > now() - $2::interval"
    row = stmt(6, query, calls=20, mean=500.0, share=0.2)
    [f16] = evaluate(row, version=160000)
    argv = shlex.split(f16.fix.command.split("  #")[0])
    assert argv == ["python", "manage.py", "explain", query]  # no --analyze: nothing to bind
    # Before 16 explain plans it generically too (PREPARE + EXPLAIN EXECUTE, force_generic_plan).
    [f15] = evaluate(row, version=150000)
    assert f15.fix.command == f16.fix.command


def test_typed_literal_placeholders_that_do_not_parse_say_so():
    query = "SELECT * FROM t WHERE created > now() - interval $1"
    error = 'syntax error at or near "$1"'
    [f] = evaluate(stmt(7, query, calls=20, mean=500.0, share=0.2), generic_errors={7: error})
    assert f.fix.command.startswith("# EXPLAIN (GENERIC_PLAN) refuses this normalized text")
    assert error in f.fix.command


def test_a_one_off_is_not_a_time_share_finding_either():
    assert evaluate(stmt(8, "SELECT pg_sleep($1)", calls=1, mean=300.0, share=0.35)) == []
