"""dbhealth: PgHero's cheap checks. NOT VALID constraints, sequences near their maximum,
transaction-ID wraparound; each one set-based catalog query, collect -> evaluate -> report."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from perfaudit.catalog import constraints, sequences, server, wraparound
from perfaudit.conf import get_settings
from perfaudit.findings import Report
from perfaudit.rules import constraints as constraint_rules
from perfaudit.rules import sequences as sequence_rules
from perfaudit.rules import wraparound as wraparound_rules
from perfaudit.services.base import envelope, get_connection
from perfaudit.snapshots.constraints import ConstraintsSelection, ConstraintsSnapshot
from perfaudit.snapshots.sequences import SequencesSelection, SequencesSnapshot
from perfaudit.snapshots.wraparound import WraparoundSelection, WraparoundSnapshot


@dataclass(kw_only=True)
class HealthReport(Report):
    constraints: ConstraintsSnapshot
    sequences: SequencesSnapshot
    wraparound: WraparoundSnapshot
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
        }


def db_health(*, using: str = "default", table: str | None = None) -> HealthReport:
    connection = get_connection(using)
    conf = get_settings()
    constraint_snapshot = constraints.collect(connection, ConstraintsSelection(table=table))
    sequence_snapshot = sequences.collect(connection, SequencesSelection(table=table))
    wrap_snapshot = wraparound.collect(
        connection, WraparoundSelection(table=table, min_age=wraparound_rules.min_age(conf))
    )
    findings = [
        *constraint_rules.evaluate(constraint_snapshot, conf),
        *sequence_rules.evaluate(sequence_snapshot, conf),
        *wraparound_rules.evaluate(wrap_snapshot, conf),
    ]
    if table:
        findings = [f for f in findings if f.table == table]
    return HealthReport(
        **envelope(connection, server.server_info(connection), findings),
        constraints=constraint_snapshot,
        sequences=sequence_snapshot,
        wraparound=wrap_snapshot,
    )
