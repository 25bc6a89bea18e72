"""slowqueries, tablestats, dbconnections, profilequery against the real database."""

import pytest
from django.db import connection

from perfaudit import services

from .conftest import run_sql, statements_usable

pytestmark = pytest.mark.django_db


def test_slowqueries_lists_statements():
    if not statements_usable():
        pytest.skip("pg_stat_statements is not preloaded on this server (see slowqueries docs)")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_class WHERE relname = %s", ["pa_marker"])
    report = services.slow_queries(min_calls=1, order="calls", limit=500)
    assert report.data["pg_stat_statements"]["usable"] is True
    assert any("pa_marker" in q["query"] or "$1" in q["query"] for q in report.data["queries"])
    assert all({"calls", "mean_ms", "hit_ratio"} <= set(q) for q in report.data["queries"])


def test_slowqueries_explains_how_to_enable_when_missing():
    run_sql("DROP EXTENSION IF EXISTS pg_stat_statements")
    report = services.slow_queries()
    (finding,) = report.findings
    assert finding.kind == "pg_stat_statements_missing"
    assert "CREATE EXTENSION pg_stat_statements" in finding.message
    assert report.data["queries"] == []


def test_tablestats_with_findings(settings):
    settings.PERFAUDIT = {**settings.PERFAUDIT, "DEAD_TUPLE_MIN": 0}
    run_sql("CREATE TABLE pa_ts (id int)")
    report = services.table_stats()
    assert report.data["tables"]
    assert {"live_tuples", "dead_tuples", "dead_ratio", "seq_scans", "total_bytes"} <= set(
        report.data["tables"][0]
    )
    with pytest.raises(services.ServiceError):
        services.table_stats(table="pa_nope")


def test_dbconnections_headroom(settings):
    report = services.db_connections()
    head = report.data["headroom"]
    assert head["available_to_apps"] == (
        head["max_connections"]
        - head["superuser_reserved_connections"]
        - head["reserved_connections"]
    )
    settings.PERFAUDIT = {**settings.PERFAUDIT, "APP_PROCESSES": 100_000}
    report = services.db_connections()
    assert [f.kind for f in report.findings if f.severity == "error"] == ["too_many_connections"]


def test_profilequery():
    report = services.profile_query(sql="SELECT generate_series(1, 10)", iterations=5)
    profile = report.data["profile"]
    assert profile["iterations"] == 5 and profile["rows"] == 10
    assert profile["min_ms"] <= profile["median_ms"] <= profile["p95_ms"] <= profile["max_ms"]
    with pytest.raises(services.ServiceError):
        services.profile_query(sql="DELETE FROM pa_x")


def test_profilequery_refuses_writes_with_the_right_words():
    with pytest.raises(services.ServiceError) as excinfo:
        services.profile_query(sql="UPDATE tasks_task SET title = 'x'", iterations=1)
    assert "is not profiled" in str(excinfo.value) and "cannot be explained" not in str(
        excinfo.value
    )
