"""Service-layer functions added for the admin pages: overview, select-only EXPLAIN, plan rows."""

import pytest
from django.db import connection

from perfaudit import render, services
from perfaudit.catalog import server

from .conftest import run_sql

pytestmark = pytest.mark.django_db


def test_database_stats():
    stats = server.database_stats(connection)
    assert stats.size_bytes > 0
    assert stats.cache_hit_ratio is None or 0 <= stats.cache_hit_ratio <= 1


def test_overview_counts_are_the_reports_findings(settings):
    settings.PERFAUDIT = {**settings.PERFAUDIT, "APP_PROCESSES": 100_000}
    report = services.overview()
    by_name = {s["name"]: s["counts"] for s in report.data["sections"]}
    assert list(by_name) == list(services.OVERVIEW_SECTIONS)
    assert by_name["connections"]["error"] == 1
    connections_report = services.db_connections()
    assert sum(by_name["connections"].values()) == len(connections_report.findings)
    assert sum(sum(c.values()) for c in by_name.values()) == len(report.findings)
    assert report.data["connections"]["max_connections"] > 0
    assert report.data["stats"]["size_bytes"] > 0


def test_explain_select_only_refuses_writes_even_without_analyze():
    run_sql("CREATE TABLE pa_so (id int)")
    with pytest.raises(services.ServiceError, match="INSERT cannot be explained"):
        services.explain_sql(sql="INSERT INTO pa_so VALUES (1)", select_only=True)
    # The CLI (select_only off) still explains it, without executing.
    assert services.explain_sql(sql="INSERT INTO pa_so VALUES (1)").data["plans"]


def test_explain_select_only_runs_in_a_read_only_transaction(no_gate):
    # Behind a gap in the gate (which refuses a data-modifying WITH first: test_gate.py).
    run_sql("CREATE TABLE pa_ro (id int)")
    with pytest.raises(services.ServiceError, match="read-only transaction"):
        services.explain_sql(
            sql="WITH x AS (DELETE FROM pa_ro RETURNING id) SELECT * FROM x",
            analyze=True,
            select_only=True,
        )


def test_plan_rows_put_findings_on_their_node(settings):
    settings.PERFAUDIT = {**settings.PERFAUDIT, "SEQ_SCAN_MIN_ROWS": 0, "PLAN_MIN_ROWS": 0}
    run_sql(
        "CREATE TABLE pa_pr (id int, v int)",
        "INSERT INTO pa_pr SELECT g, g FROM generate_series(1, 100) g",
        "ANALYZE pa_pr",
    )
    report = services.explain_sql(sql="SELECT * FROM pa_pr WHERE v = 1 ORDER BY id LIMIT 5")
    item = report.data["plans"][0]
    rows = render.plan_rows(item["plan"], item["findings"])
    assert [r["number"] for r in rows] == list(range(1, len(rows) + 1))
    assert rows[0]["depth"] == 0 and rows[-1]["depth"] > 0
    scan = next(r for r in rows if "Seq Scan" in r["label"])
    assert [f["kind"] for f in scan["findings"]] == ["plan_seq_scan"]
    assert ("Filter", "(v = 1)") in scan["details"]
    assert all(not r["findings"] for r in rows if r is not scan)
