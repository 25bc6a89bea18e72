"""benchmarks.quiesce.settle against the real test database and real processes."""

import subprocess
import sys
import threading

import psycopg
import pytest
from django.db import connection

from benchmarks import quiesce

pytestmark = pytest.mark.django_db


def test_process_tree_holds_the_children_of_a_server():
    child = "import subprocess, sys; subprocess.run([sys.executable, '-c', 'input()'])"
    parent = subprocess.Popen([sys.executable, "-c", child], stdin=subprocess.PIPE)
    try:
        for _ in range(200):
            tree = quiesce.process_tree(parent.pid)
            if len(tree) == 2:
                break
            threading.Event().wait(0.05)
        assert tree[0] == parent.pid
        assert len(tree) == 2
        assert quiesce.cpu_ticks(tree) >= 0
    finally:
        parent.communicate(b"\n", timeout=30)


def test_a_statement_still_running_after_the_grace_period_is_cancelled():
    params = connection.get_connection_params()
    conninfo = {k: params[k] for k in ("dbname", "host", "port", "user") if params.get(k)}
    errors = []
    started = threading.Event()

    def slow_statement():
        with psycopg.connect(**conninfo, autocommit=True) as other:
            started.set()
            try:
                other.execute("SELECT pg_sleep(120)")
            except psycopg.errors.QueryCanceled as exc:
                errors.append(exc)

    thread = threading.Thread(target=slow_statement)
    thread.start()
    started.wait(30)
    for _ in range(200):  # until the sleep shows in pg_stat_activity
        if quiesce.active_statements(connection):
            break
        threading.Event().wait(0.05)
    settled = quiesce.settle([], connection, grace=0)
    thread.join(30)
    assert settled.cancelled == 1
    assert len(errors) == 1
    assert quiesce.active_statements(connection) == []


def test_quiet_servers_and_database_settle_without_cancelling():
    idle = subprocess.Popen([sys.executable, "-c", "input()"], stdin=subprocess.PIPE)
    try:
        settled = quiesce.settle([idle.pid], connection, grace=0)
    finally:
        idle.communicate(b"\n", timeout=30)
    assert settled.cancelled == 0
