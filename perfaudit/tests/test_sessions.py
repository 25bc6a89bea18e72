"""The Sessions page and its cancel/terminate action, against real sessions: a second
connection holds a lock, a third waits for it (issue 23). The rules' part without a database is
in test_rules_sessions.py."""

import io
import json
import logging
import secrets
import threading
import time

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from perfaudit import services

from .conftest import grant

pytestmark = pytest.mark.django_db

PAGE = "admin:perfaudit_sessions"
SIGNAL = "admin:perfaudit_sessions_signal"


def started_us(pid: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT (extract(epoch FROM backend_start) * 1000000)::bigint "
            "FROM pg_stat_activity WHERE pid = %s",
            [pid],
        )
        return cursor.fetchone()[0]


class Blocked:
    """A committed table; ``holder`` locks it in an open transaction, ``waiter`` (a thread)
    waits on a SELECT from it."""

    def __init__(self):
        params = connection.get_connection_params()
        self.table = f"pa_sess_{secrets.token_hex(4)}"
        with psycopg.connect(**params, autocommit=True) as admin:
            admin.execute(f"CREATE TABLE {self.table} (id int)")
        self.holder = psycopg.connect(**{**params, "application_name": "pa-holder"})
        self.holder.execute(f"LOCK TABLE {self.table} IN ACCESS EXCLUSIVE MODE")
        # Its last statement, as pg_stat_activity shows it: values written into the text.
        self.holder.execute("SELECT 'sessionkey-abc123' AS session_key, 987654 AS n")
        self.waiter = psycopg.connect(
            **{**params, "application_name": "pa-waiter"}, autocommit=True
        )
        self.holder_pid = self.holder.info.backend_pid
        self.waiter_pid = self.waiter.info.backend_pid
        self.outcome = None
        self.thread = threading.Thread(target=self._wait)
        self.thread.start()
        self._until_waiting()

    def _wait(self):
        try:
            self.waiter.execute(f"SELECT count(*) FROM {self.table}  /* secret-literal-42 */")
            self.outcome = "ran"
        except psycopg.errors.QueryCanceled:
            self.outcome = "cancelled"
        except psycopg.OperationalError:
            self.outcome = "terminated"

    def _until_waiting(self):
        params = connection.get_connection_params()
        with psycopg.connect(**params, autocommit=True) as probe:
            for _ in range(200):
                row = probe.execute(
                    "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s",
                    [self.waiter_pid],
                ).fetchone()
                if row and row[0] == "Lock":
                    return
                time.sleep(0.05)
        raise AssertionError("the waiter never waited for the lock")

    def close(self):
        self.holder.rollback()
        self.thread.join(10)
        self.holder.close()
        self.waiter.close()
        with psycopg.connect(**connection.get_connection_params(), autocommit=True) as admin:
            admin.execute(f"DROP TABLE IF EXISTS {self.table}")


@pytest.fixture
def blocked():
    b = Blocked()
    yield b
    b.close()


def test_page_shows_who_blocks_whom(client, staff_user, blocked):
    client.force_login(staff_user)
    response = client.get(reverse(PAGE))
    assert response.status_code == 200
    rows = {r.backend.pid: r for r in response.context["report"].sessions}
    assert rows[blocked.waiter_pid].backend.blocked_by == (blocked.holder_pid,)
    assert rows[blocked.holder_pid].blocking == (blocked.waiter_pid,)
    first = response.context["report"].sessions[0]
    assert first.backend.pid == blocked.holder_pid  # blockers first
    page = response.content.decode()
    assert f'class="perfaudit-blocking " data-pid="{blocked.holder_pid}"' in page
    assert f"waits for pid {blocked.holder_pid}" in page
    kinds = {(f.kind, f.object) for f in response.context["report"].findings}
    assert ("blocking_session", f"pid {blocked.holder_pid}") in kinds
    # Cancel/terminate links for the waiter and the holder, never for the page's own connection.
    own = connection.connection.info.backend_pid
    assert f"?pid={blocked.waiter_pid}&amp;started=" in page
    assert f"?pid={own}&amp;" not in page


def test_statements_are_shown_without_their_values(client, staff_user, blocked):
    """A session's statement text holds client-side bound values (a session key, a password
    hash): the page and the snapshot show the statement's shape, never the values."""
    client.force_login(staff_user)
    response = client.get(reverse(PAGE))
    page = response.content.decode()
    assert "sessionkey-abc123" not in page and "987654" not in page
    assert "SELECT ? AS session_key, ? AS n" in page
    rows = {r.backend.pid: r.backend for r in response.context["report"].sessions}
    assert rows[blocked.holder_pid].query == "SELECT ? AS session_key, ? AS n"


def test_cancel_confirmed_then_posted_cancels_the_query_and_logs(
    client, staff_user, blocked, caplog
):
    client.force_login(staff_user)
    target = {"pid": blocked.waiter_pid, "started": started_us(blocked.waiter_pid)}
    confirm = client.get(reverse(SIGNAL), {**target, "action": "cancel"})
    assert confirm.status_code == 200
    assert "pg_cancel_backend" in confirm.content.decode()
    assert blocked.thread.is_alive()  # the GET changed nothing
    with caplog.at_level(logging.INFO, logger="perfaudit.sessions"):
        response = client.post(reverse(SIGNAL), {**target, "action": "cancel"})
    assert response.status_code == 302 and response["Location"] == reverse(PAGE)
    blocked.thread.join(10)
    assert blocked.outcome == "cancelled"
    (record,) = [r for r in caplog.records if r.name == "perfaudit.sessions"]
    assert f"staff cancel pid {blocked.waiter_pid}" in record.getMessage()
    assert "pa-waiter" in record.getMessage()
    assert "secret-literal-42" not in record.getMessage()  # never the statement


def test_terminate_ends_the_session(client, staff_user, blocked):
    client.force_login(staff_user)
    target = {"pid": blocked.holder_pid, "started": started_us(blocked.holder_pid)}
    client.post(reverse(SIGNAL), {**target, "action": "terminate"})
    blocked.thread.join(10)
    assert blocked.outcome == "ran"  # the lock went with the holder's session
    with pytest.raises(psycopg.OperationalError):
        blocked.holder.execute("SELECT 1")
    blocked.holder = psycopg.connect(**connection.get_connection_params())  # for close()


def test_staff_without_the_permission_gets_403_and_nothing_happens(
    client, django_user_model, blocked
):
    user = django_user_model.objects.create_user(username="viewer", is_staff=True)
    client.force_login(grant(user, "view_dashboard"))
    page = client.get(reverse(PAGE)).content.decode()
    assert "button perfaudit-signal" not in page  # no buttons
    target = {"pid": blocked.waiter_pid, "started": started_us(blocked.waiter_pid)}
    assert client.get(reverse(SIGNAL), {**target, "action": "cancel"}).status_code == 403
    assert client.post(reverse(SIGNAL), {**target, "action": "cancel"}).status_code == 403
    assert blocked.thread.is_alive()


def test_a_reused_pid_other_database_or_own_connection_is_refused(staff_user, blocked):
    pid = blocked.waiter_pid
    with pytest.raises(services.ServiceError, match="no longer running"):
        services.signal_session(action="cancel", pid=pid, started_us=started_us(pid) + 1, actor="t")
    own = connection.connection.info.backend_pid
    with pytest.raises(services.ServiceError, match="perfaudit itself is using"):
        services.signal_session(action="terminate", pid=own, started_us=started_us(own), actor="t")
    params = {**connection.get_connection_params(), "dbname": "postgres"}
    with psycopg.connect(**params) as elsewhere:
        other = elsewhere.info.backend_pid
        with pytest.raises(services.ServiceError, match="connected to database postgres"):
            services.signal_session(
                action="terminate", pid=other, started_us=started_us(other), actor="t"
            )
        assert elsewhere.execute("SELECT 1").fetchone() == (1,)
    assert blocked.thread.is_alive()


def test_bad_input_is_a_400_naming_the_field(client, staff_user):
    client.force_login(staff_user)
    response = client.post(reverse(SIGNAL), {"pid": "x", "started": "1", "action": "kill"})
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"pid", "action"}
    bare = client.get(reverse(SIGNAL))  # no session named: where to pick one, nothing done
    assert bare.status_code == 200 and "on the Sessions page" in bare.content.decode()


def test_page_query_count(client, staff_user, django_assert_max_num_queries):
    client.force_login(staff_user)
    # The admin's 4 (session, user, permissions), then pg_stat_clear_snapshot, the sessions,
    # current_database and server_info.
    with django_assert_max_num_queries(4 + 4):
        assert client.get(reverse(PAGE)).status_code == 200


def test_dbconnections_lists_sessions_blockers_first(blocked):
    out = io.StringIO()
    call_command("dbconnections", "--format", "json", stdout=out)
    listed = json.loads(out.getvalue())["sessions"]
    assert listed[0]["pid"] == blocked.holder_pid and listed[0]["blocking"] == [blocked.waiter_pid]
    (waiter,) = [s for s in listed if s["pid"] == blocked.waiter_pid]
    assert waiter["blocked_by"] == [blocked.holder_pid] and waiter["wait_event_type"] == "Lock"
    own = connection.connection.info.backend_pid
    assert own not in [s["pid"] for s in listed]
    text = io.StringIO()
    call_command("dbconnections", stdout=text)
    assert f"blocks {blocked.waiter_pid}" in text.getvalue()
    assert f"waits for {blocked.holder_pid}" in text.getvalue()
    quiet = io.StringIO()
    call_command("dbconnections", "--sessions", "none", "--format", "json", stdout=quiet)
    assert "sessions" not in json.loads(quiet.getvalue())


def test_the_buttons_show_with_the_permission(client, staff_user, blocked):
    client.force_login(staff_user)
    page = client.get(reverse(PAGE)).content.decode()
    assert page.count("button perfaudit-signal") >= 4  # cancel + terminate, holder and waiter


def test_a_post_without_the_csrf_token_is_refused(staff_user, blocked):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    target = {"pid": blocked.waiter_pid, "started": started_us(blocked.waiter_pid)}
    assert client.post(reverse(SIGNAL), {**target, "action": "cancel"}).status_code == 403
    assert blocked.thread.is_alive()
