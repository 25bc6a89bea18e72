"""Replication findings: standbys not streaming, lagging, unreachable, or not visible. Pure."""

from __future__ import annotations

from dataclasses import asdict

from perfaudit.conf import PerfauditSettings
from perfaudit.findings import Finding, Fix
from perfaudit.snapshots.replication import ReplicationSnapshot

MONITOR_FIX = Fix(sql="GRANT pg_monitor TO <the role perfaudit connects as>;")


def _lagging(seconds, lag_bytes, conf) -> bool:
    return (seconds or 0) > conf.REPLICATION_LAG_WARNING_SECONDS or (
        lag_bytes or 0
    ) > conf.REPLICATION_LAG_WARNING_BYTES


def _standby_rows(snap: ReplicationSnapshot, conf: PerfauditSettings) -> list[Finding]:
    """A primary's standbys, as pg_stat_replication shows them."""
    findings = []
    for s in snap.standbys:
        name = s.application_name or s.client_addr or "standby"
        if s.state != "streaming":
            findings.append(
                Finding(
                    kind="standby_not_streaming",
                    severity="warning",
                    table=None,
                    object=name,
                    message=f"standby {name} is {s.state or 'in an unknown state'}, not streaming",
                    evidence=asdict(s),
                )
            )
        if _lagging(s.replay_lag_seconds, s.lag_bytes, conf):
            findings.append(
                Finding(
                    kind="replication_lag",
                    severity="warning",
                    table=None,
                    object=name,
                    message=f"standby {name} replays {s.lag_bytes or 0:,} bytes / "
                    f"{s.replay_lag_seconds or 0:.1f} s behind the primary",
                    evidence=asdict(s),
                )
            )
    return findings


def _primary(snap: ReplicationSnapshot, conf, *, audited: bool, expected: int) -> list[Finding]:
    findings = _standby_rows(snap, conf)
    if snap.standbys and not snap.visible:
        findings.append(
            Finding(
                kind="replication_not_visible",
                severity="info",
                table=None,
                object=snap.alias,
                message="pg_stat_replication's LSN and lag columns are hidden from this role",
                fix=MONITOR_FIX,
            )
        )
    if audited and len(snap.standbys) < expected:
        findings.append(
            Finding(
                kind="missing_standby",
                severity="warning",
                table=None,
                object=snap.alias,
                message=f"the app reads from {expected} replica(s) but "
                f"{len(snap.standbys)} stream from this primary (cascading standbys "
                "are not listed here)",
                evidence={"expected": expected, "streaming": len(snap.standbys)},
            )
        )
    return findings


def _standby(snap: ReplicationSnapshot, conf: PerfauditSettings) -> list[Finding]:
    r = snap.receiver
    if r is None:
        return []
    findings = []
    if r.status != "streaming":
        findings.append(
            Finding(
                kind="standby_not_receiving",
                severity="error",
                table=None,
                object=snap.alias,
                message=f"{snap.alias} is a standby whose WAL receiver is "
                f"{r.status or 'not running'}: it falls further behind",
                evidence=asdict(r),
            )
        )
    if r.replay_paused:
        findings.append(
            Finding(
                kind="replay_paused",
                severity="warning",
                table=None,
                object=snap.alias,
                message=f"WAL replay is paused on {snap.alias}",
                evidence=asdict(r),
                fix=Fix(sql="SELECT pg_wal_replay_resume();"),
            )
        )
    # The age of the last replayed commit is lag only while WAL waits to be applied.
    if (r.lag_bytes or 0) > 0 and _lagging(r.replay_age_seconds, r.lag_bytes, conf):
        findings.append(
            Finding(
                kind="replication_lag",
                severity="warning",
                table=None,
                object=snap.alias,
                message=f"{snap.alias} has {r.lag_bytes:,} bytes received but not "
                f"replayed; last replayed commit {r.replay_age_seconds or 0:.1f} s ago",
                evidence=asdict(r),
            )
        )
    return findings


def evaluate(
    snapshots: list[ReplicationSnapshot], conf: PerfauditSettings, *, expected_standbys: int = 0
) -> list[Finding]:
    """``snapshots``: the audited database first, then the replicas the app reads from.
    ``expected_standbys``: how many replicas the app is configured with."""
    findings: list[Finding] = []
    for snap in snapshots:
        if snap.role == "unreachable":
            findings.append(
                Finding(
                    kind="replica_unreachable",
                    severity="error",
                    table=None,
                    object=snap.alias,
                    message=f"replica {snap.alias} does not answer ({snap.error}): its reads "
                    "fall back to the primary",
                    evidence={"error": snap.error},
                )
            )
        elif snap.role == "primary":
            audited = snap is snapshots[0]
            findings += _primary(snap, conf, audited=audited, expected=expected_standbys)
        elif snap.role == "standby":
            findings += _standby(snap, conf)
    return findings
