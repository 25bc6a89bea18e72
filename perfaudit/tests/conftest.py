"""Helpers for perfaudit's tests: plant schema problems with plain SQL on the test database.

Tables created here are named ``pa_*`` and live inside the test's transaction (rolled back), or
are dropped explicitly by ``transaction=True`` tests.
"""

import secrets

import psycopg
import pytest
from django.apps import apps
from django.db import connection

from perfaudit import gate
from perfaudit.testing import perfaudit_no_repeated_queries, perfaudit_query_budget  # noqa: F401

#: Every permission perfaudit's pages know (perfaudit.models).
PERFAUDIT_PERMISSIONS = (
    "view_dashboard",
    "explain_analyze",
    "reset_statistics",
    "signal_backends",
)


def grant(user, *codenames):
    """Give ``user`` perfaudit's permissions ``codenames``; a fresh copy (permission caches)."""
    from django.contrib.auth.models import Permission

    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="perfaudit", codename__in=codenames)
    )
    return type(user).objects.get(pk=user.pk)


@pytest.fixture
def analyze_on(settings):
    """EXPLAIN ANALYZE allowed on the admin page (off by default outside DEBUG)."""
    settings.PERFAUDIT = {**getattr(settings, "PERFAUDIT", {}), "ADMIN_EXPLAIN_ANALYZE": True}


@pytest.fixture
def no_gate(monkeypatch):
    """Pretend the gate let everything through (a gap in it), to test the layers behind it."""
    monkeypatch.setattr(gate, "check", lambda connection, sql, **kw: sql.split()[0].upper())


#: Runs for many seconds with only functions the gate allows (pg_sleep is VOLATILE): for
#: timeout tests.
SLOW_QUERY = "SELECT count(*) FROM generate_series(1, 2000000000)"


#: For the few tests that exercise perfaudit on the demo project's own app and data (seeddata,
#: /api/tasks/): they run in ``make test``, and skip in the standalone suite (the test matrix).
requires_demo = pytest.mark.skipif(
    not apps.is_installed("tasks"), reason="needs the demo project's tasks app (make test runs it)"
)


def run_sql(*statements):
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


@pytest.fixture
def parent_child():
    """pa_parent <- pa_child(parent_id FK, created_at): the seed's task/user shape."""
    run_sql(
        "CREATE TABLE pa_parent (id bigserial PRIMARY KEY, name text NOT NULL)",
        "CREATE TABLE pa_child (id bigserial PRIMARY KEY, "
        "parent_id bigint NOT NULL REFERENCES pa_parent (id), "
        "done boolean NOT NULL DEFAULT false, created_at timestamptz NOT NULL DEFAULT now(), "
        "note text NOT NULL DEFAULT '')",
    )


def statements_usable():
    from perfaudit.catalog.statements import statements_status

    return statements_status(connection).usable


# The base fixture set, on whatever user model the project has (perfaudit relies on no field of
# the demo project's User): these shadow the demo's root conftest.py fixtures for perfaudit's
# tests, and are the only ones when the suite runs standalone (perfaudit/tests/settings.py).
@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create_user(
        username="owner", email="owner@example.com", password="pw-owner-1"
    )


@pytest.fixture
def other_user(django_user_model):
    return django_user_model.objects.create_user(
        username="other", email="other@example.com", password="pw-other-1"
    )


@pytest.fixture
def staff_user(django_user_model):
    """A staff user (not a superuser) with every perfaudit permission: a staff member the team
    lets use perfaudit. test_permissions.py checks the pages without them."""
    user = django_user_model.objects.create_user(
        username="staff", email="staff@example.com", password="pw-staff-1", is_staff=True
    )
    return grant(user, *PERFAUDIT_PERMISSIONS)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    # What the Install section asks of a project that wants slowqueries: the extension created in
    # its database, where the server preloads it (the embedded PostgreSQL 18 does; the system
    # PostgreSQL 15 does not, and the tests that need it skip there). The demo project's own
    # migration creates it; a standalone run (perfaudit/tests/settings.py) has no such migration.
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT 'pg_stat_statements' = ANY(string_to_array(replace("
            "current_setting('shared_preload_libraries'), ' ', ''), ','))"
        )
        if cursor.fetchone()[0]:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")


def _servers():
    """(label, connection parameters): this test run's server, and PostgreSQL 15 when it is
    another one and answers."""
    p = connection.settings_dict
    default = {
        "user": p["USER"],
        "password": p["PASSWORD"] or None,
        "host": p["HOST"] or None,
        "port": p["PORT"] or None,
    }
    servers = [("default", default)]
    system = {"user": "postgres", "password": None, "host": "127.0.0.1", "port": 5432}
    if (default["host"], str(default["port"] or "")) != ("127.0.0.1", "5432"):
        servers.append(("pg15", system))
    return servers


def _reachable(params) -> int | None:
    try:
        with psycopg.connect(**params, dbname="postgres", connect_timeout=3) as conn:
            return conn.info.server_version
    except psycopg.OperationalError:
        return None


@pytest.fixture(params=[label for label, _ in _servers()])
def server(request):
    """(connection parameters, server_version_num, two fresh database names) on this run's
    server and, when it is another one that answers, the machine's PostgreSQL 15."""
    params = dict(_servers())[request.param]
    version = _reachable(params)
    if version is None:
        pytest.skip(f"no PostgreSQL at {params['host']}:{params['port']}")
    names = [f"perfaudit_origin_{secrets.token_hex(4)}_{x}" for x in "ab"]
    with psycopg.connect(**params, dbname="postgres", autocommit=True) as admin:
        for name in names:
            admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield params, version, names
    finally:
        with psycopg.connect(**params, dbname="postgres", autocommit=True) as admin:
            for name in names:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
