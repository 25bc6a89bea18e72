"""The least-privileged role (perfaudit.sqlrole, ``manage.py perfauditrole``): what it may do,
and that a statement slipping past the gate still runs without the connecting user's rights.

Each test creates its own role inside the test's transaction (roles are cluster-wide, and the
system PostgreSQL is shared): the rollback removes it.
"""

import secrets
from io import StringIO

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection

from perfaudit import gate, services, sqlrole

from .conftest import requires_demo, run_sql

# The role's grants are checked on the demo project's tables (tasks_task readable, tasks_user and
# tasks_apitoken protected): make test runs these; the standalone matrix has no such tables.
pytestmark = [pytest.mark.django_db, requires_demo]


def fetch(sql, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@pytest.fixture
def role(settings):
    name = f"perfaudit_test_{secrets.token_hex(4)}"
    call_command("perfauditrole", "--role", name, stdout=StringIO())
    settings.PERFAUDIT = {**getattr(settings, "PERFAUDIT", {}), "SQL_ROLE": name}
    gate.clear_cache()
    return name


def assert_back_to_the_session_user():
    assert fetch("SELECT current_user = session_user")[0][0]


def test_the_role_has_no_attribute_and_no_membership(role):
    row = fetch(
        "SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication, "
        "rolbypassrls, rolinherit, (SELECT count(*) FROM pg_auth_members WHERE member = r.oid) "
        "FROM pg_roles r WHERE rolname = %s",
        [role],
    )
    assert row == [(False, False, False, False, False, False, False, 0)]


@pytest.mark.parametrize(
    ("table", "readable"),
    [
        ("tasks_task", True),
        ("django_content_type", True),
        ("django_session", False),
        ("tasks_user", False),  # the user model's: password hashes
        ("tasks_apitoken", False),
        ("auth_permission", False),
        ("django_admin_log", False),
    ],
)
def test_the_role_reads_the_application_tables_but_not_the_protected_ones(role, table, readable):
    assert fetch("SELECT has_table_privilege(%s, %s, 'SELECT')", [role, table]) == [(readable,)]
    assert fetch("SELECT has_table_privilege(%s, %s, 'INSERT')", [role, table]) == [(False,)]


def test_writes_only_on_request(role):
    call_command("perfauditrole", "--role", role, "--writes", stdout=StringIO())
    assert fetch("SELECT has_table_privilege(%s, 'tasks_task', 'UPDATE')", [role]) == [(True,)]
    assert fetch("SELECT has_table_privilege(%s, 'tasks_user', 'UPDATE')", [role]) == [(False,)]
    seq = "SELECT has_sequence_privilege(%s, pg_get_serial_sequence('tasks_task', 'id'), 'USAGE')"
    assert fetch(seq, [role]) == [(True,)]


def test_a_view_over_a_protected_table_is_not_granted(role):
    run_sql(
        "CREATE VIEW pa_sessions AS SELECT session_key FROM django_session",
        "CREATE VIEW pa_titles AS SELECT title FROM tasks_task",
    )
    gate.clear_cache()
    call_command("perfauditrole", "--role", role, stdout=StringIO())
    assert fetch("SELECT has_table_privilege(%s, 'pa_sessions', 'SELECT')", [role]) == [(False,)]
    assert fetch("SELECT has_table_privilege(%s, 'pa_titles', 'SELECT')", [role]) == [(True,)]


def test_print_shows_the_exact_sql_and_runs_nothing():
    out = StringIO()
    call_command("perfauditrole", "--role", "perfaudit_printed", "--print", stdout=out)
    text = out.getvalue()
    assert text.startswith('CREATE ROLE "perfaudit_printed" NOLOGIN NOSUPERUSER')
    assert 'GRANT SELECT ON TABLE "public"."tasks_task" TO "perfaudit_printed";' in text
    assert 'REVOKE ALL ON TABLE "public"."django_session" FROM "perfaudit_printed";' in text
    assert fetch("SELECT count(*) FROM pg_roles WHERE rolname = 'perfaudit_printed'") == [(0,)]


def test_typed_statements_run_as_the_role(role):
    report = services.explain_sql(sql="SELECT count(*) FROM tasks_task", analyze=True)
    assert report.plans[0].plan["Plan"]["Node Type"] == "Aggregate"
    timings = services.profile_query(sql="SELECT current_user", iterations=1)
    assert timings.profile.rows == 1
    assert_back_to_the_session_user()


def test_a_table_the_role_may_not_read_says_so(role):
    run_sql("CREATE TABLE pa_new (id int)")  # created after the grants
    with pytest.raises(services.ServiceError, match=r"permission denied.*perfauditrole"):
        services.explain_sql(sql="SELECT * FROM pa_new")
    assert_back_to_the_session_user()


def test_the_advisor_plans_typed_statements_as_the_role(role, settings):
    # The believability thresholds would skip these tiny tables before any plan.
    settings.PERFAUDIT = {
        **getattr(settings, "PERFAUDIT", {}),
        "ADVISOR_MIN_TABLE_ROWS": 0,
        "ADVISOR_MIN_COST": 0,
    }
    run_sql("CREATE TABLE pa_after (id int, v int)")  # created after the grants
    readable = services.advise_indexes(sqls=["SELECT * FROM django_content_type WHERE id = 1"])
    assert readable.statements[0].cost_before is not None
    report = services.advise_indexes(sqls=["SELECT * FROM pa_after WHERE v = 1"])
    assert "permission denied" in (report.statements[0].note or "")
    assert_back_to_the_session_user()


def test_a_missing_role_is_a_clear_error(settings):
    settings.PERFAUDIT = {**getattr(settings, "PERFAUDIT", {}), "SQL_ROLE": "perfaudit_absent"}
    with pytest.raises(services.ServiceError, match='role "perfaudit_absent" does not exist'):
        services.explain_sql(sql="SELECT 1")


# Behind a gap in the gate (no_gate), the role is what stops the statement. (SQLSTATE 42501;
# PostgreSQL 15 words some as "must be superuser ...".)
DENIED = r"permission denied|must be (a )?superuser"
GAP_PROBES = [
    ("SELECT pg_read_file('/etc/passwd')", DENIED),
    ("SELECT session_key FROM django_session", DENIED),
    ("SELECT pg_stat_reset()", DENIED),
    ("SELECT pg_reload_conf()", DENIED),
    ("SELECT pg_create_physical_replication_slot('perfaudit_gap', true)", DENIED),
]


@pytest.mark.parametrize(("sql", "message"), GAP_PROBES)
def test_the_role_stops_what_slips_past_the_gate(role, no_gate, sql, message):
    with pytest.raises(services.ServiceError, match=message):
        services.explain_sql(sql=sql, analyze=True)
    assert_back_to_the_session_user()
    assert fetch("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'perfaudit_gap'") == [
        (0,)
    ]


def test_the_role_cannot_signal_another_backend(role, no_gate):
    with psycopg.connect(**connection.get_connection_params()) as bystander:
        pid = bystander.info.backend_pid
        with pytest.raises(services.ServiceError, match=DENIED):
            services.explain_sql(sql=f"SELECT pg_terminate_backend({pid})", analyze=True)
        assert bystander.execute("SELECT 1").fetchone() == (1,)


def test_plan_attributes():
    plan = sqlrole.statements(connection, "perfaudit_plan")
    assert plan.statements[0].startswith('CREATE ROLE "perfaudit_plan"')
    assert "public.tasks_task" in plan.granted
    assert "public.django_session" in plan.revoked
