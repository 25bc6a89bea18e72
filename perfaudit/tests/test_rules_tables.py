"""rules.tables pinned: each threshold at its boundary, near misses (one condition met, not the
other), two tables judged apart, a skipped table before a flagged one, and every finding's
fields and fix exactly (make mutate)."""

import datetime as dt

from perfaudit.conf import PerfauditSettings
from perfaudit.findings import Finding, Fix
from perfaudit.rules import tables
from perfaudit.snapshots.tables import TableSnapshot, TableStats

from .factories import server_info

CONF = PerfauditSettings()  # DEAD_TUPLE_MIN 1,000, DEAD_TUPLE_RATIO 0.2, ANALYZE_MOD_RATIO 0.2
WHEN = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
QUIET = {
    "inserts": 0,
    "updates": 0,
    "hot_updates": 0,
    "deletes": 0,
    "live_tuples": 100,
    "dead_tuples": 0,
    "modified_since_analyze": 0,
    "seq_scans": 0,
    "seq_tuples_read": 0,
    "index_scans": 0,
    "total_bytes": 0,
    "table_bytes": 0,
    "last_vacuum": None,
    "last_autovacuum": None,
    "last_analyze": WHEN,
    "last_autoanalyze": None,
}


def stats(name="t", **kw) -> TableStats:
    return TableStats(schema="public", table=name, **(QUIET | kw))


def judge(*rows, conf=CONF):
    return tables.evaluate(TableSnapshot(server_info(), list(rows)), conf)


def test_a_quiet_table_has_nothing():
    assert judge(stats()) == []


def test_needs_vacuum_exactly():
    row = stats(
        "orders", live_tuples=4_000, dead_tuples=1_000, last_autovacuum=WHEN, last_vacuum=None
    )
    assert judge(row) == [
        Finding(
            kind="needs_vacuum",
            severity="warning",
            table="orders",
            object="orders",
            message="20% of tuples are dead (1,000); autovacuum is not keeping up",
            evidence={"dead_tuples": 1_000, "live_tuples": 4_000, "last_vacuumed": WHEN},
            fix=Fix(sql='VACUUM (ANALYZE) "orders";'),
        )
    ]


def test_needs_vacuum_says_when_autovacuum_is_off():
    [f] = judge(stats(live_tuples=1_000, dead_tuples=1_000, autovacuum_disabled=True))
    assert f.message == (
        "50% of tuples are dead (1,000); autovacuum is disabled for this table "
        "(autovacuum_enabled=false, or autovacuum off): nothing vacuums it unless you do"
    )


def test_needs_vacuum_boundaries_and_near_misses():
    # Both at their threshold: flagged (>=).
    assert [f.kind for f in judge(stats(live_tuples=4_000, dead_tuples=1_000))] == ["needs_vacuum"]
    # Enough dead rows, not enough of a share; enough share, too few rows.
    assert judge(stats(live_tuples=4_001, dead_tuples=1_000)) == []
    assert judge(stats(live_tuples=3_996, dead_tuples=999)) == []
    assert judge(stats(live_tuples=1, dead_tuples=999)) == []
    conf = PerfauditSettings(DEAD_TUPLE_MIN=10, DEAD_TUPLE_RATIO=0.5)
    assert [f.kind for f in judge(stats(live_tuples=10, dead_tuples=10), conf=conf)] == [
        "needs_vacuum"
    ]
    assert judge(stats(live_tuples=11, dead_tuples=10), conf=conf) == []


def test_needs_analyze_exactly():
    row = stats("orders", live_tuples=10_000, modified_since_analyze=3_001, last_analyze=WHEN)
    assert judge(row) == [
        Finding(
            kind="needs_analyze",
            severity="warning",
            table="orders",
            object="orders",
            message=f"3,001 rows changed since the last ANALYZE ({WHEN}): the planner works "
            "from stale estimates",
            evidence={
                "modified_since_analyze": 3_001,
                "live_tuples": 10_000,
                "last_analyzed": WHEN,
            },
            fix=Fix(sql='ANALYZE "orders";'),
        )
    ]


def test_needs_analyze_boundaries():
    # The threshold is 0.2 x live + DEAD_TUPLE_MIN = 3,000 here: more than it, not equal.
    assert judge(stats(live_tuples=10_000, modified_since_analyze=3_000)) == []
    assert len(judge(stats(live_tuples=10_000, modified_since_analyze=3_001))) == 1
    conf = PerfauditSettings(ANALYZE_MOD_RATIO=0.5, DEAD_TUPLE_MIN=0)
    assert judge(stats(live_tuples=100, modified_since_analyze=50), conf=conf) == []
    assert len(judge(stats(live_tuples=100, modified_since_analyze=51), conf=conf)) == 1


def test_never_analyzed_counts_only_for_a_table_big_enough():
    never = {"last_analyze": None, "last_autoanalyze": None}
    [f] = judge(stats("big", live_tuples=1_000, **never))
    assert f.kind == "needs_analyze"
    assert f.message == (
        "0 rows changed since the last ANALYZE (never): the planner works from stale estimates"
    )
    assert f.evidence["last_analyzed"] is None
    assert judge(stats("small", live_tuples=999, **never)) == []
    # Analyzed by autovacuum only: analyzed.
    assert judge(stats(live_tuples=1_000, last_analyze=None, last_autoanalyze=WHEN)) == []


def test_seq_scan_heavy_exactly():
    row = stats(
        "events",
        live_tuples=50_000,
        seq_scans=10,
        index_scans=9,
        seq_tuples_read=500_000,
    )
    assert judge(row) == [
        Finding(
            kind="seq_scan_heavy",
            severity="warning",
            table="events",
            object="events",
            message="read mostly by sequential scans (10 seq vs 9 index scans, ~50,000 rows each)",
            evidence={"seq_scans": 10, "index_scans": 9, "seq_tuples_read": 500_000},
            fix=Fix(sql="-- find the queries with slowqueries, then explain them"),
        )
    ]


def test_seq_scan_heavy_near_misses():
    heavy = {"live_tuples": 50_000, "seq_scans": 10, "index_scans": 9, "seq_tuples_read": 500_000}
    assert len(judge(stats(**heavy))) == 1
    assert judge(stats(**heavy | {"live_tuples": 49_999})) == []  # a small table
    assert judge(stats(**heavy | {"index_scans": 10})) == []  # as many index scans
    assert judge(stats(**heavy | {"seq_tuples_read": 499_999})) == []  # short scans
    assert judge(stats(**heavy | {"seq_scans": 0, "index_scans": 0})) == []  # never read
    conf = PerfauditSettings(SEQ_SCAN_MIN_ROWS=10)
    assert len(judge(stats(live_tuples=10, seq_scans=1, seq_tuples_read=10), conf=conf)) == 1
    assert judge(stats(live_tuples=10, seq_scans=2, seq_tuples_read=19), conf=conf) == []


def test_tables_are_judged_apart_and_a_quiet_one_never_stops_the_loop():
    quiet = stats("a_quiet")
    dead = stats("b_dead", live_tuples=1_000, dead_tuples=1_000)
    stale = stats("c_stale", live_tuples=10_000, modified_since_analyze=5_000)
    found = judge(quiet, dead, quiet, stale)
    assert [(f.kind, f.table) for f in found] == [
        ("needs_vacuum", "b_dead"),
        ("needs_analyze", "c_stale"),
    ]


def test_one_table_can_need_all_three():
    row = stats(
        "t",
        live_tuples=60_000,
        dead_tuples=20_000,
        modified_since_analyze=40_000,
        seq_scans=5,
        index_scans=1,
        seq_tuples_read=300_000,
    )
    assert [f.kind for f in judge(row)] == ["needs_vacuum", "needs_analyze", "seq_scan_heavy"]
