"""Sessions judged without a database: who blocks whom, long-running queries, transactions left
open, the order of the rows, and which sessions the page refuses to signal."""

import dataclasses

from perfaudit.conf import PerfauditSettings
from perfaudit.rules import sessions
from perfaudit.snapshots.sessions import Backend, SessionsSnapshot

from .factories import server_info

CONF = PerfauditSettings(LONG_RUNNING_SECONDS=60, BLOCKED_WARNING_SECONDS=5)


def backend(pid, **kw):
    fields = {
        "pid": pid,
        "database": "app",
        "user": "app",
        "application": "gunicorn",
        "client": "10.0.0.1",
        "state": "idle",
        "wait_event_type": None,
        "wait_event": None,
        "started_us": 1000 + pid,
        "query_start": None,
        "query_seconds": 1.0,
        "xact_seconds": None,
        "state_seconds": 1.0,
        "query": "SELECT 1",
        "blocked_by": (),
        "own": False,
        "same_database": True,
    }
    return Backend(**(fields | kw))


def snapshot(*backends):
    return SessionsSnapshot(
        server=server_info(), database="app", backends=backends, total=len(backends)
    )


def test_blocker_first_then_blocked_long_running_idle_in_transaction():
    snap = snapshot(
        backend(1),
        backend(2, state="idle in transaction", xact_seconds=120.0),
        backend(3, state="active", query_seconds=90.0),
        backend(4, state="active", wait_event_type="Lock", blocked_by=(5,), query_seconds=7.0),
        backend(5, state="idle in transaction", xact_seconds=10.0),
    )
    rows = sessions.rows(snap, CONF)
    assert [r.backend.pid for r in rows] == [5, 4, 3, 2, 1]
    assert rows[0].blocking == (4,) and rows[1].blocked
    assert rows[2].long_running and rows[3].idle_in_transaction
    assert not rows[4].long_running and not rows[4].idle_in_transaction


def test_findings_name_the_session_and_the_right_signal():
    snap = snapshot(
        backend(3, state="active", query_seconds=90.0),
        backend(4, state="active", wait_event_type="Lock", blocked_by=(5,), query_seconds=7.0),
        backend(5, state="idle in transaction", xact_seconds=10.0),
    )
    found = {(f.kind, f.object): f for f in sessions.evaluate(snap, CONF)}
    blocker = found[("blocking_session", "pid 5")]
    assert blocker.severity == "warning"  # waited 7 s >= 5
    assert blocker.fix.sql == "SELECT pg_terminate_backend(5);"  # idle: cancel does nothing
    assert found[("long_running_query", "pid 3")].fix.sql == "SELECT pg_cancel_backend(3);"
    assert ("idle_in_transaction", "pid 5") not in found  # 10 s < 60 s
    assert all("SELECT 1" not in f.message for f in found.values())  # no statement text


def test_a_short_wait_is_info():
    snap = snapshot(
        backend(4, state="active", blocked_by=(5,), query_seconds=1.0), backend(5, state="active")
    )
    (f,) = sessions.evaluate(snap, CONF)
    assert (f.kind, f.severity) == ("blocking_session", "info")
    assert f.fix.sql == "SELECT pg_cancel_backend(5);"  # active: cancelling its query frees it


def test_refusals():
    own, other_db, fine = (
        backend(1, own=True),
        backend(2, same_database=False, database="x"),
        backend(3),
    )
    snap = snapshot(own, other_db, fine)
    assert "perfaudit itself" in sessions.refusal(own, snap)
    assert "database x" in sessions.refusal(other_db, snap)
    assert sessions.refusal(fine, snap) is None
    assert "no longer running" in sessions.refusal(None, snap)
    # A pid is reused: the start time must match too.
    assert sessions.find(snap, 3, fine.started_us) is fine
    assert sessions.find(snap, 3, fine.started_us + 1) is None
    assert [r.refusal is None for r in sessions.rows(snap, CONF)] == [False, False, True]


def test_snapshot_round_trips():
    snap = snapshot(backend(4, blocked_by=(5, 6)))
    assert SessionsSnapshot.from_document(snap.to_document()) == snap
    assert dataclasses.is_dataclass(snap)
