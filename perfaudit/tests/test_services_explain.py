"""explain: diagnostics, safety (rolled back, one statement), --url and --queryset."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from perfaudit import services

from .conftest import SLOW_QUERY, run_sql

pytestmark = pytest.mark.django_db


def test_explain_select_returns_numbered_plan_and_findings(settings):
    settings.PERFAUDIT = {**settings.PERFAUDIT, "SEQ_SCAN_MIN_ROWS": 0}
    run_sql(
        "CREATE TABLE pa_e (id int, v text)", "INSERT INTO pa_e VALUES (1, 'a')", "ANALYZE pa_e"
    )
    report = services.explain_sql(sql="SELECT * FROM pa_e WHERE v = 'a'", analyze=True)
    (item,) = report.data["plans"]
    assert item["plan"]["Plan"]["Node Type"] == "Seq Scan"
    assert "Actual Rows" in item["plan"]["Plan"]
    assert [f.kind for f in report.findings] == ["plan_seq_scan"]
    assert report.findings[0].evidence["node"] == 1


def test_multiple_statements_are_refused():
    with pytest.raises(services.ServiceError, match="2 statements"):
        services.explain_sql(sql="SELECT 1; DELETE FROM pa_x")


def test_ddl_is_refused():
    with pytest.raises(services.ServiceError, match="cannot be explained"):
        services.explain_sql(sql="DROP TABLE pa_x", analyze=True)


def test_generic_plan_for_placeholders():
    """On every version: GENERIC_PLAN on 16+, PREPARE + EXPLAIN EXECUTE under
    force_generic_plan before (the prepared statement never outlives the EXPLAIN)."""
    run_sql("CREATE TABLE pa_g (id int, v text)", "CREATE INDEX pa_g_id ON pa_g (id)")
    report = services.explain_sql(sql="SELECT * FROM pa_g WHERE id = $1 AND v = $2")
    [plan] = report.data["plans"]
    assert plan["generic_plan"] is True and plan["analyze"] is False
    assert "pa_g" in json.dumps(plan["plan"]["Plan"])
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        assert cursor.fetchone() == (0,)
    with pytest.raises(services.ServiceError, match="drop --analyze"):
        services.explain_sql(sql="SELECT * FROM pa_g WHERE id = $1", analyze=True)


@pytest.mark.django_db(transaction=True)
def test_explain_analyze_update_changes_nothing():
    # Autocommit mode (transaction=True): the row is really committed, so an unchanged value
    # afterwards proves EXPLAIN ANALYZE rolled its own transaction back.
    run_sql("CREATE TABLE pa_u (id int PRIMARY KEY, v text)", "INSERT INTO pa_u VALUES (1, 'a')")
    try:
        report = services.explain_sql(
            sql="UPDATE pa_u SET v = 'changed' WHERE id = 1", analyze=True
        )
        assert report.data["plans"][0]["plan"]["Plan"]["Node Type"] == "ModifyTable"
        report = services.explain_sql(sql="DELETE FROM pa_u", analyze=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT v FROM pa_u WHERE id = 1")
            assert cursor.fetchone() == ("a",)
    finally:
        run_sql("DROP TABLE IF EXISTS pa_u")


def test_statement_timeout_applies(settings):
    settings.PERFAUDIT = {**settings.PERFAUDIT, "STATEMENT_TIMEOUT_MS": 50}
    with pytest.raises(services.ServiceError, match="statement timeout"):
        services.explain_sql(sql=SLOW_QUERY, analyze=True)


def test_explain_url_health():
    report = services.explain_url(url="/health/")
    assert report.data["request"]["status"] == 200
    assert report.data["request"]["queries"] >= 1
    assert any("SELECT 1" in p["sql"] for p in report.data["plans"])


def test_explain_url_as_user_through_the_admin(staff_user):
    staff_user.is_superuser = True
    staff_user.save()
    report = services.explain_url(url="/admin/", username=staff_user.get_username(), analyze=True)
    assert report.data["request"]["status"] == 200
    assert report.data["plans"], "the admin index runs queries (session, user)"


def test_explain_url_unknown_user():
    with pytest.raises(services.ServiceError, match="no user"):
        services.explain_url(url="/health/", username="nobody-here")


def active_users():
    return get_user_model().objects.filter(username__startswith="a").order_by("-pk")


def test_explain_queryset():
    report = services.explain_queryset(path="perfaudit.tests.test_services_explain.active_users")
    (item,) = report.data["plans"]
    assert item["params"] == ["a%"]
