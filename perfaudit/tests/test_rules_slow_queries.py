"""rules.statements pinned: slow and heavy at their boundaries (calls, mean, share), settings
that turn a rule off, statements that are never judged placed before judged ones, each
finding's fields and command exactly, the extension's status findings (make mutate)."""

from dataclasses import asdict

from perfaudit.conf import PerfauditSettings
from perfaudit.findings import Finding, Fix
from perfaudit.rules import statements
from perfaudit.snapshots.statements import (
    GenericPlanChecks,
    Statement,
    StatementsSnapshot,
    StatementsStatus,
)

from .factories import server_info

CONF = PerfauditSettings()  # SLOW_QUERY_MS 100, SLOW_QUERY_MIN_CALLS 10, TIME_SHARE_RATIO 0.1
USABLE = StatementsStatus(True, True, True)
SQL = "SELECT * FROM t WHERE id = 1"


def row(queryid=1, query=SQL, *, calls=10, mean=100.0, share=0.01, max_ms=None):
    return Statement(
        queryid, query, calls, calls * mean, mean, max_ms or mean * 2, calls, 9, 1, share
    )


def judge(*rows, conf=CONF, status=USABLE, version=180000, errors=None):
    snapshot = StatementsSnapshot(
        server=server_info(version_num=version), status=status, candidates=list(rows)
    )
    return statements.evaluate(snapshot, conf, generic_plans=GenericPlanChecks(errors=errors or {}))


def test_a_slow_query_exactly():
    slow = row(7, "SELECT *\n  FROM   t WHERE id = 1", calls=12, mean=150.0, share=0.05)
    assert judge(slow) == [
        Finding(
            kind="slow_query",
            severity="warning",
            table=None,
            object="queryid 7",
            message="mean 150.0 ms (max 300.0) over 12 calls, 5.0% of the database's execution "
            "time: SELECT * FROM t WHERE id = 1",
            evidence=asdict(slow) | {"hit_ratio": 0.9, "min_calls": 10, "slow_query_ms": 100.0},
            fix=Fix(command="python manage.py explain --analyze 'SELECT * FROM t WHERE id = 1'"),
        )
    ]


def test_a_top_time_share_exactly():
    heavy = row(8, calls=1_000, mean=0.5, share=0.1)
    [f] = judge(heavy)
    assert f == Finding(
        kind="top_time_share",
        severity="info",
        table=None,
        object="queryid 8",
        message="10.0% of the database's execution time (1,000 calls, mean 0.50 ms): the first "
        f"place to look even though each call is fast: {SQL}",
        evidence=asdict(heavy) | {"hit_ratio": 0.9, "min_calls": 10, "slow_query_ms": 100.0},
        fix=Fix(command=f"python manage.py explain --analyze '{SQL}'"),
    )


def test_boundaries():
    assert [f.kind for f in judge(row(calls=10, mean=100.0))] == ["slow_query"]
    assert judge(row(calls=9, mean=100.0)) == []
    assert judge(row(calls=10, mean=99.9)) == []
    assert [f.kind for f in judge(row(calls=10, mean=1.0, share=0.1))] == ["top_time_share"]
    assert judge(row(calls=10, mean=1.0, share=0.0999)) == []
    assert judge(row(calls=9, mean=1.0, share=0.5)) == []  # heavy needs the calls too
    assert judge(row(calls=10, mean=1.0, share=None)) == []
    conf = PerfauditSettings(SLOW_QUERY_MS=5.0, SLOW_QUERY_MIN_CALLS=2, TIME_SHARE_RATIO=0.5)
    assert [f.kind for f in judge(row(calls=2, mean=5.0), conf=conf)] == ["slow_query"]
    assert judge(row(calls=1, mean=5.0), conf=conf) == []
    assert [f.kind for f in judge(row(calls=2, mean=1.0, share=0.5), conf=conf)] == [
        "top_time_share"
    ]


def test_rules_turned_off_by_their_settings():
    assert judge(row(calls=50, mean=500.0), conf=PerfauditSettings(SLOW_QUERY_MS=None)) == []
    off = PerfauditSettings(TIME_SHARE_RATIO=0.0)
    assert judge(row(calls=50, mean=1.0, share=0.9), conf=off) == []


def test_a_slow_statement_that_is_also_heavy_is_one_slow_query():
    [f] = judge(row(calls=20, mean=200.0, share=0.6))
    assert f.kind == "slow_query" and "60.0% of the database's execution time" in f.message
    [unknown] = judge(row(calls=20, mean=200.0, share=None))
    assert "? of the database's execution time" in unknown.message


def test_never_judged_statements_never_stop_the_loop():
    begin = row(1, "BEGIN", calls=500, mean=500.0)
    quick = row(2, "SELECT 1", calls=500, mean=1.0, share=0.0)
    slow = row(3, calls=500, mean=500.0)
    assert [f.object for f in judge(begin, quick, slow, begin)] == ["queryid 3"]


def test_long_text_is_cut_in_the_message_only():
    long = "SELECT " + ", ".join(f"c{n}" for n in range(100)) + " FROM t"
    [f] = judge(row(query=long, calls=10, mean=100.0))
    assert f.message.endswith(": " + long[:150])
    assert f.fix.command.endswith(f"'{long}'")
    [heavy] = judge(row(query=long, calls=10, mean=1.0, share=0.5))
    assert heavy.message.endswith(": " + long[:150])


def test_placeholders_get_a_generic_plan_command_on_16_and_a_substitution_before():
    sql = "SELECT * FROM t WHERE id = $1"
    [f] = judge(row(query=sql))
    assert f.fix.command == (
        "python manage.py explain 'SELECT * FROM t WHERE id = $1'  # generic plan (no ANALYZE): "
        "for timings, substitute values and add --analyze"
    )
    # Before 16 too: the explain command plans it generically (PREPARE + EXPLAIN EXECUTE).
    [old] = judge(row(query=sql), version=150000)
    assert old.fix.command == f.fix.command
    [new] = judge(row(query=sql), version=160000)
    assert new.fix.command.startswith("python manage.py explain 'SELECT")
    [refused] = judge(row(9, sql), errors={9: "syntax error"})
    assert refused.fix.command == (
        "# EXPLAIN (GENERIC_PLAN) refuses this normalized text (syntax error; "
        "pg_stat_statements turns a typed literal such as interval '1 day' into interval $n): "
        "replace each $n with a real value, then: python manage.py explain --analyze "
        "'SELECT * FROM t WHERE id = $1'"
    )
    [other] = judge(row(9, sql), errors={8: "syntax error"})
    assert other.fix.command.startswith("python manage.py explain 'SELECT")


def test_not_collecting_exactly():
    status = StatementsStatus(True, False, True)
    assert judge(row(calls=500, mean=500.0), status=status) == [
        Finding(
            kind="pg_stat_statements_missing",
            severity="warning",
            table=None,
            object="pg_stat_statements",
            message="pg_stat_statements is not collecting: run CREATE EXTENSION "
            "pg_stat_statements; in this database",
            evidence=asdict(status),
            fix=Fix(sql="CREATE EXTENSION IF NOT EXISTS pg_stat_statements;"),
        )
    ]
    [unloaded] = judge(status=StatementsStatus(True, True, False))
    assert unloaded.fix.sql == (
        "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'; -- then restart "
        "PostgreSQL and CREATE EXTENSION IF NOT EXISTS pg_stat_statements;"
    )


def test_evictions_are_info_after_the_statements():
    status = StatementsStatus(True, True, True, deallocations=1234)
    found = judge(row(calls=500, mean=500.0), status=status)
    assert [f.kind for f in found] == ["slow_query", "statements_evicted"]
    assert found[1] == Finding(
        kind="statements_evicted",
        severity="info",
        table=None,
        object="pg_stat_statements",
        message="1,234 entries were evicted since the reset: raise pg_stat_statements.max so "
        "rare statements are kept",
        evidence={"deallocations": 1234},
    )
    assert judge(status=StatementsStatus(True, True, True, deallocations=0)) == []
