"""dbhealth / the Health page: PgHero's cheap checks. NOT VALID constraints, sequences near
their maximum, transaction-ID wraparound (and autovacuum off for the server), queries blocked
by a lock now; each one set-based catalog query, collect -> evaluate -> report."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from perfaudit.catalog import constraints, locks, sequences, server, wraparound
from perfaudit.conf import get_settings
from perfaudit.findings import Report
from perfaudit.rules import constraints as constraint_rules
from perfaudit.rules import locks as lock_rules
from perfaudit.rules import sequences as sequence_rules
from perfaudit.rules import wraparound as wraparound_rules
from perfaudit.services.base import envelope, get_connection
from perfaudit.snapshots.constraints import ConstraintsSelection, ConstraintsSnapshot
from perfaudit.snapshots.locks import LocksSnapshot
from perfaudit.snapshots.sequences import SequencesSelection, SequencesSnapshot
from perfaudit.snapshots.wraparound import WraparoundSelection, WraparoundSnapshot


@dataclass(kw_only=True)
class HealthReport(Report):
    constraints: ConstraintsSnapshot
    sequences: SequencesSnapshot
    wraparound: WraparoundSnapshot
    locks: LocksSnapshot = field(default_factory=lambda: LocksSnapshot(()))
    extra: dict[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        wrap = self.wraparound
        return {
            "not_valid_constraints": [asdict(c) for c in self.constraints.not_valid],
            "sequences": [
                asdict(q) | {"limit": q.limit, "used_ratio": q.used_ratio}
                for q in self.sequences.sequences
            ],
            "wraparound": {
                "database": wrap.database,
                "database_xid_age": wrap.database_xid_age,
                "database_mxid_age": wrap.database_mxid_age,
                "database_xids_left": wrap.database_xids_left,
                "autovacuum_freeze_max_age": wrap.freeze_max_age,
                "autovacuum": wrap.autovacuum_on,
                "xmin_holders": [asdict(h) for h in wrap.xmin_holders],
            },
            "blocked_queries": [b.to_dict() for b in self.locks.blocked],
        }


def health_findings(connection, conf, *, table: str | None = None) -> tuple[dict, list]:
    """(the snapshots by name, their findings): what dbhealth reports and the overview counts."""
    snapshots = {
        "constraints": constraints.collect(connection, ConstraintsSelection(table=table)),
        "sequences": sequences.collect(connection, SequencesSelection(table=table)),
        "wraparound": wraparound.collect(
            connection, WraparoundSelection(table=table, min_age=wraparound_rules.min_age(conf))
        ),
        "locks": locks.read(connection),
    }
    findings = [
        *constraint_rules.evaluate(snapshots["constraints"], conf),
        *sequence_rules.evaluate(snapshots["sequences"], conf),
        *wraparound_rules.autovacuum_off(snapshots["wraparound"]),
        *wraparound_rules.evaluate(snapshots["wraparound"], conf),
        *lock_rules.evaluate(snapshots["locks"], conf),
    ]
    if table:
        findings = [f for f in findings if f.table == table]
    return snapshots, findings


def db_health(*, using: str = "default", table: str | None = None) -> HealthReport:
    connection = get_connection(using)
    snapshots, findings = health_findings(connection, get_settings(), table=table)
    return HealthReport(
        **envelope(connection, server.server_info(connection), findings),
        constraints=snapshots["constraints"],
        sequences=snapshots["sequences"],
        wraparound=snapshots["wraparound"],
        locks=snapshots["locks"],
    )
