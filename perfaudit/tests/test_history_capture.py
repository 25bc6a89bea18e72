"""capturestats and perfchanges on a real PostgreSQL with pg_stat_statements: deltas around a
workload, a reset between captures, a dropped index seen as a plan change and a slowdown,
growth and an index no longer used, and the prune's retention window.

``transaction=True``: a capture is stamped with the server's now(), which inside one test
transaction would never move."""

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from perfaudit.history import store
from perfaudit.history.plans import take_plans
from perfaudit.models import Capture, RelationSample, StatementSample
from perfaudit.services.history import capture_stats

from .conftest import run_sql, statements_usable

pytestmark = pytest.mark.django_db(transaction=True)

#: Tables and indexes sampled by every capture (by default: every 300 s), so that captures a
#: second apart see sizes, scans and growth.
EVERY_CAPTURE = {"HISTORY_RELATIONS_SECONDS": 0}


@pytest.fixture(autouse=True)
def relations_every_capture(settings):
    settings.PERFAUDIT = EVERY_CAPTURE


HOT = "SELECT v FROM pa_hot WHERE k = %s"


@pytest.fixture
def hot_table(planted_hot):
    if not statements_usable():
        pytest.skip("pg_stat_statements is not preloaded on this server")


@pytest.fixture
def planted_hot():
    run_sql(
        "DROP TABLE IF EXISTS pa_hot",
        "CREATE TABLE pa_hot (id bigserial PRIMARY KEY, k int NOT NULL, v text NOT NULL)",
        "INSERT INTO pa_hot (k, v) SELECT g, md5(g::text) FROM generate_series(1, 200000) g",
        # A backend sends its counters at most once a second (PostgreSQL 15+): unsent, the
        # insert's 200,000 would land after ANALYZE's estimate and count the rows twice.
        "SELECT pg_stat_force_next_flush()",
        "CREATE INDEX pa_hot_k ON pa_hot (k)",
        "ANALYZE pa_hot",
    )
    yield
    run_sql("DROP TABLE IF EXISTS pa_hot")


def workload(times: int, start: int = 1):
    with connection.cursor() as cursor:
        for n in range(start, start + times):
            cursor.execute(HOT, [n])
            cursor.fetchall()
        flush_statistics(cursor)


def flush_statistics(cursor):
    # Table and index counters reach the shared statistics when the backend next flushes
    # them (up to a second or more later): now, so the next capture sees them.
    cursor.execute("SELECT pg_stat_force_next_flush()")


def hot_queryid() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT queryid FROM pg_stat_statements WHERE query LIKE 'SELECT v FROM pa_hot%%' "
            "AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        return cursor.fetchone()[0]


def sample(capture_id: int, queryid: int) -> StatementSample | None:
    return StatementSample.objects.filter(capture_id=capture_id, queryid=queryid).first()


def perfchanges(*args) -> dict:
    out = StringIO()
    call_command("perfchanges", "--format", "json", *args, stdout=out)
    return json.loads(out.getvalue())


def test_two_captures_around_a_workload_give_its_deltas(hot_table):
    first = capture_stats()
    assert first.first and first.statements == 0
    workload(30)
    second = capture_stats()
    row = sample(second.capture_id, hot_queryid())
    assert (row.calls, row.rows) == (30, 30)
    assert row.total_ms > 0 and row.shared_hit + row.shared_read > 0
    # The plan shape of the hot statement: an index scan on pa_hot_k.
    assert row.plan_hash is not None
    assert not second.restarted
    # Only the latest capture keeps the counters the next one starts from.
    assert list(Capture.objects.filter(baseline__isnull=False).values_list("pk", flat=True)) == [
        second.capture_id
    ]
    sizes = RelationSample.objects.filter(capture_id=second.capture_id, name="pa_hot").get()
    assert sizes.size_bytes > 10_000_000 and sizes.rows == 200_000


def test_a_reset_between_captures_counts_from_the_reset(hot_table):
    capture_stats()
    workload(10)
    capture_stats()
    workload(10)
    run_sql("SELECT pg_stat_statements_reset()")
    workload(5)
    after = capture_stats()
    assert after.restarted
    assert sample(after.capture_id, hot_queryid()).calls == 5  # not 5 - 20, not 25


def test_one_statement_reset_alone_is_not_a_negative_delta(hot_table):
    capture_stats()
    workload(10)
    capture_stats()
    queryid = hot_queryid()
    run_sql(f"SELECT pg_stat_statements_reset(0, 0, {queryid})")
    workload(3)
    after = capture_stats()
    assert not after.restarted  # stats_reset only moves on a full reset
    assert sample(after.capture_id, queryid).calls == 3


def test_dropping_the_index_is_a_plan_change_and_a_slowdown(hot_table, settings):
    settings.PERFAUDIT = {**EVERY_CAPTURE, "CHANGES_SLOWER_MIN_MS": 0.1}
    capture_stats()
    workload(40)
    before = capture_stats()
    split = Capture.objects.get(pk=before.capture_id).taken_at
    run_sql("DROP INDEX pa_hot_k")
    workload(40, start=100)
    capture_stats()
    report = perfchanges("--since", split.isoformat())
    hot = [c for c in report["changes"] if "pa_hot" in c["query"]]
    kinds = {c["kind"]: c for c in hot}
    assert {"plan_changed", "slower"} <= set(kinds)
    plan = kinds["plan_changed"]
    assert any(
        "Index Scan using pa_hot_k" in line or "Bitmap" in line for line in plan["before"]["plan"]
    )
    assert any("Seq Scan on pa_hot" in line for line in plan["after"]["plan"])
    assert plan["evidence"]["indexes_stopped"] == ["pa_hot_k"]
    slower = kinds["slower"]
    assert slower["before"]["calls"] == 40 and slower["after"]["calls"] == 40
    assert slower["after"]["mean_ms"] > slower["before"]["mean_ms"]
    for key in ("calls", "mean_ms", "total_ms", "plan"):
        assert key in slower["before"] and key in slower["after"]
    with pytest.raises(CommandError) as failed:
        perfchanges("--since", split.isoformat(), "--fail-on", "plan_changed")
    assert failed.value.returncode == 1


def test_growth_and_an_index_no_longer_used(hot_table, settings):
    settings.PERFAUDIT = {**EVERY_CAPTURE, "CHANGES_GROWTH_MIN_HOURS": 0}
    capture_stats()
    workload(20)  # scans pa_hot_k
    before = capture_stats()
    split = Capture.objects.get(pk=before.capture_id).taken_at
    run_sql(
        "INSERT INTO pa_hot (k, v) SELECT g, md5(g::text) FROM generate_series(1, 100000) g",
        "SELECT pg_stat_force_next_flush()",
    )
    capture_stats()
    later = (split + dt.timedelta(hours=1)).isoformat()
    report = perfchanges("--between", split.isoformat(), later)
    by_kind = {}
    for change in report["changes"]:
        by_kind.setdefault(change["kind"], []).append(change)
    assert "pa_hot_k" in [c["object"] for c in by_kind["index_unused"]]
    # The primary key is never "unused": it enforces uniqueness.
    assert "pa_hot_pkey" not in [c["object"] for c in by_kind["index_unused"]]
    grown = {c["object"]: c for c in by_kind["growth"]}
    assert grown["pa_hot"]["evidence"]["bytes_last"] > grown["pa_hot"]["evidence"]["bytes_first"]


def test_plan_shapes_of_placeholder_texts(planted_hot):
    # pg_stat_statements' $1 texts: GENERIC_PLAN on 16+, PREPARE + force_generic_plan on 15.
    shapes = take_plans(connection, {1: "SELECT v FROM pa_hot WHERE k = $1", 2: "SELECT $1 +"})
    assert list(shapes) == [1]  # the text that does not parse is skipped
    assert "pa_hot_k" in shapes[1].indexes


def test_capture_without_pg_stat_statements_still_records_sizes(planted_hot):
    capture_stats()
    second = capture_stats()
    assert RelationSample.objects.filter(capture_id=second.capture_id, name="pa_hot").exists()


def test_prune_keeps_exactly_the_retention_window():
    now = dt.datetime.now(dt.UTC)
    for hours in range(10):
        Capture.objects.create(
            taken_at=now - dt.timedelta(hours=hours, minutes=30),
            database="db",
            server_version_num=180000,
            server_started=now,
            database_bytes=1,
        )
    pruned = store.prune("default", before=now - dt.timedelta(hours=5))
    assert pruned == 5
    kept = sorted(Capture.objects.values_list("taken_at", flat=True))
    assert len(kept) == 5 and min(kept) >= now - dt.timedelta(hours=5)


def test_capturestats_prunes_with_keep():
    capture_stats()
    old = Capture.objects.create(
        taken_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=3),
        database="db",
        server_version_num=180000,
        server_started=dt.datetime.now(dt.UTC),
        database_bytes=1,
    )
    out = StringIO()
    call_command("capturestats", "--keep", "2d", stdout=out)
    assert "1 old captures pruned" in out.getvalue()
    assert not Capture.objects.filter(pk=old.pk).exists()
    assert Capture.objects.count() == 2


@pytest.mark.parametrize(
    "command, args",
    [
        ("capturestats", ["--keep", "soon"]),
        ("capturestats", ["--plans", "-1"]),
        ("perfchanges", ["--since", "yesterday-ish"]),
        ("perfchanges", ["--since", "99999999999w"]),
        ("capturestats", ["--keep", "99999999999w"]),
        ("perfchanges", ["--between", "1h", "2h"]),
        ("perfchanges", ["--fail-on", "slower,faster"]),
    ],
)
def test_bad_input_is_one_line_and_exit_2(command, args):
    with pytest.raises(CommandError) as failed:
        call_command(command, *args, stdout=StringIO())
    assert failed.value.returncode == 2
    assert "\n" not in str(failed.value)


def test_capture_loop_stops_when_its_parent_is_gone(monkeypatch):
    # `make run` starts `capturestats --every 60` in the background; it ends with the server.
    from perfaudit.management.commands import capturestats

    parents = iter([100, 100, 1])  # the start, one round, then the parent is gone
    monkeypatch.setattr(capturestats.os, "getppid", lambda: next(parents))
    monkeypatch.setattr(capturestats.time, "sleep", lambda seconds: None)
    out = StringIO()
    call_command("capturestats", "--every", "60", stdout=out)
    assert out.getvalue().count("capture ") == 1
    assert Capture.objects.count() == 1
