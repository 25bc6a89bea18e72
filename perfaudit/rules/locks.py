"""Blocked queries: one finding per waiting session, naming who blocks it and with what."""

from __future__ import annotations

from perfaudit.conf import PerfauditSettings
from perfaudit.findings import Finding, Fix
from perfaudit.snapshots.locks import LocksSnapshot, Session


def _short(query: str | None, n: int = 120) -> str:
    text = " ".join((query or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _describe(s: Session) -> dict:
    return {
        "pid": s.pid,
        "user": s.user,
        "application": s.application,
        "state": s.state,
        "query": s.query,
        "query_seconds": s.query_seconds,
        "xact_seconds": s.xact_seconds,
    }


def evaluate(snapshot: LocksSnapshot, conf: PerfauditSettings) -> list[Finding]:
    waiting = {b.blocked.pid for b in snapshot.blocked}
    findings = []
    for b in snapshot.blocked:
        waited = b.blocked.query_seconds or 0.0
        # Root blockers: those not waiting themselves. Ending a blocker that is itself blocked
        # frees nothing for long.
        roots = [s for s in b.blockers if s.pid not in waiting] or list(b.blockers)
        who = "; ".join(
            f"pid {s.pid} ({s.application}, {s.state}"
            + (f", transaction open {s.xact_seconds:.0f} s" if s.xact_seconds else "")
            + f"): {_short(s.query)}"
            for s in b.blockers
        )
        idle = [s for s in roots if (s.state or "").startswith("idle in transaction")]
        if idle:
            advice = (
                f"SELECT pg_terminate_backend({idle[0].pid}); -- idle in a transaction: only "
                "terminating it releases its locks; then find the code path that leaves "
                "transactions open (idle_in_transaction_session_timeout ends them for you)"
            )
        elif roots:
            advice = (
                f"SELECT pg_cancel_backend({roots[0].pid}); -- cancels its statement; if it "
                f"still holds the lock: SELECT pg_terminate_backend({roots[0].pid});"
            )
        else:  # pragma: no cover - pg_blocking_pids returned nothing for a waiting pid
            advice = None
        findings.append(
            Finding(
                kind="blocked_query",
                severity="warning" if waited >= conf.BLOCKED_WARNING_SECONDS else "info",
                table=None,
                object=f"pid {b.blocked.pid}",
                message=f"pid {b.blocked.pid} ({b.blocked.application}) has waited "
                f"{waited:.1f} s for {b.mode or 'a lock'} on {b.locked_item or '?'}: "
                f"{_short(b.blocked.query)} — blocked by {who}",
                evidence={
                    "blocked": _describe(b.blocked),
                    "locked_item": b.locked_item,
                    "mode": b.mode,
                    "wait_event": b.wait_event,
                    "blocking": [_describe(s) for s in b.blockers],
                    "root_blockers": [s.pid for s in roots],
                },
                fix=Fix(sql=advice),
            )
        )
    return findings
