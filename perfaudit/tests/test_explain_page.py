"""The EXPLAIN page: buffers when asked, planning and execution time, each node's share of the
time, and the hint for filter-heavy scans."""

import pytest
from django.urls import reverse

from .conftest import run_sql

pytestmark = pytest.mark.django_db

SQL = "SELECT id FROM pa_filtered WHERE flag = 7"


@pytest.fixture
def filtered_table():
    run_sql(
        "CREATE TABLE pa_filtered (id int PRIMARY KEY, flag int NOT NULL)",
        "INSERT INTO pa_filtered SELECT n, n % 500 FROM generate_series(1, 5000) AS n",
        "ANALYZE pa_filtered",
    )


def explain(client, staff_user, **fields):
    client.force_login(staff_user)
    response = client.post(reverse("admin:perfaudit_explain"), {"sql": SQL, **fields})
    assert response.status_code == 200, response.content[:500]
    return response


def test_analyze_shows_times_shares_and_the_filter_hint(
    client, staff_user, filtered_table, analyze_on
):
    response = explain(client, staff_user, analyze="on")
    page = response.content.decode()
    assert "planning time" in page and "execution time" in page
    timing = response.context["timing"]
    assert timing["planning_ms"] > 0 and timing["execution_ms"] > 0
    rows = response.context["rows"]
    assert rows[0]["label"] == "#1 Seq Scan on pa_filtered"
    assert rows[0]["basis"] == "time" and 0 < rows[0]["share"] <= 100
    assert 'class="perfaudit-share"' in page
    # 4,990 of 5,000 rows read were thrown away by the filter.
    assert "Hint: Read 5,000 rows to keep 10 (99.8 % discarded" in page
    assert "Buffers:" not in page  # not asked for


def test_buffers_shown_when_asked(client, staff_user, filtered_table, analyze_on):
    page = explain(client, staff_user, analyze="on", buffers="on").content.decode()
    assert "Buffers: shared hit=" in page or "Buffers: shared read=" in page


def test_without_analyze_shares_are_of_the_cost(client, staff_user, filtered_table):
    response = explain(client, staff_user)
    page = response.content.decode()
    assert response.context["timing"]["execution_ms"] is None
    assert response.context["timing"]["planning_ms"] is not None  # EXPLAIN (SUMMARY)
    assert response.context["rows"][0]["basis"] == "cost"
    assert "estimated cost" in page and "not run" in page


def test_a_queries_page_statement_gets_a_generic_plan_explained_in_the_pages_words(
    client, staff_user, filtered_table, analyze_on
):
    """What the Queries page's EXPLAIN button sends: pg_stat_statements' text with $n. On
    every PostgreSQL version it gets the generic plan, said so on the page; ANALYZE is refused
    on the form in the page's words, not the CLI's."""
    client.force_login(staff_user)
    normalized = "SELECT id FROM pa_filtered WHERE flag = $1"
    response = client.post(reverse("admin:perfaudit_explain"), {"sql": normalized})
    assert response.status_code == 200
    page = response.content.decode()
    assert response.context["report"].plans[0].generic_plan is True
    assert response.context["rows"][0]["label"] == "#1 Seq Scan on pa_filtered"
    assert 'id="perfaudit-generic"' in page and "<strong>generic plan</strong>" in page
    refused = client.post(reverse("admin:perfaudit_explain"), {"sql": normalized, "analyze": "on"})
    assert refused.status_code == 400
    body = refused.content.decode()
    assert "Untick ANALYZE to see PostgreSQL&#x27;s generic plan" in body
    assert "drop --analyze" not in body
