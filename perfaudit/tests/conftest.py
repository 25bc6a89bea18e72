"""Helpers for perfaudit's tests: plant schema problems with plain SQL on the test database.

Tables created here are named ``pa_*`` and live inside the test's transaction (rolled back), or
are dropped explicitly by ``transaction=True`` tests.
"""

import pytest
from django.apps import apps
from django.db import connection

from perfaudit.testing import perfaudit_no_repeated_queries, perfaudit_query_budget  # noqa: F401

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
    return django_user_model.objects.create_user(
        username="staff", email="staff@example.com", password="pw-staff-1", is_staff=True
    )


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
