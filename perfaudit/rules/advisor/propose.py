"""The advisor's propose stage: which statements to plan, and which indexes to try on them.

Pure, over the collected snapshot: each statement is read (its tables, conditions, sort,
``$n`` count) or set aside with the reason; the candidates come from rules.advisor.evaluate,
named the way Django names indexes, each with the SQL the what-if step tries it with.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from perfaudit import sqltext
from perfaudit.rules.advisor.audit import AuditView, audit_view, with_audit
from perfaudit.rules.advisor.blocks import analyze_statement, max_param, referenced_tables
from perfaudit.rules.advisor.candidates import candidates_for, parameterized
from perfaudit.rules.advisor.coverage import covered_by, evaluate
from perfaudit.rules.advisor.facts import Access, AdvisorInputError, Candidate
from perfaudit.rules.advisor.naming import index_name
from perfaudit.snapshots.advisor import (
    AdvisorSnapshot,
    AdvisorStatement,
    Extensions,
    PlanTarget,
    WhatIfIndex,
)


@dataclass(frozen=True)
class ProposedStatement:
    number: int
    statement: AdvisorStatement
    #: Its highest $n: planned generically when above 0.
    nparams: int = 0
    #: Why it is not planned (None: it is).
    note: str | None = None
    #: Existing indexes that already cover one of its candidates.
    served_by: tuple[str, ...] = ()
    #: Indexes that would serve it but auditindexes proposes to drop: (name, why).
    condemned: tuple[tuple[str, str], ...] = ()
    #: It compares an expression holding a parameter ($n), which no index can store.
    parameterized: bool = False


@dataclass(frozen=True)
class Proposal:
    statements: tuple[ProposedStatement, ...]
    candidates: tuple[Candidate, ...]
    #: The candidates' names, by position.
    names: tuple[str, ...]
    #: What the what-if step plans and tries.
    targets: tuple[PlanTarget, ...]
    indexes: tuple[WhatIfIndex, ...]
    #: auditindexes' view of the same database (rules.advisor.audit).
    audit: AuditView = field(default_factory=AuditView)


def _read(statement: AdvisorStatement, snapshot: AdvisorSnapshot) -> tuple[list[Access], str]:
    """(the statement's table accesses, or why it is set aside)."""
    pg_stat_statements = statement.source == "pg_stat_statements"
    if pg_stat_statements and sqltext.first_keyword(statement.sql) not in sqltext.ADVISABLE:
        return [], "not a SELECT, UPDATE or DELETE"
    try:
        refs = referenced_tables(statement.sql)
    except AdvisorInputError as exc:
        return [], str(exc)
    if not any(t in snapshot.tables for t in refs) or any(t.startswith("pg_") for t in refs):
        return [], "reads no table of this schema"
    if statement.source == "pg_stat_statements" and any(t.startswith("hypopg") for t in refs):
        return [], "HypoPG's own catalog"
    try:
        return analyze_statement(statement.sql, snapshot.tables), ""
    except AdvisorInputError as exc:
        return [], str(exc)


def build_sql(cand: Candidate, name: str, extensions: Extensions) -> tuple[str, ...]:
    """The statements of a real trial build (rolled back with it, the extension included)."""
    sql = (cand.create_sql(name, concurrently=False),)
    if any(k.opclass == "gin_trgm_ops" for k in cand.keys) and not extensions.pg_trgm_installed:
        return ("CREATE EXTENSION IF NOT EXISTS pg_trgm", *sql)
    return sql


def _whatif(number: int, cand: Candidate, name: str, snapshot: AdvisorSnapshot) -> WhatIfIndex:
    table = snapshot.tables.get(cand.table)
    return WhatIfIndex(
        number=number,
        name=name,
        method=cand.using,
        statements=tuple(sorted(cand.statements)),
        hypothetical_sql=cand.create_sql("hypo", concurrently=False),
        build_sql=build_sql(cand, name, snapshot.extensions),
        table_bytes=table.size_bytes if table else 0,
    )


def _sized(accesses: list[Access], tables, min_rows: float) -> tuple[list[Access], str]:
    """The accesses to tables big enough to index, or why none is."""
    kept = [a for a in accesses if a.table not in tables or tables[a.table].rows >= min_rows]
    if accesses and not kept:
        small = ", ".join(
            sorted({f"{a.table} (~{tables[a.table].rows:,.0f} rows)" for a in accesses})
        )
        return [], (
            f"its tables are too small for an index to matter: {small}, under "
            f"ADVISOR_MIN_TABLE_ROWS ({min_rows:,.0f})"
        )
    return kept, ""


def _condemned(accesses, tables, raw, view: AuditView) -> tuple[tuple[str, str], ...]:
    """Indexes auditindexes proposes to drop that would serve one of these accesses."""
    found = []
    for access in accesses:
        facts = raw.get(access.table)
        if facts is None:
            continue
        for cand in candidates_for(access, tables[access.table], statement=0):
            for index in facts.indexes:
                reason = view.condemned.get((access.table, index.name))
                if reason and covered_by(cand, (index,)) is index:
                    found.append((index.name, reason))
    return tuple(dict.fromkeys(found))


def propose(snapshot: AdvisorSnapshot, conf) -> Proposal:
    """The statements, numbered in the snapshot's order, and the candidate indexes, judged on
    the tables as auditindexes sees them (rules.advisor.audit)."""
    view = audit_view(snapshot, conf)
    tables = with_audit(snapshot.tables, view)
    read: dict[int, list[Access]] = {}
    notes: dict[int, str] = {}
    for number, statement in enumerate(snapshot.statements):
        accesses, note = _read(statement, snapshot)
        if not note:
            accesses, note = _sized(accesses, snapshot.tables, conf.ADVISOR_MIN_TABLE_ROWS)
        if note:
            notes[number] = note
        else:
            read[number] = accesses
    numbers = sorted(read)
    candidates, served = evaluate([read[n] for n in numbers], tables, conf)
    # evaluate() numbers statements by position in the list it was given: map back.
    candidates = [
        replace(c, statements=frozenset(numbers[i] for i in c.statements)) for c in candidates
    ]
    served_by = {numbers[i]: tuple(sorted(set(names))) for i, names in served.items()}
    names = [c.restore or index_name(c, snapshot.models.get(c.table)) for c in candidates]
    statements = tuple(
        ProposedStatement(
            number,
            statement,
            nparams=max_param(statement.sql) if number in read else 0,
            note=notes.get(number),
            served_by=served_by.get(number, ()),
            condemned=_condemned(read.get(number, ()), tables, snapshot.tables, view),
            parameterized=any(parameterized(c) for a in read.get(number, ()) for c in a.conditions),
        )
        for number, statement in enumerate(snapshot.statements)
    )
    return Proposal(
        statements=statements,
        candidates=tuple(candidates),
        names=tuple(names),
        targets=tuple(
            PlanTarget(s.number, s.statement.sql, s.nparams) for s in statements if not s.note
        ),
        indexes=tuple(
            _whatif(i, c, name, snapshot)
            for i, (c, name) in enumerate(zip(candidates, names, strict=True))
        ),
        audit=view,
    )
