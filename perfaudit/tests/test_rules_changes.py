"""History without a database: deltas between captures (resets, restarts, evictions) and the
change rules on planted windows."""

import datetime as dt

import pytest

from perfaudit.conf import PerfauditSettings
from perfaudit.history import deltas
from perfaudit.history.windows import parse_duration, parse_moment
from perfaudit.rules import changes
from perfaudit.snapshots.history import (
    ChangesSelection,
    ChangesSnapshot,
    HistorySnapshot,
    PlanShape,
    RelationCounters,
    RelationWindow,
    StatementCounters,
    StatementWindow,
    plan_shape,
)
from perfaudit.snapshots.server import DatabaseStats, ServerInfo

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
CONF = PerfauditSettings()


def counters(queryid, calls, ms):
    return StatementCounters(queryid, calls, ms, calls, 10 * calls, 0, 0, 0, 0, 0, 0)


def snap(statements, *, reset=None, started=T0, scans=5, hit=100):
    return HistorySnapshot(
        server=ServerInfo("postgresql", "18", 180000, "db", None, T0),
        started_at=started,
        statements_usable=True,
        statements_reset=reset,
        deallocations=0,
        database=DatabaseStats(1000, hit, 10, 0, 0, 0, 0, None),
        max_connections=100,
        statements=statements,
        relations=[RelationCounters("index", "public", "i", "t", 8192, 0, 0, scans, 0)],
    )


def test_deltas_between_two_captures():
    base = deltas.baseline_of(snap([counters(1, 10, 5.0), counters(2, 4, 1.0)]))
    d = deltas.compute(
        snap([counters(1, 25, 8.0), counters(2, 4, 1.0), counters(3, 2, 1.0)], scans=9, hit=150),
        base,
    )
    by_id = dict(d.statements)
    assert by_id[1][:3] == (15, 3.0, 15)
    assert 2 not in by_id  # not called in between: nothing stored
    assert by_id[3][0] == 2  # new since: counted from zero
    assert d.relations["index:public.i"] == (4, 0)
    assert (d.blocks_hit, d.restarted) == (50, False)


@pytest.mark.parametrize(
    "change",
    [{"reset": T0 + dt.timedelta(hours=1)}, {"started": T0 + dt.timedelta(hours=1)}],
    ids=["pg_stat_statements_reset", "server restart"],
)
def test_a_reset_or_restart_counts_from_zero(change):
    base = deltas.baseline_of(snap([counters(1, 100, 50.0)]))
    d = deltas.compute(snap([counters(1, 7, 2.0)], **change), base)
    assert d.restarted and dict(d.statements)[1][:2] == (7, 2.0)


def test_a_counter_going_down_alone_counts_from_zero():
    base = deltas.baseline_of(snap([counters(1, 100, 50.0)]))
    d = deltas.compute(snap([counters(1, 7, 2.0)]), base)
    assert not d.restarted and dict(d.statements)[1][0] == 7


def test_the_first_capture_has_no_interval():
    d = deltas.compute(snap([counters(1, 100, 50.0)]), None)
    assert d.statements == [] and d.relations == {} and not d.restarted


def shape(index=None):
    if index:
        return plan_shape({"Node Type": "Index Scan", "Relation Name": "t", "Index Name": index})
    return plan_shape({"Node Type": "Seq Scan", "Relation Name": "t"})


def window(queryid, calls, ms, plan=None, origin="app"):
    return StatementWindow(queryid, f"SELECT {queryid}", calls, ms, plan=plan, origin=origin)


def changes_of(before=None, after=None, relations=(), **kw):
    snapshot = ChangesSnapshot(
        selection=ChangesSelection(T0, T0 + dt.timedelta(days=1), T0 + dt.timedelta(days=2)),
        captures_before=kw.pop("captures_before", 10),
        captures_after=kw.pop("captures_after", 10),
        before={w.queryid: w for w in before or []},
        after={w.queryid: w for w in after or []},
        relations=list(relations),
        **kw,
    )
    return changes.evaluate(snapshot, CONF)


def kinds(found):
    return sorted((c.kind, c.queryid) for c in found)


def test_slower_needs_the_ratio_the_milliseconds_and_the_calls():
    found = changes_of(
        [window(1, 100, 100.0), window(2, 100, 10.0), window(3, 5, 5.0)],
        [window(1, 100, 400.0), window(2, 100, 40.0), window(3, 5, 500.0)],
    )
    # 1: 1 -> 4 ms a call; 2: 0.1 -> 0.4 ms (under 1 ms more); 3: 5 calls only.
    assert kinds(found) == [("slower", 1)]
    assert found[0].before["mean_ms"] == 1.0 and found[0].after["mean_ms"] == 4.0


def test_plan_changed_names_the_index_that_stopped_being_used():
    [found] = changes_of([window(1, 50, 50.0, shape("t_k"))], [window(1, 50, 50.0, shape())])
    assert found.kind == "plan_changed"
    assert found.evidence["indexes_stopped"] == ["t_k"]
    assert found.before["plan"] == ["Index Scan using t_k on t"]
    assert found.after["plan"] == ["Seq Scan on t"]


def test_new_and_gone_statements_and_tools_left_out():
    found = changes_of(
        [window(1, 50, 5.0), window(9, 50, 5.0, origin="profiler")],
        [window(2, 50, 5.0), window(8, 50, 5.0, origin="catalog")],
    )
    assert kinds(found) == [("gone", 1), ("new", 2)]
    # Without captures after the moment nothing is "gone"; without any before, nothing "new".
    assert changes_of([window(1, 50, 5.0)], [], captures_after=0) == []
    assert changes_of([], [window(2, 50, 5.0)], captures_before=0) == []


def relation(name, kind="index", before=5, after=0, first=8192, last=8192, unique=False):
    return RelationWindow(
        kind, name, "t", T0, T0 + dt.timedelta(days=2), first, last, before, after, unique
    )


def test_index_unused_only_for_indexes_used_before_and_not_enforcing_anything():
    found = changes_of(
        relations=[
            relation("used_then_not"),
            relation("still_used", after=3),
            relation("never_used", before=0),
            relation("t_pkey", unique=True),
        ]
    )
    assert [c.object for c in found] == ["used_then_not"]


def test_growth_needs_an_hour_of_samples():
    quick = RelationWindow("table", "t", "t", T0, T0 + dt.timedelta(minutes=5), 0, 2**30, 1, 1)
    assert changes_of(relations=[quick]) == []


def test_growth_per_day_and_days_until_the_limit():
    conf = PerfauditSettings(CHANGES_SIZE_LIMIT_BYTES=10 * 2**30)
    snapshot = ChangesSnapshot(
        selection=ChangesSelection(T0, T0, T0),
        captures_before=1,
        captures_after=1,
        relations=[relation("t", "table", after=1, first=2**30, last=2**30 + 2 * 2**20)],
    )
    [found] = changes.evaluate(snapshot, conf)
    assert found.kind == "growth"
    assert found.evidence["bytes_per_day"] == 2**20  # 2 MiB over two days
    assert found.evidence["days_until_limit"] == pytest.approx(
        (9 * 2**30 - 2 * 2**20) / 2**20, 0.01
    )


def test_connection_peak_near_the_limit():
    found = changes_of(peak_before=(20, T0), peak_after=(90, T0), max_connections=100)
    assert [(c.kind, c.severity) for c in found] == [("connection_peak", "warning")]
    assert changes_of(peak_before=(20, T0), peak_after=(22, T0), max_connections=100) == []


def test_plan_shape_hash_is_stable_and_ignores_costs():
    a = plan_shape({"Node Type": "Seq Scan", "Relation Name": "t", "Total Cost": 1.0})
    b = plan_shape({"Node Type": "Seq Scan", "Relation Name": "t", "Total Cost": 99.0})
    assert a.hash == b.hash != shape("t_k").hash
    assert PlanShape.from_dict(a.to_dict()) == a


def test_durations_and_moments():
    assert parse_duration("90m") == dt.timedelta(minutes=90)
    assert parse_moment("24h", now=T0) == T0 - dt.timedelta(days=1)
    assert parse_moment("2026-01-01T00:00", now=T0) == T0
    for bad in ("", "soon", "0h", "-1d"):
        with pytest.raises(ValueError):
            parse_duration(bad)
    # Too long for a timedelta (or for now - it): a ValueError, not an OverflowError (a 500).
    with pytest.raises(ValueError, match="'99999999999w' is longer than 100 years"):
        parse_moment("99999999999w", now=T0)
    # A huge input is quoted short in the message.
    with pytest.raises(ValueError, match=r"^'x{40}\.\.\.' is neither"):
        parse_moment("x" * 100_000, now=T0)
