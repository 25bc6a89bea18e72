"""What auditindexes knows, read by the advisor, so the two commands agree on one database.

* An index the audit proposes to drop (a duplicate, a redundant prefix, an invalid build, an
  unused one with enough evidence) is never credited as serving a statement: the advice must
  hold once the audit's fixes are applied.
* An index a model declares but the database lacks (the audit's drift) is what to *restore*
  for a statement it would serve: under its declared name, with the audit's own fix, never a
  second, new index beside the declared one.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from perfaudit.findings import Finding, Fix
from perfaudit.rules import indexes as index_rules
from perfaudit.rules.advisor.blocks import analyze_statement
from perfaudit.rules.advisor.candidates import candidates_for
from perfaudit.rules.advisor.coverage import covered_by
from perfaudit.rules.advisor.facts import AdvisorInputError
from perfaudit.snapshots.advisor import AdvisorSnapshot, ExistingIndex, TableFacts
from perfaudit.snapshots.declared import DeclaredIndex

#: Finding kinds whose fix drops the index.
CONDEMNING = frozenset({"duplicate", "redundant", "invalid"})


@dataclass(frozen=True)
class AuditView:
    #: (table, index) -> why auditindexes proposes dropping it.
    condemned: dict[tuple[str, str], str] = field(default_factory=dict)
    #: (table, index) -> the audit's fix restoring a declared index the database lacks.
    restorable: dict[tuple[str, str], Fix] = field(default_factory=dict)
    #: The declarations behind ``restorable``.
    declared: dict[tuple[str, str], DeclaredIndex] = field(default_factory=dict)


def condemns(finding: Finding) -> bool:
    return finding.kind in CONDEMNING or (finding.kind == "unused" and finding.severity != "info")


def restorable(want: DeclaredIndex) -> bool:
    """A plain declared B-tree the advisor can plan as it would any candidate (columns, no
    expression, predicate or INCLUDE; not unique: that rebuild is a person's call)."""
    return (
        want.method == "btree"
        and not want.unique
        and not want.partial
        and not want.include
        and all(c is not None for c in want.columns)
    )


def audit_view(snapshot: AdvisorSnapshot, conf) -> AuditView:
    """The audit's verdicts on the database the advisor reads (rules.indexes.evaluate)."""
    audit = snapshot.audit
    if audit is None:
        return AuditView()
    declared = {(d.table, d.name): d for d in audit.declared.indexes}
    view = AuditView()
    for f in index_rules.evaluate(audit, conf):
        key = (f.table, f.object)
        if condemns(f):
            view.condemned[key] = f"{f.kind}: {' '.join(f.message.split())}"
        elif f.evidence.get("missing") and key in declared and restorable(declared[key]):
            view.restorable[key] = f.fix
            view.declared[key] = declared[key]
    return view


def with_audit(tables: dict[str, TableFacts], view: AuditView) -> dict[str, TableFacts]:
    """The tables as the advisor judges them: without the condemned indexes, with the
    declared ones to restore (``ExistingIndex.restore``)."""
    result = {}
    for name, facts in tables.items():
        kept = [i for i in facts.indexes if (name, i.name) not in view.condemned]
        kept += [
            ExistingIndex(
                name=want.name,
                method="btree",
                keys=tuple(want.columns),
                descending=tuple(want.descending),
                restore=True,
            )
            for (table, _n), want in view.declared.items()
            if table == name
        ]
        result[name] = replace(facts, indexes=tuple(kept))
    return result


def served_statements(snapshot: AdvisorSnapshot, conf) -> dict[tuple[str, str], list[str]]:
    """(table, index) -> the statements whose candidate the index covers, on the tables as
    they are (condemned indexes included): what auditindexes says beside an unused verdict."""
    served: dict[tuple[str, str], list[str]] = {}
    for statement in snapshot.statements:
        try:
            accesses = analyze_statement(statement.sql, snapshot.tables)
        except AdvisorInputError:
            continue
        for access in accesses:
            facts = snapshot.tables.get(access.table)
            for cand in candidates_for(access, facts, statement=0) if facts else ():
                index = covered_by(cand, facts.indexes)
                if index is not None and statement.sql not in served.get(
                    (facts.name, index.name), ()
                ):
                    served.setdefault((facts.name, index.name), []).append(statement.sql)
    return served
