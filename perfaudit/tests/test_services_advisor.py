"""adviseindexes on planted tables with known access patterns, both what-if paths.

The --allow-build path runs on every server (embedded PostgreSQL 18 and the PostgreSQL 15 of CI's
second pass); the HypoPG path runs where the server has the extension (Debian's
postgresql-15-hypopg: CI's DATABASE_URL pass), created inside the test's transaction.
"""

import pytest
from django.core.management import call_command
from django.db import connection

from perfaudit.errors import ServiceError
from perfaudit.services import advisor

from .conftest import run_sql

pytestmark = pytest.mark.django_db


def _hypopg_available():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'hypopg'")
        return cursor.fetchone() is not None


@pytest.fixture
def planted():
    """pa_orders: 20,000 rows. customer_id 1..1000 (20 rows each), status 'done' 95 % /
    'open' 4 % / 'failed' 1 %, flag true on half the rows, note with 'needle' in 10 rows.
    pa_events: 20,000 rows, tenant_id 1..100 x kind 1..50 (4 rows per pair)."""
    run_sql(
        "CREATE TABLE pa_orders (id bigserial PRIMARY KEY, customer_id int NOT NULL, "
        "status text NOT NULL, flag boolean NOT NULL, created_at timestamptz NOT NULL, "
        "note text NOT NULL)",
        "INSERT INTO pa_orders (customer_id, status, flag, created_at, note) "
        "SELECT g % 1000 + 1, CASE WHEN g % 100 = 0 THEN 'failed' WHEN g % 100 < 5 THEN 'open' "
        "ELSE 'done' END, g % 2 = 0, timestamptz '2026-01-01' + g * interval '1 minute', "
        "CASE WHEN g % 2000 = 7 THEN 'a needle here ' ELSE '' END || md5(g::text) "
        "FROM generate_series(1, 20000) AS g",
        "CREATE TABLE pa_events (id bigserial PRIMARY KEY, tenant_id int NOT NULL, "
        "kind int NOT NULL, payload text NOT NULL)",
        "INSERT INTO pa_events (tenant_id, kind, payload) "
        "SELECT g % 100 + 1, (g / 100) % 50 + 1, md5(g::text) FROM generate_series(1, 20000) g",
        "ANALYZE pa_orders",
        "ANALYZE pa_events",
    )


STATEMENTS = {
    "eq_sort": "SELECT * FROM pa_orders WHERE customer_id = 42 ORDER BY created_at DESC LIMIT 10",
    "two_eq": "SELECT * FROM pa_events WHERE kind = 7 AND tenant_id = 3",
    "substring": "SELECT id FROM pa_orders WHERE note LIKE '%needle%'",
    "icontains": "SELECT id FROM pa_orders WHERE UPPER(note::text) LIKE UPPER('%needle%')",
    "partial": "SELECT * FROM pa_orders WHERE status = 'failed' ORDER BY created_at LIMIT 20",
    "served": "SELECT * FROM pa_orders WHERE id = 5",
    "half": "SELECT * FROM pa_orders WHERE flag",
}


def _indexes():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename IN ('pa_orders', 'pa_events')"
        )
        return sorted(r[0] for r in cursor.fetchall())


def _by_statement(report):
    found = {}
    for sug in report.suggestions:
        for stmt in sug.statements:
            found[stmt["sql"]] = sug
    return found


def _check_suggestions(report, *, verified_gin: bool):
    found = _by_statement(report)
    eq_sort = found[STATEMENTS["eq_sort"]]
    # Equality first, then the sort column in the query's direction.
    assert (eq_sort.table, eq_sort.using, eq_sort.columns) == (
        "pa_orders",
        "btree",
        ["customer_id", "-created_at"],
    )
    assert eq_sort.where is None and eq_sort.verified
    assert eq_sort.cost_after <= 0.5 * eq_sort.cost_before
    two_eq = found[STATEMENTS["two_eq"]]
    # Both equality columns, the more selective (tenant_id: 100 values < kind's 50 rows) first.
    assert (two_eq.table, two_eq.columns) == ("pa_events", ["tenant_id", "kind"])
    partial = found[STATEMENTS["partial"]]
    # status = 'failed' keeps 1 % of the table: the predicate, not a key column.
    assert (partial.columns, partial.where) == (["created_at"], "\"status\" = 'failed'")
    assert partial.verified
    substring = found[STATEMENTS["substring"]]
    assert (substring.using, substring.columns, substring.expression) == ("gin", ["note"], None)
    assert substring.sql.endswith('USING gin ("note" gin_trgm_ops);')
    icontains = found[STATEMENTS["icontains"]]
    assert (icontains.using, icontains.expression) == ("gin", "upper(CAST(note AS text))")
    assert substring.verified is verified_gin and icontains.verified is verified_gin
    # None where none help: the primary key already serves id = 5, and flag keeps half the rows.
    notes = {s.sql: s.note for s in report.statements}
    assert STATEMENTS["served"] not in found
    assert notes[STATEMENTS["served"]] == "already served by pa_orders_pkey"
    assert STATEMENTS["half"] not in found
    assert notes[STATEMENTS["half"]].startswith("no index can help")
    for sug in report.suggestions:
        assert sug.sql.startswith("CREATE INDEX CONCURRENTLY") or "pg_trgm" in sug.sql
        assert len(sug.name) <= 30
        assert sug.migration is None  # no model owns these tables
    assert len(report.suggestions) == 5


def test_allow_build_suggests_exactly_and_leaves_nothing(planted):
    before = _indexes()
    report = advisor.advise_indexes(sqls=list(STATEMENTS.values()), allow_build=True)
    assert report.mode in {"build", "hypopg"}
    _check_suggestions(report, verified_gin=True)
    for sug in report.suggestions:
        assert sug.verified_by in {"build", "hypopg"}
        if sug.verified_by == "build":
            assert sug.write_cost["size_source"] == "build"
    # The built indexes were rolled back with their savepoints.
    assert _indexes() == before


def _skip_with_hypopg():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'hypopg'")
        if cursor.fetchone():
            pytest.skip("hypopg is installed in this database")


def test_unverified_without_hypopg_or_build(planted, settings):
    _skip_with_hypopg()
    settings.PERFAUDIT = {"ADVISOR_BUILD_MAX_BYTES": 0}  # never build unasked
    report = advisor.advise_indexes(sqls=[STATEMENTS["eq_sort"], STATEMENTS["half"]])
    assert report.mode == "unverified"
    [sug] = report.suggestions
    assert (sug.columns, sug.verified, sug.cost_after) == (
        ["customer_id", "-created_at"],
        False,
        None,
    )
    assert report.findings[0].severity == "info"
    assert sug.note.startswith("no HypoPG here, and pa_orders (")
    assert "is over ADVISOR_BUILD_MAX_BYTES (0.0 MB)" in sug.note


def test_without_hypopg_a_small_table_is_verified_by_a_rolled_back_build(planted):
    """The default install (PostgreSQL 18, no HypoPG): pa_orders (~3 MB) is under
    ADVISOR_BUILD_MAX_BYTES, so its candidate is built, planned and rolled back unasked."""
    _skip_with_hypopg()
    before = _indexes()
    report = advisor.advise_indexes(sqls=[STATEMENTS["eq_sort"], STATEMENTS["half"]])
    assert report.mode == "auto"
    [sug] = report.suggestions
    assert (sug.columns, sug.verified, sug.verified_by) == (
        ["customer_id", "-created_at"],
        True,
        "build",
    )
    assert sug.cost_after < sug.cost_before / 2
    assert report.findings[0].severity == "warning"
    assert _indexes() == before


@pytest.fixture
def hypopg(planted):
    if not _hypopg_available():
        pytest.skip("no hypopg on this server (Debian: postgresql-15-hypopg; see the Makefile)")
    # Inside the test's transaction: rolled back with it.
    run_sql("CREATE EXTENSION IF NOT EXISTS hypopg")


def test_hypopg_suggests_exactly_and_leaves_no_hypothetical_index(hypopg, settings):
    settings.PERFAUDIT = {"ADVISOR_BUILD_MAX_BYTES": 0}  # never build unasked
    before = _indexes()
    report = advisor.advise_indexes(sqls=list(STATEMENTS.values()))
    assert report.mode == "hypopg"
    # GIN: HypoPG cannot plan it, and without a build it stays unverified.
    _check_suggestions(report, verified_gin=False)
    assert {s.verified_by for s in report.suggestions if s.using == "btree"} == {"hypopg"}
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM hypopg_list_indexes")
        assert cursor.fetchone()[0] == 0
    assert _indexes() == before


def test_hypopg_and_a_small_table_verify_gin_by_a_build_unasked(hypopg):
    before = _indexes()
    report = advisor.advise_indexes(sqls=list(STATEMENTS.values()))
    _check_suggestions(report, verified_gin=True)
    assert {s.verified_by for s in report.suggestions if s.using == "gin"} == {"build"}
    assert {s.verified_by for s in report.suggestions if s.using == "btree"} == {"hypopg"}
    assert _indexes() == before


def test_hypopg_with_build_verifies_gin_too(hypopg):
    before = _indexes()
    report = advisor.advise_indexes(sqls=list(STATEMENTS.values()), allow_build=True)
    _check_suggestions(report, verified_gin=True)
    assert {s.verified_by for s in report.suggestions if s.using == "gin"} == {"build"}
    assert _indexes() == before


def test_one_index_serves_several_statements(planted):
    report = advisor.advise_indexes(
        sqls=[
            STATEMENTS["eq_sort"],
            "SELECT count(*) FROM pa_orders WHERE customer_id = 9",
        ],
        allow_build=True,
    )
    [sug] = report.suggestions
    assert sug.columns == ["customer_id", "-created_at"]
    assert len(sug.statements) == 2


def test_generic_plan_for_placeholders(planted):
    report = advisor.advise_indexes(
        sqls=["SELECT * FROM pa_events WHERE tenant_id = $1 AND kind = $2"], allow_build=True
    )
    [stmt] = report.statements
    assert stmt.generic_plan
    [sug] = report.suggestions
    assert sug.columns == ["tenant_id", "kind"]


def test_existing_prefix_index_means_no_candidate(planted):
    run_sql("CREATE INDEX pa_orders_cust_created ON pa_orders (customer_id, created_at DESC)")
    report = advisor.advise_indexes(sqls=[STATEMENTS["eq_sort"]], allow_build=True)
    assert report.suggestions == []
    assert report.statements[0].note == "already served by pa_orders_cust_created"


def test_redundant_existing_index_is_named(planted):
    run_sql("CREATE INDEX pa_events_tenant ON pa_events (tenant_id)")
    report = advisor.advise_indexes(sqls=[STATEMENTS["two_eq"]], allow_build=True)
    # (tenant_id) covers the candidate (tenant_id) but not (tenant_id, kind), which still cuts
    # the cost (4 rows read instead of 200) and makes the lone index redundant.
    [sug] = report.suggestions
    assert sug.columns == ["tenant_id", "kind"]
    assert sug.replaces == ["pa_events_tenant"]


def test_bad_input_is_one_line_error(planted):
    with pytest.raises(ServiceError, match="one statement at a time"):
        advisor.advise_indexes(sqls=["SELECT 1; SELECT 2"])
    with pytest.raises(ServiceError, match="cannot parse"):
        advisor.advise_indexes(sqls=["SELECT FROM WHERE"])
    with pytest.raises(ServiceError, match=r"cannot be explained here \(allowed"):
        advisor.advise_indexes(sqls=["DROP TABLE pa_orders"])
    with pytest.raises(ServiceError, match="between 0 and 1"):
        advisor.advise_indexes(sqls=[STATEMENTS["served"]], min_cost_reduction=1.5)


def test_json_contract(planted):
    report = advisor.advise_indexes(sqls=[STATEMENTS["eq_sort"]], allow_build=True)
    document = report.to_dict()
    [sug] = document["suggestions"]
    assert set(sug) >= {
        "table",
        "columns",
        "using",
        "where",
        "expression",
        "cost_before",
        "cost_after",
        "statements",
        "write_cost",
        "verified",
        "sql",
        "migration",
    }
    assert document["findings"][0]["kind"] == "missing_index"


def test_command_exit_codes(planted):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError) as exc:
        call_command(
            "adviseindexes", "--sql", STATEMENTS["eq_sort"], "--allow-build", "--fail-on", "warning"
        )
    assert exc.value.returncode == 1
    call_command("adviseindexes", "--sql", STATEMENTS["served"], "--fail-on", "warning")
    with pytest.raises(CommandError) as exc:
        call_command("adviseindexes", "--min-cost-reduction", "2")
    assert exc.value.returncode == 2
