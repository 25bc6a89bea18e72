"""EXPLAIN / profilequery input cannot run a second statement or escape its rolled-back
transaction, and names given to the commands are parameters, never SQL.

Transaction tests: a COMMIT that slipped through would really commit here (inside the usual
test transaction it would only end that). The victim table must keep its rows.

The gate (perfaudit.gate, test_gate.py, taskproject's test_perfaudit_probes.py) refuses most
of these statements first; the ``no_gate`` tests show the layers behind it (the extended
protocol, the read-only rolled-back transaction) still hold on their own.
"""

from io import StringIO

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from perfaudit import gate, services

from .conftest import run_sql

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def victim():
    run_sql("CREATE TABLE pa_victim (id int)", "INSERT INTO pa_victim SELECT generate_series(1, 3)")
    yield
    run_sql("DROP TABLE IF EXISTS pa_victim", "DROP SEQUENCE IF EXISTS pa_seq")


def victim_rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pa_victim")
        return cursor.fetchone()[0]


def assert_connection_clean():
    # Back in autocommit, outside any transaction the service opened.
    assert connection.get_autocommit()
    assert not connection.in_atomic_block
    assert connection.connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


ESCAPES = [
    "SELECT 1; COMMIT",
    "COMMIT",
    "BEGIN",
    "ROLLBACK",
    "SET statement_timeout = 0",
    "SELECT 1; DELETE FROM pa_victim",
    "DELETE FROM pa_victim; COMMIT",
    "SELECT 1; COMMIT; DELETE FROM pa_victim",
    # a$x$ is an identifier to PostgreSQL, not the start of a dollar quote.
    "WITH q AS (SELECT 1 AS a$x$) SELECT * FROM q; COMMIT; DELETE FROM pa_victim; SELECT 2 AS b$x$",
    # E'\'' is a one-character literal: the quote after it opens nothing.
    "WITH q AS (SELECT E'\\'' AS v) SELECT * FROM q; COMMIT; DELETE FROM pa_victim; --'",
]


@pytest.mark.parametrize("analyze", [False, True], ids=["plain", "analyze"])
@pytest.mark.parametrize("sql", ESCAPES)
def test_explain_runs_one_statement_only(victim, sql, analyze):
    with pytest.raises(services.ServiceError):
        services.explain_sql(sql=sql, analyze=analyze)
    assert victim_rows() == 3
    assert_connection_clean()


@pytest.mark.parametrize("sql", ESCAPES)
def test_profilequery_runs_one_statement_only(victim, sql):
    with pytest.raises(services.ServiceError):
        services.profile_query(sql=sql, iterations=1)
    assert victim_rows() == 3
    assert_connection_clean()


def test_the_server_refuses_a_second_statement_even_if_the_lexer_is_fooled(victim, no_gate):
    # Defence in depth: pretend the gate missed the ';' (as the lexer once did for a$x$).
    sql = "WITH q AS (SELECT 1) SELECT * FROM q; COMMIT; DELETE FROM pa_victim"
    with pytest.raises(services.ServiceError, match="EXPLAIN failed"):
        services.explain_sql(sql=sql, analyze=True)
    with pytest.raises(services.ServiceError, match="query failed"):
        services.profile_query(sql=sql, iterations=1)
    assert victim_rows() == 3
    assert_connection_clean()


WRITES = [
    "DELETE FROM pa_victim",
    "WITH d AS (DELETE FROM pa_victim RETURNING id) SELECT count(*) FROM d",
    "INSERT INTO pa_victim SELECT generate_series(4, 10)",
]


@pytest.mark.parametrize("sql", [WRITES[0], WRITES[2]])
def test_writes_under_analyze_are_rolled_back(victim, sql):
    # manage.py explain may explain the application's writes (the forms may not).
    report = services.explain_sql(sql=sql, analyze=True)
    assert report.data["plans"][0]["analyze"] is True
    assert victim_rows() == 3
    assert_connection_clean()


def test_a_data_modifying_with_is_refused_by_the_gate(victim):
    with pytest.raises(gate.Refused, match="data-modifying WITH"):
        services.explain_sql(sql=WRITES[1], analyze=True)
    assert victim_rows() == 3


@pytest.mark.parametrize("sql", WRITES)
def test_writes_behind_a_gap_in_the_gate_are_rolled_back(victim, no_gate, sql):
    report = services.explain_sql(sql=sql, analyze=True)
    assert report.data["plans"][0]["analyze"] is True
    assert victim_rows() == 3
    assert_connection_clean()


def test_session_settings_do_not_persist(victim, no_gate):
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('search_path'), current_setting('work_mem')")
        before = cursor.fetchone()
    services.explain_sql(
        sql="SELECT set_config('search_path', 'pg_catalog', false), "
        "set_config('work_mem', '64kB', false)",
        analyze=True,
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('search_path'), current_setting('work_mem')")
        assert cursor.fetchone() == before


def test_select_runs_read_only_under_analyze(victim, no_gate):
    # A SELECT's functions cannot write either: the transaction is READ ONLY.
    run_sql("CREATE SEQUENCE pa_seq")
    with pytest.raises(services.ServiceError, match="read-only"):
        services.explain_sql(sql="SELECT nextval('pa_seq')", analyze=True)
    with pytest.raises(services.ServiceError, match="read-only"):
        services.profile_query(sql="SELECT nextval('pa_seq')", iterations=1)


def test_plain_explain_executes_nothing(victim, no_gate):
    # Without ANALYZE, EXPLAIN only plans: a volatile function in the statement is not called.
    with psycopg.connect(**connection.get_connection_params()) as bystander:
        pid = bystander.info.backend_pid
        services.explain_sql(sql=f"SELECT pg_terminate_backend({pid})")
        assert bystander.execute("SELECT 1").fetchone() == (1,)


HOSTILE_NAMES = [
    'x"; DROP TABLE pa_victim; --',
    "x'; DROP TABLE pa_victim; --",
    "pa_victim; DROP TABLE pa_victim",
    "pa_victim' OR '1'='1",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
@pytest.mark.parametrize("command", ["auditindexes", "tablestats"])
def test_hostile_table_names_are_just_unknown_tables(victim, command, name):
    with pytest.raises(CommandError, match="no table"):
        call_command(command, "--table", name, stdout=StringIO())
    assert victim_rows() == 3


def test_generic_plans_are_guarded_by_the_lexer(victim):
    # $1-style text (pg_stat_statements) cannot use the extended protocol; the lexer still
    # refuses a second statement, however it is disguised.
    for sql in ESCAPES[-2:]:
        with pytest.raises(services.ServiceError):
            services.explain_sql(sql=sql.replace("SELECT 1", "SELECT $1::int"))
    assert victim_rows() == 3
