"""The admin pages: access rules, bounded query counts, what each page shows, the EXPLAIN form."""

import pytest
from django.db import connection
from django.urls import reverse

from perfaudit.sandbox import GENERIC_PLAN_PROBES

from .conftest import SLOW_QUERY, run_sql, statements_usable

pytestmark = pytest.mark.django_db

PAGES = ("overview", "queries", "indexes", "tables", "connections", "health", "explain")

#: Queries per page for a logged-in staff user (not superuser). The admin's own 4 first: session,
#: user, and the user's and groups' permissions (the nav sidebar's app list). Then perfaudit's:
ADMIN = 4
MAX_QUERIES = {
    # database_stats 1 + server_info 1, then the five reports it summarizes (set-based, so the
    # count is the same for 10 tables or 10,000): audit_indexes 9 + table_stats 2 +
    # db_connections 8 + slow_queries 6 (no generic-plan probe: the overview prints no fixes)
    # + db_health 7 (its reads below, without server_info).
    "overview": ADMIN + 34,
    # statements status 3 (available/installed/preloaded, has _info, reset time) + top
    # statements 1 + flag candidates 1 (slow over enough calls, or a large share of the time)
    # + server_info 1; then, for the flagged statements with $n (earlier tests' catalog
    # queries may be), the generic-plan probe: savepoint + timeout + read-only, then savepoint,
    # EXPLAIN, release per statement (at most GENERIC_PLAN_PROBES), rollback.
    "queries": ADMIN + 6 + 4 + 3 * GENERIC_PLAN_PROBES,
    # server_info, indexes, foreign keys, existing tables, the migration recorder's table
    # check and django_migrations (migration state), the evidence window (stats reset and
    # server start; first applied migration), builds in progress (pg_stat_progress_create_index):
    "indexes": ADMIN + 9,
    # table stats + server_info
    "tables": ADMIN + 2,
    # activity groups + limits + blocked queries (pg_blocking_pids) + server_info, and
    # pg_stat_clear_snapshot() before each pg_stat_activity read (fresh inside a transaction),
    # + replication role/WAL position + standbys (pg_stat_replication); no replica aliases, no
    # pooler in tests
    "connections": ADMIN + 8,
    # NOT VALID constraints 1, sequences 1, wraparound 3 (database, tables near the stop,
    # xmin holders), blocked queries 2 (pg_stat_clear_snapshot, pg_blocking_pids), server_info
    "health": ADMIN + 8,
    # the empty form: no catalog query at all
    "explain": ADMIN,
}


def url(page):
    return reverse(f"admin:perfaudit_{page}")


@pytest.mark.parametrize("page", PAGES)
def test_anonymous_is_sent_to_login(client, page):
    response = client.get(url(page))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.parametrize("page", PAGES)
def test_non_staff_is_sent_to_login(client, owner, page):
    client.force_login(owner)
    response = client.get(url(page))
    # The admin site's own rule for authenticated non-staff users: back to its login form.
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.parametrize("page", PAGES)
def test_staff_sees_page_within_query_budget(
    client, staff_user, page, django_assert_max_num_queries
):
    client.force_login(staff_user)
    with django_assert_max_num_queries(MAX_QUERIES[page]):
        response = client.get(url(page))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'class="perfaudit-tabs"' in body
    if page != "explain":
        assert 'id="perfaudit-main"' in body


def test_query_count_does_not_grow_with_the_schema(client, staff_user, django_assert_num_queries):
    client.force_login(staff_user)
    client.get(url("indexes"))  # warm the session
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as before:
        client.get(url("overview"))
    run_sql(*(f"CREATE TABLE pa_many_{n} (id int PRIMARY KEY, v int)" for n in range(20)))
    run_sql(*(f"CREATE INDEX ON pa_many_{n} (v)" for n in range(20)))
    with CaptureQueriesContext(connection) as after:
        response = client.get(url("overview"))
    assert response.status_code == 200
    assert len(after) == len(before)


def test_admin_index_links_to_the_dashboard(client, staff_user):
    client.force_login(staff_user)
    body = client.get(reverse("admin:index")).content.decode()
    assert url("overview") in body
    assert "Performance dashboard" in body


def test_placeholder_model_has_no_table():
    assert "perfaudit_dashboard_no_table" not in connection.introspection.table_names()


def test_overview_counts_link_to_filtered_findings(client, staff_user, settings):
    settings.PERFAUDIT = {**settings.PERFAUDIT, "APP_PROCESSES": 100_000}  # one error
    client.force_login(staff_user)
    response = client.get(url("overview"))
    connections_row = next(s for s in response.context["sections"] if s["title"] == "Connections")
    severity, count, link = connections_row["counts"][0]
    assert (severity, count) == ("error", 1)
    filtered = client.get(link)
    assert [r["finding"].kind for r in filtered.context["findings"]] == ["too_many_connections"]
    assert "too_many_connections" in filtered.content.decode()


def test_indexes_page_shows_evidence_and_fix(client, staff_user, parent_child):
    client.force_login(staff_user)
    body = client.get(url("indexes")).content.decode()
    # pa_child.parent_id has a foreign key and no index: the finding with its fix.
    assert "missing_fk_index" in body
    assert "CREATE INDEX CONCURRENTLY" in body
    assert "evidence" in body


def test_queries_page_sorts_and_offers_explain(client, staff_user):
    if not statements_usable():
        pytest.skip("pg_stat_statements is not preloaded on this server")
    client.force_login(staff_user)
    for order in ("total", "mean", "calls", "bogus"):
        response = client.get(url("queries"), {"order": order})
        assert response.status_code == 200
        active = [o["key"] for o in response.context["orders"] if o["active"]]
        assert active == [order if order != "bogus" else "total"]
    rows = response.context["rows"]
    assert rows
    assert all(r["calls"] >= 1 for r in rows)
    assert "EXPLAIN" in response.content.decode()


def test_explain_form_defaults_to_no_analyze(client, staff_user):
    client.force_login(staff_user)
    response = client.get(url("explain"), {"sql": "SELECT 1"})
    assert response.context["form"]["analyze"].value() in (None, False)
    assert "SELECT 1" in response.content.decode()


def test_explain_shows_plan_tree_with_diagnostic_on_its_node(
    client, staff_user, analyze_on, settings
):
    settings.PERFAUDIT = {**settings.PERFAUDIT, "SEQ_SCAN_MIN_ROWS": 1000}
    run_sql(
        "CREATE TABLE pa_big (id int, v int)",
        "INSERT INTO pa_big SELECT g, g % 10 FROM generate_series(1, 5000) g",
        "ANALYZE pa_big",
    )
    client.force_login(staff_user)
    response = client.post(
        url("explain"), {"sql": "SELECT count(*) FROM pa_big WHERE v = 3", "analyze": "on"}
    )
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [r["depth"] for r in rows] == sorted(r["depth"] for r in rows)  # root first
    flagged = [r for r in rows if r["findings"]]
    assert flagged and "Seq Scan" in flagged[0]["label"]
    assert flagged[0]["actual_rows"] is not None  # ANALYZE ran (and was rolled back)
    body = response.content.decode()
    assert 'class="node flagged"' in body
    assert "plan_seq_scan" in body


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT 1; SELECT 2", "one statement at a time"),
        ("DELETE FROM tasks_task", "DELETE cannot be explained here"),
        ("UPDATE tasks_task SET title = ''", "UPDATE cannot be explained here"),
        ("", "This field is required"),
    ],
)
def test_explain_refuses_with_a_clear_message(client, staff_user, sql, message):
    client.force_login(staff_user)
    response = client.post(url("explain"), {"sql": sql})
    assert response.status_code == 400
    assert message in response.content.decode()


def test_explain_refuses_a_writing_cte(client, staff_user, analyze_on):
    run_sql("CREATE TABLE pa_w (id int)")
    client.force_login(staff_user)
    response = client.post(
        url("explain"),
        {"sql": "WITH x AS (INSERT INTO pa_w VALUES (1) RETURNING id) SELECT * FROM x"},
    )
    assert response.status_code == 400
    assert "data-modifying WITH" in response.content.decode()


def test_explain_analyze_of_a_writing_cte_cannot_write(client, staff_user, analyze_on, no_gate):
    # Behind a gap in the gate, the read-only transaction still refuses the write.
    run_sql("CREATE TABLE pa_w (id int)")
    client.force_login(staff_user)
    response = client.post(
        url("explain"),
        {
            "sql": "WITH x AS (INSERT INTO pa_w VALUES (1) RETURNING id) SELECT * FROM x",
            "analyze": "on",
        },
    )
    assert response.status_code == 400
    assert "read-only transaction" in response.content.decode()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pa_w")
        assert cursor.fetchone()[0] == 0


def test_explain_normalized_statement(client, staff_user, analyze_on):
    run_sql("CREATE TABLE pa_n (id int)")
    client.force_login(staff_user)
    response = client.post(url("explain"), {"sql": "SELECT * FROM pa_n WHERE id = $1"})
    # Every version: GENERIC_PLAN on 16+, PREPARE + EXPLAIN EXECUTE before.
    assert response.status_code == 200
    assert "generic plan" in response.content.decode()
    response = client.post(
        url("explain"), {"sql": "SELECT * FROM pa_n WHERE id = $1", "analyze": "on"}
    )
    assert response.status_code == 400
    assert "ANALYZE runs the statement, and this one has placeholders" in response.content.decode()


def test_queries_page_explains_how_to_enable_pg_stat_statements(client, staff_user):
    run_sql("DROP EXTENSION IF EXISTS pg_stat_statements")  # rolled back with the test
    client.force_login(staff_user)
    response = client.get(url("queries"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "pg_stat_statements is not collecting" in body
    assert "CREATE EXTENSION" in body


def test_explain_post_within_query_budget(
    client, staff_user, analyze_on, django_assert_max_num_queries
):
    client.force_login(staff_user)
    # Savepoint (3 statements, the test's transaction; BEGIN/ROLLBACK outside tests), the
    # gate's catalog query (when its per-process cache is cold), statement and lock timeouts
    # (one statement), read-only, the EXPLAIN itself, server_info (no table: no row estimates).
    with django_assert_max_num_queries(ADMIN + 3 + 5):
        response = client.post(url("explain"), {"sql": "SELECT 1", "analyze": "on"})
    assert response.status_code == 200


def test_explain_analyze_stops_at_the_admin_timeout(client, staff_user, analyze_on, settings):
    settings.PERFAUDIT = {**settings.PERFAUDIT, "ADMIN_STATEMENT_TIMEOUT_MS": 50}
    client.force_login(staff_user)
    response = client.post(url("explain"), {"sql": SLOW_QUERY, "analyze": "on"})
    assert response.status_code == 400
    assert "statement timeout" in response.content.decode()
