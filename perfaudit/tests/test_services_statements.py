"""slowqueries on real pg_stat_statements data: minimum calls, share of total time, and fix
commands that run as printed (parsed with shlex and run through call_command)."""

import shlex
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from perfaudit import services

from .conftest import run_sql, statements_usable

pytestmark = pytest.mark.django_db


@pytest.fixture
def fresh_statements():
    if not statements_usable():
        pytest.skip("pg_stat_statements is not preloaded on this server (see slowqueries docs)")
    run_sql(
        "SELECT pg_stat_statements_reset(0, "
        "(SELECT oid FROM pg_database WHERE datname = current_database()), 0)"
    )


def mine(report, marker):
    return [f for f in report.findings if marker in f.evidence.get("query", "")]


def run_printed(command):
    """Run a fix's command exactly as printed: a shell command line, split as a shell does."""
    argv = shlex.split(command, comments=True)
    assert argv[:2] == ["python", "manage.py"], command
    out = StringIO()
    call_command(*argv[2:], stdout=out)
    return out.getvalue()


def test_one_call_is_not_slow_but_enough_calls_are(fresh_statements, settings):
    # Thresholds the workload always meets: the test is about the call count, not speed.
    settings.PERFAUDIT = {
        **settings.PERFAUDIT,
        "SLOW_QUERY_MS": 0.000001,
        "SLOW_QUERY_MIN_CALLS": 5,
        "TIME_SHARE_RATIO": None,
    }
    with connection.cursor() as cursor:
        # Markers are column aliases: pg_stat_statements keeps them (constants become $n), but
        # they are not part of the queryid, so the two statements differ in their table.
        cursor.execute("SELECT count(*) AS pa_once FROM pg_namespace")
        for _ in range(5):
            cursor.execute("SELECT count(*) AS pa_often FROM pg_class")
    report = services.slow_queries(limit=500)
    assert mine(report, "pa_once") == []
    [often] = mine(report, "pa_often")
    assert often.kind == "slow_query" and often.evidence["calls"] == 5
    assert "pa_often" in run_printed(often.fix.command)  # explain --analyze, as printed


def test_share_of_total_time(fresh_statements, settings):
    settings.PERFAUDIT = {
        **settings.PERFAUDIT,
        "SLOW_QUERY_MS": None,
        "TIME_SHARE_RATIO": 0.5,
        "SLOW_QUERY_MIN_CALLS": 3,
    }
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(0.02) AS pa_once")  # a share, but one call
        # One statement doing far more work than anything else since the reset.
        for _ in range(3):
            cursor.execute("SELECT count(*) AS pa_heavy FROM generate_series(1, 300000)")
    report = services.slow_queries(limit=500)
    assert mine(report, "pa_once") == []
    [heavy] = mine(report, "pa_heavy")
    assert heavy.kind == "top_time_share" and heavy.severity == "info"
    assert heavy.evidence["time_share"] >= 0.5
    listed = [q for q in report.data["queries"] if "pa_heavy" in q["query"]]
    # Listed with its share too (read by another query a moment later: the audit's own
    # statements count in the total, so the two may differ slightly).
    assert listed and listed[0]["time_share"] >= 0.5


def test_placeholder_statement_command_runs_as_printed(fresh_statements, settings):
    settings.PERFAUDIT = {**settings.PERFAUDIT, "SLOW_QUERY_MS": 0.000001}
    with connection.cursor() as cursor:
        for i in range(10):
            # Parameters become $n in pg_stat_statements' text.
            cursor.execute(
                "SELECT relname FROM pg_class WHERE relname = %s AND relpages >= %s",
                [f"pa_param_{i}", i],
            )
            # A typed literal: pg_stat_statements prints "interval $n", which does not parse.
            cursor.execute(
                "SELECT count(*) AS pa_typed FROM pg_class WHERE now() - interval '1 day' < now()"
            )
    report = services.slow_queries(limit=500)
    [param] = [f for f in report.findings if "relpages >=" in f.evidence.get("query", "")]
    if connection.pg_version >= 160000:
        assert "--analyze" not in param.fix.command.split("#")[0]
        assert "Index" in run_printed(param.fix.command) or "Scan" in run_printed(param.fix.command)
        typed = [f for f in report.findings if "pa_typed" in f.evidence.get("query", "")]
        assert typed and "interval $" in typed[0].evidence["query"]
        for f in typed:
            assert f.fix.command.startswith("# EXPLAIN (GENERIC_PLAN) refuses")
    else:
        assert param.fix.command.startswith("# $n placeholders need EXPLAIN (GENERIC_PLAN)")
