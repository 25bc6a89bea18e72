"""perfaudit.gate, tested directly: what it lets through, what it refuses and why, and its cost
in catalog queries. test_gate_properties.py: errors and never a crash (hypothesis);
taskproject/tests/test_perfaudit_probes.py runs the issue's probes through every entry point.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from perfaudit import gate
from perfaudit.gate import catalog as gate_catalog

from .conftest import run_sql

pytestmark = pytest.mark.django_db


def check(sql, allowed=gate.SELECT_ONLY):
    return gate.check(connection, sql, allowed=allowed)


def refusal(sql, allowed=gate.SELECT_ONLY) -> gate.Refused:
    with pytest.raises(gate.Refused) as caught:
        check(sql, allowed)
    return caught.value


@pytest.fixture(autouse=True)
def _fresh_catalog_cache():
    gate.clear_cache()
    yield
    gate.clear_cache()


ALLOWED = [
    # What Django writes, and what people type to explain it.
    'SELECT "django_content_type"."id", "django_content_type"."app_label" FROM '
    '"django_content_type" WHERE ("django_content_type"."app_label" = \'auth\' AND NOT '
    "(\"django_content_type\".\"model\" IN ('a', 'b'))) ORDER BY 1 DESC LIMIT 21",
    "SELECT app_label, count(*) FROM django_content_type GROUP BY 1 ORDER BY 2 DESC",
    "WITH c AS (SELECT * FROM django_content_type) SELECT model FROM c WHERE app_label = $1",
    "SELECT id, rank() OVER (PARTITION BY app_label ORDER BY id) FROM django_content_type",
    "SELECT now(), lower('X'), date_trunc('day', now()), pg_size_pretty(1024::bigint), "
    "extract(year FROM now()), coalesce(NULL, 1), greatest(1, 2), 'x'::regclass::oid",
    "SELECT * FROM generate_series(1, 3) g WHERE g BETWEEN 1 AND 2",
    "SELECT relname FROM pg_class WHERE relkind = 'r' ORDER BY relname",
    "VALUES (1, 'a'), (2, 'b')",
    "TABLE django_content_type",
    "SELECT CASE WHEN id > 1 THEN 'x' ELSE 'y' END FROM django_content_type",
    "SELECT string_agg(model, ',' ORDER BY model) FILTER (WHERE id > 0) FROM django_content_type",
    "/* a comment */ SELECT 1 -- another",
    "(SELECT 1) UNION ALL (SELECT 2)",
    "SELECT * FROM django_content_type WHERE model LIKE 'a%' AND app_label ~ '^a' AND id = ANY($1)",
]


@pytest.mark.parametrize("sql", ALLOWED)
def test_ordinary_queries_pass(sql):
    assert check(sql) in {"SELECT", "WITH", "VALUES", "TABLE", "("}


REFUSED = [
    # (statement, reason, words the message must hold)
    ("SELECT * FROM django_session", "protected_table", "django_session is a protected table"),
    ("SELECT * FROM public.django_session", "protected_table", "protected table"),
    ('SELECT * FROM "django_session"', "protected_table", "protected table"),
    ("SELECT * FROM DJANGO_SESSION", "protected_table", "protected table"),
    ('SELECT * FROM U&"django\\005fsession"', "protected_table", "protected table"),
    ("TABLE django_session", "protected_table", "protected table"),
    ("SELECT (SELECT session_key FROM django_session LIMIT 1)", "protected_table", ""),
    ("SELECT 1 WHERE 'x' IN (SELECT session_key FROM ONLY django_session)", "protected_table", ""),
    ("WITH django_session AS (SELECT 1) SELECT * FROM django_session", "protected_table", ""),
    ("SELECT * FROM auth_permission", "protected_table", ""),
    ("SELECT * FROM silk_request", "protected_table", ""),
    ("SELECT * FROM perfaudit_anything", "protected_table", ""),
    ("SELECT * FROM django_admin_log", "protected_table", ""),
    ("SELECT * FROM pg_stats", "system_catalog", "may hold secrets"),
    ("SELECT * FROM pg_catalog.pg_authid", "system_catalog", ""),
    ("SELECT query FROM pg_stat_activity", "system_catalog", ""),
    ("SELECT * FROM public.pg_stat_statements", "system_catalog", ""),
    ("SELECT * FROM pg_settings", "system_catalog", ""),
    ("SELECT * FROM information_schema.user_mapping_options", "system_catalog", ""),
    ("SELECT pg_read_file('/etc/passwd')", "volatile_function", "pg_read_file() is VOLATILE"),
    ("SELECT pg_catalog.pg_read_file('/etc/passwd')", "volatile_function", "VOLATILE"),
    ("SELECT \"pg_read_file\"('/etc/passwd')", "volatile_function", ""),
    ("SELECT pg_read_file/**/('/etc/passwd')", "volatile_function", ""),
    ("SELECT * FROM ROWS FROM (pg_ls_dir('.'))", "volatile_function", ""),
    ("VALUES (lo_import('/etc/passwd'))", "volatile_function", ""),
    ("SELECT nextval('django_content_type_id_seq')", "volatile_function", ""),
    ("SELECT 1 WHERE pg_sleep(1) IS NULL", "volatile_function", ""),
    ("SELECT pg_advisory_lock(4242)", "volatile_function", ""),
    ("SELECT set_config('work_mem', '64kB', false)", "volatile_function", ""),
    (
        "SELECT * FROM django_content_type TABLESAMPLE BERNOULLI (10)",
        "volatile_function",
        "TABLESAMPLE bernoulli",
    ),
    ("SELECT txid_current()", "unsafe_function", "outside the safe set"),
    ("SELECT current_setting('primary_conninfo')", "unsafe_function", ""),
    ("SELECT table_to_xml('django_session', true, true, '')", "unsafe_function", ""),
    ("SELECT pg_stat_get_backend_activity(1)", "unsafe_function", ""),
    ("SELECT no_such_function(1)", "unknown_function", "no such function"),
    ("SELECT * FROM django_content_type FOR UPDATE", "row_lock", "FOR UPDATE takes row locks"),
    ("SELECT * FROM django_content_type FOR KEY SHARE", "row_lock", "FOR KEY SHARE"),
    ("SELECT * INTO pa_copy FROM django_content_type", "select_into", "creates a table"),
    (
        "WITH d AS (DELETE FROM django_content_type RETURNING id) SELECT * FROM d",
        "data_modifying_with",
        "data-modifying WITH",
    ),
    ("WITH d AS (SELECT 1) DELETE FROM django_content_type", "statement_kind", "DELETE"),
    ("DELETE FROM django_content_type", "statement_kind", "DELETE cannot be explained here"),
    ("EXPLAIN ANALYZE SELECT 1", "statement_kind", "EXPLAIN cannot be explained here"),
    ("COPY (SELECT 1) TO PROGRAM 'id'", "statement_kind", "COPY"),
    ("DO $$ BEGIN PERFORM 1; END $$", "statement_kind", "DO"),
    ("CALL some_procedure()", "statement_kind", "CALL"),
    ("PREPARE p AS SELECT 1", "statement_kind", "PREPARE"),
    ("EXECUTE p", "statement_kind", "EXECUTE"),
    ("SET ROLE postgres", "statement_kind", "SET"),
    ("LISTEN perfaudit", "statement_kind", "LISTEN"),
    ("SELECT 1; SELECT 2", "several_statements", "one statement at a time"),
    ("SELECT 1; /* ; */ SELECT pg_sleep(1)", "several_statements", ""),
    ("", "empty", "empty SQL"),
    ("SELECT 'unterminated", "parse_error", "cannot parse"),
    ("SELECT FROM WHERE", "parse_error", "cannot parse"),
    ("SELECT 1\x00", "nul", "NUL"),
    ("SELECT 1 -- " + "x" * 70_000, "too_long", "the limit is 65,536"),
    ("SELECT " + "+".join(["1"] * 2_000), "too_deep", "operators, keywords and brackets"),
    ("SELECT " + "+".join(["1"] * 150), "too_deep", "parse tree is"),
    ("SELECT " + "abs(" * 600 + "1" + ")" * 600, "too_deep", "parse tree is"),
    ("SELECT " + "(" * 1_100 + "1" + ")" * 1_100, "too_deep", "brackets inside one another"),
]


@pytest.mark.parametrize(("sql", "reason", "words"), REFUSED, ids=lambda v: str(v)[:40])
def test_refusals_name_their_reason(sql, reason, words):
    refused = refusal(sql)
    assert refused.reason == reason, str(refused)
    assert words in str(refused)


def test_explainable_mode_allows_the_applications_writes(django_user_model):
    allowed = gate.EXPLAINABLE
    users = django_user_model._meta.db_table
    assert check("DELETE FROM django_content_type WHERE id = 0", allowed) == "DELETE"
    assert check("UPDATE django_content_type SET model = model WHERE id = $1", allowed)
    assert refusal("DELETE FROM django_session", allowed).reason == "protected_table"
    assert refusal(f"INSERT INTO {users} (id) VALUES (1)", allowed).reason == "protected_table"
    bad_with = "WITH d AS (DELETE FROM django_content_type RETURNING id) SELECT * FROM d"
    assert refusal(bad_with, allowed).reason == "data_modifying_with"


def test_the_user_model_tables_are_always_protected(django_user_model, settings):
    settings.PERFAUDIT = {**getattr(settings, "PERFAUDIT", {}), "SQL_PROTECTED_TABLES": ()}
    table = django_user_model._meta.db_table
    assert refusal(f"SELECT password FROM {table}").reason == "protected_table"
    assert refusal("SELECT * FROM django_session").reason == "protected_table"
    check("SELECT * FROM auth_permission")  # no longer in the (emptied) setting


def test_protected_tables_are_a_setting(settings):
    run_sql("CREATE TABLE pa_billing (id int)")
    check("SELECT * FROM pa_billing")
    settings.PERFAUDIT = {
        **getattr(settings, "PERFAUDIT", {}),
        "SQL_PROTECTED_TABLES": ("pa_bill*",),
    }
    assert refusal("SELECT * FROM public.pa_billing").reason == "protected_table"


def test_views_are_judged_by_what_they_read_and_call():
    run_sql(
        "CREATE VIEW pa_sessions AS SELECT session_key FROM django_session",
        "CREATE VIEW pa_sessions_again AS SELECT * FROM pa_sessions",
        "CREATE MATERIALIZED VIEW pa_frozen AS SELECT session_key FROM django_session WITH NO DATA",
        "CREATE VIEW pa_killer AS SELECT pg_terminate_backend(0)",
        "CREATE VIEW pa_stats AS SELECT tablename FROM pg_stats",
        "CREATE VIEW pa_types AS SELECT model FROM django_content_type",
    )
    for view, reason in [
        ("pa_sessions", "protected_table"),
        ("pa_sessions_again", "protected_table"),
        ("pa_frozen", "protected_table"),
        ("pa_killer", "volatile_function"),
        ("pa_stats", "system_catalog"),
    ]:
        refused = refusal(f"SELECT * FROM {view}")
        assert (refused.reason, str(refused).startswith(f"{view} is a view")) == (reason, True)
    check("SELECT * FROM pa_types")


def test_user_defined_functions_operators_and_casts():
    run_sql(
        "CREATE FUNCTION pa_sessions() RETURNS text STABLE LANGUAGE sql AS "
        "$$ SELECT string_agg(session_key, ',') FROM django_session $$",
        "CREATE FUNCTION pa_lock(int, int) RETURNS bool VOLATILE LANGUAGE sql AS "
        "$$ SELECT pg_try_advisory_lock($1) $$",
        "CREATE OPERATOR === (leftarg = int, rightarg = int, function = pa_lock)",
        "CREATE DOMAIN pa_locked AS int CHECK (pa_lock(VALUE, 1))",
        "CREATE SCHEMA pa_shadow",
        "CREATE FUNCTION pa_shadow.lower(text) RETURNS text VOLATILE LANGUAGE sql AS "
        "$$ SELECT $1 $$",
    )
    assert refusal("SELECT pa_sessions()").reason == "user_function"
    assert refusal("SELECT 1 === 1").reason == "unsafe_operator"
    assert refusal("SELECT 1 OPERATOR(public.===) 1").reason == "unsafe_operator"
    assert refusal("SELECT 1::pa_locked").reason == "unsafe_type"
    assert refusal("SELECT CAST(1 AS public.pa_locked)").reason == "unsafe_type"
    # A volatile function named like a safe one, in a schema a search_path could put first.
    assert refusal("SELECT lower('X')").reason == "volatile_function"


def test_allowed_functions_are_a_setting_but_never_volatile(settings):
    run_sql(
        "CREATE FUNCTION pa_double(int) RETURNS int IMMUTABLE LANGUAGE sql AS $$ SELECT $1 * 2 $$",
        "CREATE FUNCTION pa_random() RETURNS float VOLATILE LANGUAGE sql AS $$ SELECT random() $$",
    )
    assert refusal("SELECT pa_double(2)").reason == "user_function"
    settings.PERFAUDIT = {
        **getattr(settings, "PERFAUDIT", {}),
        "SQL_ALLOWED_FUNCTIONS": ("public.pa_double", "pa_random"),
    }
    check("SELECT pa_double(2)")
    assert refusal("SELECT pa_random()").reason == "volatile_function"


def test_the_catalog_costs_one_query_then_none():
    with CaptureQueriesContext(connection) as cold:
        check("SELECT lower(model) FROM django_content_type")
    assert len(cold) == 1  # CATALOG_SQL: functions, operators, types, views
    with CaptureQueriesContext(connection) as warm:
        for _ in range(3):
            check("SELECT lower(model) FROM django_content_type")
    assert len(warm) == 0


def test_a_function_created_since_the_cache_was_filled_is_found(monkeypatch):
    check("SELECT 1")  # fills the cache
    run_sql("CREATE FUNCTION pa_fresh() RETURNS int IMMUTABLE LANGUAGE sql AS $$ SELECT 1 $$")
    monkeypatch.setattr(gate_catalog, "REFRESH_SECONDS", 0)
    with CaptureQueriesContext(connection) as refreshed:
        assert refusal("SELECT pa_fresh()").reason == "user_function"  # known now
    assert len(refreshed) == 1


def test_refusals_reach_no_database():
    check("SELECT 1")
    with CaptureQueriesContext(connection) as sent:
        for sql, _reason, _words in REFUSED:
            if _reason not in {"unknown_function"}:
                with pytest.raises(gate.Refused):
                    check(sql)
    assert len(sent) == 0
