"""The health check behind CONN_HEALTH_CHECKS (taskproject.liveness, taskproject.db_backend):
it sends nothing to the server, and it does see a connection the server has closed."""

import time

import psycopg
import pytest
from django.db import connections

pytestmark = pytest.mark.django_db


@pytest.fixture
def own_connection():
    """A Django connection of its own (a test may kill it), to the test database."""
    wrapper = connections.create_connection("default")
    wrapper.ensure_connection()
    yield wrapper
    wrapper.close()


def last_query(pid: int) -> str:
    params = connections["default"].get_connection_params()
    params.pop("cursor_factory", None)
    with psycopg.connect(**params, autocommit=True) as admin:
        return admin.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()[
            0
        ]


def test_the_health_check_sends_no_statement(own_connection):
    assert own_connection.health_check_enabled
    with own_connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid(), 'liveness-marker'")
        pid = cursor.fetchone()[0]
    own_connection.health_check_done = False
    own_connection.close_if_health_check_failed()
    assert own_connection.connection is not None  # judged alive, kept
    # Django's own check would have sent SELECT 1: the server's last statement is still ours.
    assert "liveness-marker" in last_query(pid)


def test_the_health_check_sees_a_terminated_backend(own_connection):
    with own_connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    assert own_connection.is_usable()
    params = connections["default"].get_connection_params()
    params.pop("cursor_factory", None)
    with psycopg.connect(**params, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    deadline = time.monotonic() + 5
    while own_connection.is_usable() and time.monotonic() < deadline:
        time.sleep(0.05)  # the FATAL message is on its way to the socket
    assert not own_connection.is_usable()
    own_connection.health_check_done = False
    own_connection.close_if_health_check_failed()
    assert own_connection.connection is None  # closed: the next statement reconnects
    with own_connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
