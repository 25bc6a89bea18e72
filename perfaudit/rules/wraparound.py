"""Transaction-ID wraparound danger: tables whose oldest unfrozen ID nears the stop."""

from __future__ import annotations

from perfaudit import ddl
from perfaudit.conf import PerfauditSettings
from perfaudit.findings import Finding, Fix
from perfaudit.snapshots.wraparound import XID_STOP_AGE, WraparoundSnapshot


def min_age(conf: PerfauditSettings) -> int:
    """The youngest age any rule here can flag: the catalog reads only tables this old."""
    return max(0, XID_STOP_AGE - conf.WRAPAROUND_WARNING_LEFT)


def _severity(left: int, conf: PerfauditSettings) -> str | None:
    if left < conf.WRAPAROUND_ERROR_LEFT:
        return "error"
    if left < conf.WRAPAROUND_WARNING_LEFT:
        return "warning"
    return None


def _why(snapshot: WraparoundSnapshot, *, autovacuum_disabled: bool) -> str:
    reasons = []
    if not snapshot.autovacuum_on:
        reasons.append("autovacuum is off for the whole server")
    elif autovacuum_disabled:
        reasons.append(
            "autovacuum_enabled=false on this table (anti-wraparound vacuums still "
            "run, but only once autovacuum_freeze_max_age is passed)"
        )
    oldest = [h for h in snapshot.xmin_holders if h.xmin_age >= snapshot.freeze_max_age]
    for h in oldest[:3]:
        reasons.append(
            f"{h.kind} {h.name} holds an xmin {h.xmin_age:,} transactions old "
            f"({h.detail.strip()}), and VACUUM cannot freeze past it"
        )
    if not reasons:
        reasons.append(
            "no old snapshot holds VACUUM back right now: check that autovacuum "
            "workers are not always busy elsewhere (autovacuum_max_workers, "
            "cost limits)"
        )
    return "; ".join(reasons)


def autovacuum_off(snapshot: WraparoundSnapshot) -> list[Finding]:
    """autovacuum off for the whole server: dead rows pile up, statistics go stale, and only
    the anti-wraparound vacuums (forced past autovacuum_freeze_max_age) still run."""
    if snapshot.autovacuum_on:
        return []
    return [
        Finding(
            kind="autovacuum_off",
            severity="warning",
            table=None,
            object="autovacuum",
            message="autovacuum is off for the whole server: no table is vacuumed or analyzed "
            "unless someone does it by hand, dead rows pile up and the planner works from "
            "stale estimates; only anti-wraparound vacuums still start, past "
            f"autovacuum_freeze_max_age ({snapshot.freeze_max_age:,} transactions)",
            evidence={"autovacuum": False, "autovacuum_freeze_max_age": snapshot.freeze_max_age},
            fix=Fix(
                sql="ALTER SYSTEM SET autovacuum = on;\nSELECT pg_reload_conf();\n"
                "-- or set autovacuum = on in postgresql.conf (a superuser's change)"
            ),
        )
    ]


def evaluate(snapshot: WraparoundSnapshot, conf: PerfauditSettings) -> list[Finding]:
    """Tables near the stop (the server-wide autovacuum switch: ``autovacuum_off``)."""
    findings = []
    holders = [
        {"kind": h.kind, "name": h.name, "xmin_age": h.xmin_age, "detail": h.detail}
        for h in snapshot.xmin_holders
    ]
    for t in snapshot.tables:
        xid_sev = _severity(t.xids_left, conf)
        mxid_sev = _severity(t.mxids_left, conf)
        severity = "error" if "error" in (xid_sev, mxid_sev) else (xid_sev or mxid_sev)
        if severity is None:
            continue
        which = "transaction IDs" if t.xids_left <= t.mxids_left else "multixact IDs"
        left = min(t.xids_left, t.mxids_left)
        table = ddl.table(t.schema, t.table)
        findings.append(
            Finding(
                kind="xid_wraparound",
                severity=severity,
                table=t.table if t.schema == "public" else f"{t.schema}.{t.table}",
                object=t.table if t.schema == "public" else f"{t.schema}.{t.table}",
                message=f"{left:,} {which} left before PostgreSQL stops accepting writes "
                f"to avoid wraparound (age {max(t.xid_age, t.mxid_age):,}; anti-wraparound "
                f"autovacuum starts at {snapshot.freeze_max_age:,}). Why it is not frozen: "
                + _why(snapshot, autovacuum_disabled=t.autovacuum_disabled),
                evidence={
                    "xid_age": t.xid_age,
                    "mxid_age": t.mxid_age,
                    "xids_left": t.xids_left,
                    "mxids_left": t.mxids_left,
                    "autovacuum_freeze_max_age": snapshot.freeze_max_age,
                    "autovacuum_disabled": t.autovacuum_disabled,
                    "size_bytes": t.size_bytes,
                    "xmin_holders": holders,
                },
                fix=Fix(
                    sql="-- end what holds the oldest xmin (evidence.xmin_holders) first, "
                    f"then:\nVACUUM (FREEZE, VERBOSE) {table};"
                ),
            )
        )
    return findings
