"""Sessions judged: long-running queries, transactions left open, who blocks whom, and which
sessions the Sessions page may signal at all. Pure: the snapshot and the settings only."""

from __future__ import annotations

from dataclasses import dataclass

from perfaudit.conf import PerfauditSettings
from perfaudit.findings import Finding, Fix
from perfaudit.snapshots.sessions import Backend, SessionsSnapshot

ACTIONS = ("cancel", "terminate")


@dataclass(frozen=True)
class SessionRow:
    backend: Backend
    #: Active for LONG_RUNNING_SECONDS or more.
    long_running: bool
    #: Idle in a transaction opened LONG_RUNNING_SECONDS or more ago (it holds its locks).
    idle_in_transaction: bool
    #: The sessions waiting for this one (pg_blocking_pids of the others).
    blocking: tuple[int, ...]
    #: Why the page will not signal it (None: it may, with the permission).
    refusal: str | None

    @property
    def blocked(self) -> bool:
        return bool(self.backend.blocked_by)


def refusal(backend: Backend | None, snapshot: SessionsSnapshot) -> str | None:
    """Why ``backend`` may not be cancelled or terminated from the page, or None."""
    if backend is None:
        return "that session is no longer running (or its pid now belongs to a new session)"
    if backend.own:
        return f"pid {backend.pid} is the connection perfaudit itself is using"
    if not backend.same_database:
        return (
            f"pid {backend.pid} is connected to database {backend.database or '(none)'}: "
            f"perfaudit signals only sessions of the database it audits ({snapshot.database})"
        )
    return None


def find(snapshot: SessionsSnapshot, pid: int, started_us: int) -> Backend | None:
    """The session with this pid *and* this start time (a pid is reused by later sessions)."""
    return next((b for b in snapshot.backends if b.pid == pid and b.started_us == started_us), None)


def rows(snapshot: SessionsSnapshot, conf: PerfauditSettings) -> list[SessionRow]:
    """Every session, those that block others first, then the blocked, the long-running, the
    idle in a transaction, the rest in the catalog's order (busy first, oldest transaction)."""
    waiters: dict[int, list[int]] = {}
    for b in snapshot.backends:
        for pid in b.blocked_by:
            waiters.setdefault(pid, []).append(b.pid)
    result = []
    for b in snapshot.backends:
        result.append(
            SessionRow(
                backend=b,
                long_running=b.state == "active"
                and (b.query_seconds or 0) >= conf.LONG_RUNNING_SECONDS,
                idle_in_transaction=(b.state or "").startswith("idle in transaction")
                and (b.xact_seconds or 0) >= conf.LONG_RUNNING_SECONDS,
                blocking=tuple(waiters.get(b.pid, ())),
                refusal=refusal(b, snapshot),
            )
        )
    return sorted(
        result,
        key=lambda r: (
            not r.blocking,
            not r.blocked,
            not r.long_running,
            not r.idle_in_transaction,
        ),
    )


def _finding(kind, severity, b: Backend, message, action) -> Finding:
    return Finding(
        kind=kind,
        severity=severity,
        table=None,
        object=f"pid {b.pid}",
        message=f"pid {b.pid} ({b.application}, {b.user}) {message}",
        evidence={
            "pid": b.pid,
            "application": b.application,
            "state": b.state,
            "query_seconds": b.query_seconds,
            "xact_seconds": b.xact_seconds,
            "blocked_by": list(b.blocked_by),
        },
        fix=Fix(sql=f"SELECT pg_{action}_backend({b.pid});"),
    )


def evaluate(snapshot: SessionsSnapshot, conf: PerfauditSettings) -> list[Finding]:
    findings = []
    waited = {b.pid: b.query_seconds or 0 for b in snapshot.backends if b.blocked_by}
    for row in rows(snapshot, conf):
        b = row.backend
        if row.blocking:
            longest = max(waited.get(pid, 0) for pid in row.blocking)
            severity = "warning" if longest >= conf.BLOCKED_WARNING_SECONDS else "info"
            action = "terminate" if (b.state or "").startswith("idle in") else "cancel"
            message = (
                f"blocks {len(row.blocking)} session(s) (pids "
                f"{', '.join(map(str, row.blocking))}; the longest has waited {longest:.0f} s)"
            )
            findings.append(_finding("blocking_session", severity, b, message, action))
        if row.long_running:
            message = f"has run its query for {b.query_seconds:.0f} s"
            findings.append(_finding("long_running_query", "warning", b, message, "cancel"))
        if row.idle_in_transaction:
            message = (
                f"is idle in a transaction open for {b.xact_seconds:.0f} s: it holds its locks "
                "and keeps vacuum from removing dead rows"
            )
            findings.append(_finding("idle_in_transaction", "warning", b, message, "terminate"))
    return findings
