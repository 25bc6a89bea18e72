"""Helpers for perfaudit's tests: plant schema problems with plain SQL on the test database.

Tables created here are named ``pa_*`` and live inside the test's transaction (rolled back), or
are dropped explicitly by ``transaction=True`` tests.
"""

import pytest
from django.db import connection

from perfaudit import gate
from perfaudit.testing import perfaudit_no_repeated_queries, perfaudit_query_budget  # noqa: F401

#: Every permission perfaudit's pages know (perfaudit.models).
PERFAUDIT_PERMISSIONS = ("view_dashboard", "explain_analyze", "reset_statistics")


def grant(user, *codenames):
    """Give ``user`` perfaudit's permissions ``codenames``; a fresh copy (permission caches)."""
    from django.contrib.auth.models import Permission

    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="perfaudit", codename__in=codenames)
    )
    return type(user).objects.get(pk=user.pk)


@pytest.fixture
def staff_user(staff_user):
    """The base staff user (not a superuser), with every perfaudit permission: a staff member
    the team lets use perfaudit. test_permissions.py checks the pages without them."""
    return grant(staff_user, *PERFAUDIT_PERMISSIONS)


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
