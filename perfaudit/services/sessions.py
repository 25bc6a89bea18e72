"""Sessions: every client backend judged (the Sessions page, ``dbconnections``' list), and the
page's one action: cancel a session's query or terminate the session, after the rules and the
signal's own SQL agree it is the session the person saw, of the audited database, and not
perfaudit's own connection. Every signal and every refusal is logged, never with the statement.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db import DatabaseError

from perfaudit.catalog import sessions as catalog
from perfaudit.conf import get_settings
from perfaudit.errors import ServiceError, one_line
from perfaudit.findings import Report
from perfaudit.rules import sessions as rules
from perfaudit.rules.sessions import SessionRow
from perfaudit.services.base import envelope, get_connection
from perfaudit.snapshots.sessions import SessionsSelection

logger = logging.getLogger("perfaudit.sessions")


def session_dict(row: SessionRow) -> dict[str, Any]:
    backend = asdict(row.backend)
    backend["blocked_by"] = list(row.backend.blocked_by)
    return backend | {
        "long_running": row.long_running,
        "idle_in_transaction": row.idle_in_transaction,
        "blocking": list(row.blocking),
        "signallable": row.refusal is None,
    }


@dataclass(kw_only=True)
class SessionsReport(Report):
    sessions: list[SessionRow] = field(default_factory=list)
    #: Client backends on the server, of which the first ``limit`` are listed.
    total: int = 0
    limit: int = 0
    long_running_seconds: int = 0

    def payload(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "limit": self.limit,
            "long_running_seconds": self.long_running_seconds,
            "sessions": [session_dict(r) for r in self.sessions],
        }


def session_activity(*, using: str = "default", limit: int = 500) -> SessionsReport:
    connection = get_connection(using)
    conf = get_settings()
    snapshot = catalog.collect(connection, SessionsSelection(limit=limit))
    return SessionsReport(
        **envelope(connection, snapshot.server, rules.evaluate(snapshot, conf)),
        sessions=rules.rows(snapshot, conf),
        total=snapshot.total,
        limit=limit,
        long_running_seconds=conf.LONG_RUNNING_SECONDS,
    )


def session_lookup(*, using: str = "default", pid: int, started_us: int) -> SessionRow:
    """The session the confirmation page shows; ServiceError when it may not be signalled."""
    connection = get_connection(using)
    conf = get_settings()
    snapshot = catalog.collect(connection, SessionsSelection(limit=100_000))
    backend = rules.find(snapshot, pid, started_us)
    reason = rules.refusal(backend, snapshot)
    if reason:
        raise ServiceError(f"pid {pid}: {reason}")
    return next(r for r in rules.rows(snapshot, conf) if r.backend is backend)


def signal_session(
    *, using: str = "default", action: str, pid: int, started_us: int, actor: str
) -> str:
    """Cancel (``pg_cancel_backend``) or terminate (``pg_terminate_backend``) one session;
    returns what happened, in a sentence. ``actor`` names who asked, for the log."""
    if action not in rules.ACTIONS:
        raise ServiceError(f"action must be one of {', '.join(rules.ACTIONS)}, not {action!r}")
    try:
        row = session_lookup(using=using, pid=pid, started_us=started_us)
    except ServiceError as exc:
        logger.warning("%s asked to %s pid %s: refused (%s)", actor, action, pid, exc)
        raise
    b = row.backend
    who = f"pid {pid} (user {b.user}, application {b.application}, state {b.state})"
    try:
        sent = catalog.signal(get_connection(using), action=action, pid=pid, started_us=started_us)
    except DatabaseError as exc:  # e.g. the auditing role may not signal a superuser's session
        logger.warning(
            "%s asked to %s %s: PostgreSQL refused: %s", actor, action, who, one_line(exc)
        )
        raise ServiceError(f"PostgreSQL refused to {action} pid {pid}: {one_line(exc)}") from None
    if sent is None:
        logger.warning("%s asked to %s %s: it ended first", actor, action, who)
        raise ServiceError(f"pid {pid} ended before it could be signalled")
    logger.warning("%s %s %s: %s", actor, action, who, "signal sent" if sent else "not sent")
    if not sent:
        raise ServiceError(f"PostgreSQL did not {action} pid {pid}")
    done = "cancelled the query of" if action == "cancel" else "terminated"
    return f"{actor} {done} {who}."
