"""Helpers for perfaudit's tests: plant schema problems with plain SQL on the test database.

Tables created here are named ``pa_*`` and live inside the test's transaction (rolled back), or
are dropped explicitly by ``transaction=True`` tests.
"""

import pytest
from django.db import connection

from perfaudit.testing import perfaudit_no_repeated_queries, perfaudit_query_budget  # noqa: F401

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
