"""evaluate() of the tables, statements, connections and profile rules (no database)."""

import datetime as dt

import pytest

from perfaudit.conf import PerfauditSettings
from perfaudit.rules import connections, profile, statements, tables
from perfaudit.snapshots.connections import (
    ActivityGroup,
    ConnectionLimits,
    ConnectionSetup,
    ConnectionsSnapshot,
)
from perfaudit.snapshots.profile import ProfileSnapshot, QueryProfile
from perfaudit.snapshots.statements import Statement, StatementsSnapshot, StatementsStatus
from perfaudit.snapshots.tables import TableSnapshot, TableStats

from .factories import server_info

CONF = PerfauditSettings()
NOW = dt.datetime(2026, 11, 24, tzinfo=dt.UTC)


def kinds(findings):
    return sorted((f.kind, f.severity) for f in findings)


# --- tables ---------------------------------------------------------------------------------


def table(**kw):
    values = dict.fromkeys(
        ("inserts", "updates", "hot_updates", "deletes", "live_tuples", "dead_tuples"), 0
    )
    values |= {"modified_since_analyze": 0, "seq_scans": 0, "seq_tuples_read": 0}
    values |= {"index_scans": 0, "total_bytes": 8192, "table_bytes": 8192}
    values |= dict.fromkeys(("last_vacuum", "last_autovacuum", "last_analyze"), None)
    values |= {"last_autoanalyze": NOW}
    return TableStats(schema="public", table="t", **(values | kw))


def test_tables_dead_tuples_stale_stats_and_seq_scans():
    snap = TableSnapshot(server_info(), [table(live_tuples=10_000, dead_tuples=5_000)])
    assert kinds(tables.evaluate(snap, CONF)) == [("needs_vacuum", "warning")]
    snap = TableSnapshot(server_info(), [table(live_tuples=10_000, modified_since_analyze=4_000)])
    (found,) = tables.evaluate(snap, CONF)
    assert (found.kind, found.fix.sql) == ("needs_analyze", 'ANALYZE "t";')
    heavy = table(live_tuples=100_000, seq_scans=10, seq_tuples_read=1_000_000, index_scans=1)
    assert kinds(tables.evaluate(TableSnapshot(server_info(), [heavy]), CONF)) == [
        ("seq_scan_heavy", "warning")
    ]
    assert tables.evaluate(TableSnapshot(server_info(), [table(live_tuples=10)]), CONF) == []


# --- statements -----------------------------------------------------------------------------


def stmt(query, mean_ms, queryid=1):
    return Statement(queryid, query, 10, mean_ms * 10, mean_ms, mean_ms * 2, 10, 90, 10)


def test_statements_not_collecting_says_how_to_enable():
    status = StatementsStatus(available=True, installed=False, preloaded=False)
    (found,) = statements.evaluate(StatementsSnapshot(server_info(), status), CONF)
    assert found.kind == "pg_stat_statements_missing"
    assert "shared_preload_libraries" in found.fix.sql


def test_slow_statements_are_flagged_but_not_maintenance():
    status = StatementsStatus(True, True, True, None, 3)
    rows = [stmt("SELECT * FROM t WHERE a = $1", 500), stmt("CREATE INDEX i ON t (a)", 900, 2)]
    snapshot = StatementsSnapshot(server_info(), status, rows, candidates=rows)
    found = statements.evaluate(snapshot, CONF)
    assert kinds(found) == [("slow_query", "warning"), ("statements_evicted", "info")]
    slow = next(f for f in found if f.kind == "slow_query")
    assert slow.object == "queryid 1"
    # $1 text cannot be executed, only explained (generic plan, PostgreSQL 16+)
    assert "--analyze" not in slow.fix.command.split("#")[0]
    assert slow.evidence["hit_ratio"] == 0.9


# --- connections ----------------------------------------------------------------------------


def conn_snapshot(*, max_connections=100, groups=(), pool=None, conn_max_age=60):
    return ConnectionsSnapshot(
        server=server_info(),
        setup=ConnectionSetup("default", conn_max_age, False, pool, None),
        groups=list(groups),
        limits=ConnectionLimits(max_connections, 3, 0, 5),
    )


def test_connection_demand_against_the_servers_limit():
    conf = PerfauditSettings(APP_PROCESSES=10, CONNECTIONS_PER_PROCESS=10)
    assert kinds(connections.evaluate(conn_snapshot(max_connections=50), conf)) == [
        ("too_many_connections", "error")
    ]
    assert kinds(connections.evaluate(conn_snapshot(max_connections=110), conf)) == [
        ("low_connection_headroom", "warning")
    ]
    assert connections.evaluate(conn_snapshot(max_connections=500), conf) == []


def test_pool_max_size_is_the_per_process_demand():
    conf = PerfauditSettings(APP_PROCESSES=4)
    room = connections.headroom(conn_snapshot(pool={"max_size": 8}), conf)
    assert (room.connections_per_process, room.app_demand, room.headroom) == (8, 32, 97 - 32)


def test_idle_in_transaction_long_running_and_no_reuse():
    groups = [
        ActivityGroup("db", "web", "idle in transaction", 2, 120.0, None),
        ActivityGroup("db", "worker", "active", 1, 300.0, 300.0),
    ]
    found = connections.evaluate(conn_snapshot(groups=groups, conn_max_age=0), CONF)
    assert kinds(found) == [
        ("idle_in_transaction", "warning"),
        ("long_running_query", "warning"),
        ("no_connection_reuse", "info"),
    ]


# --- profile --------------------------------------------------------------------------------


@pytest.mark.parametrize(("timings", "slow"), [([5.0, 200.0, 210.0], True), ([5.0, 6.0], False)])
def test_profile_flags_a_slow_median(timings, slow):
    snap = ProfileSnapshot(server_info(), "SELECT 1", QueryProfile(len(timings), 1, timings))
    found = profile.evaluate(snap, CONF)
    assert bool(found) is slow
    if slow:
        assert found[0].evidence["median_ms"] == 200.0
        assert "timings_ms" not in found[0].evidence


def test_dead_tuples_on_a_table_with_autovacuum_disabled_say_so():
    rows = [table(live_tuples=10_000, dead_tuples=5_000, autovacuum_disabled=True)]
    [found] = [
        f
        for f in tables.evaluate(TableSnapshot(server_info(), rows), CONF)
        if f.kind == "needs_vacuum"
    ]
    assert "autovacuum is disabled for this table" in found.message
    assert "not keeping up" not in found.message
