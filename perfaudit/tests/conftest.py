"""Helpers for perfaudit's tests: plant schema problems with plain SQL on the test database.

Tables created here are named ``pa_*`` and live inside the test's transaction (rolled back), or
are dropped explicitly by ``transaction=True`` tests.
"""

import secrets

import psycopg
import pytest
from django.db import connection

from perfaudit.testing import perfaudit_no_repeated_queries, perfaudit_query_budget  # noqa: F401


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
