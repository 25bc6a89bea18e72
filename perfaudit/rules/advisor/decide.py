"""The advisor's choose stage: the verified candidates worth building (rules.advisor.choose,
a greedy cover of the statements), the unverified ones still worth printing, a note for every
statement left without a suggestion, and the findings. Pure, over what the earlier stages
produced."""

from __future__ import annotations

from perfaudit.findings import Finding, Fix
from perfaudit.rules.advisor.advice import Advice, StatementResult, Suggestion
from perfaudit.rules.advisor.choice import Trial, choose, write_cost
from perfaudit.rules.advisor.coverage import is_prefix, redundant_with
from perfaudit.rules.advisor.excerpt import where_it_reads
from perfaudit.rules.advisor.facts import Candidate
from perfaudit.rules.advisor.naming import create_operation
from perfaudit.rules.advisor.propose import Proposal
from perfaudit.snapshots.advisor import AdvisorSnapshot, Verification


def best_unverified(cands: list[Candidate]) -> list[Candidate]:
    """Without the planner, one candidate per statement: the widest of its B-trees (equality
    then sort/range), plus its GIN candidates; prefixes of a kept one are dropped."""
    kept: list[Candidate] = []
    for cand in sorted(cands, key=lambda c: (-len(c.statements), -len(c.keys))):
        if any(is_prefix(cand, k) and cand.statements <= k.statements for k in kept):
            continue
        if cand.using == "btree" and any(
            k.using == "btree" and k.table == cand.table and cand.statements <= k.statements
            for k in kept
        ):
            continue
        kept.append(cand)
    return kept


def _restored(cand: Candidate, proposal: Proposal):
    """(sql, operation) of auditindexes' own fix restoring a declared index."""
    fix = proposal.audit.restorable[(cand.table, cand.restore)]
    return fix.sql, (fix.operations[0] if fix.operations else None)


def _suggestion(
    number, proposal, snapshot, *, statements, verified_by, size, note=None, plans=None
):
    cand, name = proposal.candidates[number], proposal.names[number]
    table, model = snapshot.tables[cand.table], snapshot.models.get(cand.table)
    sql = cand.create_sql(name) + ";"
    needs = None
    trigram = any(k.opclass == "gin_trgm_ops" for k in cand.keys)
    if trigram and not snapshot.extensions.pg_trgm_installed:
        needs, sql = "pg_trgm", "CREATE EXTENSION IF NOT EXISTS pg_trgm;\n" + sql
    operation = create_operation(cand, model, name) if model else None
    if cand.restore:
        sql, operation = _restored(cand, proposal)
    costs_before = [s["cost_before"] for s in statements if s["cost_before"] is not None]
    costs_after = [s["cost_after"] for s in statements if s["cost_after"] is not None]
    return Suggestion(
        table=cand.table,
        columns=[("-" if k.descending else "") + k.text for k in cand.keys],
        using=cand.using,
        where=cand.where_sql,
        expression=cand.expression,
        name=name,
        cost_before=sum(costs_before) if costs_before else None,
        cost_after=sum(costs_after) if verified_by and costs_after else None,
        statements=statements,
        write_cost=write_cost(cand, table, size_bytes=size, size_source=verified_by),
        verified=verified_by is not None,
        verified_by=verified_by,
        sql=sql,
        replaces=redundant_with(cand, table.indexes),
        needs_extension=needs,
        note=note,
        operation=operation,
        model=model.model.object_name if model else None,
        candidate=cand,
        restore=cand.restore,
        plans=plans or {},
    )


def _trials(verification: Verification, min_cost: float) -> list[Trial]:
    before = verification.before
    return [
        Trial(t.candidate, number, before[number].cost, plan.cost, t.index_name in plan.index_names)
        for t in verification.trials
        for number, plan in t.plans.items()
        if before[number].cost >= min_cost
    ]


def _why_unverified(cand: Candidate, problems, snapshot, conf) -> str | None:
    if problems:
        return "; ".join(problems)
    if conf is None:
        return None
    size = snapshot.tables[cand.table].size_bytes
    return (
        f"no HypoPG here, and {cand.table} ({size / 1048576:,.1f} MB) is over "
        f"ADVISOR_BUILD_MAX_BYTES ({conf.ADVISOR_BUILD_MAX_BYTES / 1048576:,.1f} MB): "
        "adviseindexes --allow-build verifies it by a rolled-back build"
    )


def suggestions(
    proposal: Proposal, verification: Verification, snapshot, *, min_reduction, conf=None
):
    """The chosen verified indexes first, then the unverified candidates worth printing."""
    min_cost = conf.ADVISOR_MIN_COST if conf else 0.0
    candidates, before = list(proposal.candidates), verification.before
    sqls = {s.number: s.statement.sql for s in proposal.statements}
    tried = {t.candidate: t for t in verification.trials}
    result = []
    chosen = choose(candidates, _trials(verification, min_cost), min_reduction=min_reduction)
    for cand, won in chosen:
        number = candidates.index(cand)
        statements = [
            {"number": t.statement, "sql": sqls[t.statement], "cost_before": t.cost_before}
            | {"cost_after": t.cost_after}
            | where_it_reads(sqls[t.statement], cand)
            for t in won
        ]
        trial = tried[number]
        result.append(
            _suggestion(
                number,
                proposal,
                snapshot,
                statements=statements,
                verified_by=trial.verified_by,
                size=trial.size_bytes,
                plans={
                    t.statement: (before[t.statement].document, trial.plans[t.statement].document)
                    for t in won
                },
            )
        )
    chosen_ids = {id(c) for c, _t in chosen}
    worth = {n for n, plan in before.items() if plan.cost >= min_cost}
    unverified = [
        c
        for i, c in enumerate(candidates)
        if i not in tried and id(c) not in chosen_ids and c.statements & worth
    ]
    for cand in best_unverified(unverified):
        number = candidates.index(cand)
        statements = [
            {"number": n, "sql": sqls[n], "cost_before": before[n].cost, "cost_after": None}
            | where_it_reads(sqls[n], cand)
            for n in sorted(cand.statements & worth)
        ]
        problems = verification.trial_errors.get(number) or ()
        result.append(
            _suggestion(
                number,
                proposal,
                snapshot,
                statements=statements,
                verified_by=None,
                size=None,
                note=_why_unverified(cand, problems, snapshot, conf),
            )
        )
    return result


def _note(proposed, verification, suggested, candidates, min_reduction, min_cost) -> str | None:
    number = proposed.number
    if proposed.note or number in verification.explain_errors:
        return proposed.note or verification.explain_errors[number]
    if number in suggested:
        return None
    if proposed.served_by:
        return "already served by " + ", ".join(proposed.served_by)
    cost = verification.before[number].cost if number in verification.before else None
    if cost is not None and cost < min_cost:
        return (
            f"its plan costs {cost:,.1f}, under ADVISOR_MIN_COST ({min_cost:,.0f}): nothing "
            "for an index to save"
        )
    if proposed.condemned:
        name, why = proposed.condemned[0]
        return (
            f"{name} would serve it, but auditindexes proposes dropping it ({why}); if this "
            "statement matters, keep it and acknowledge that finding"
        )
    if proposed.parameterized and not any(number in c.statements for c in candidates):
        return (
            "it compares an expression holding a parameter ($n: pg_stat_statements removed the "
            "value): no index stores a value given per call; advise on it with its values "
            "(--sql with constants, or --url)"
        )
    if not any(number in c.statements for c in candidates):
        return "no index can help (its conditions keep too much of the table)"
    return (
        f"no candidate lowered the plan cost by {min_reduction:.0%} or more "
        "(an existing index already serves it, or the table is too small)"
    )


def _finding(sug: Suggestion, threshold: float) -> Finding:
    cols = ", ".join(sug.columns)
    where = f" WHERE {sug.where}" if sug.where else ""
    what = f"{sug.using} ({cols}){where}"
    if sug.restore:
        what = (
            f"restore {sug.restore} ({sug.using} ({cols}), declared on {sug.model or sug.table} "
            "and missing from this database)"
        )
    if sug.verified:
        message = (
            f"{what} lowers the plan cost of {len(sug.statements)} "
            f"statement(s) from {sug.cost_before:,.1f} to {sug.cost_after:,.1f} "
            f"({sug.reduction:.0%}, verified with {sug.verified_by})"
        )
    else:
        message = (
            f"{what} may serve {len(sug.statements)} statement(s) (unverified: the planner "
            f"was not asked{': ' + sug.note if sug.note else ''})"
        )
    if sug.replaces:
        message += f"; makes {', '.join(sug.replaces)} redundant"
    return Finding(
        kind="missing_index",
        severity="warning" if sug.verified else "info",
        table=sug.table,
        object=sug.name,
        message=message,
        evidence={
            "cost_before": sug.cost_before,
            "cost_after": sug.cost_after,
            "min_cost_reduction": threshold,
            "statements": [s["sql"] for s in sug.statements],
            "write_cost": sug.write_cost,
        },
        fix=Fix(sql=sug.sql, operations=(sug.operation,) if sug.operation else ()),
    )


def _statements_missing(snapshot: AdvisorSnapshot) -> list[Finding]:
    status = snapshot.statements_status
    if status is None or status.usable:
        return []
    return [
        Finding(
            kind="pg_stat_statements_missing",
            severity="info",
            table=None,
            object="pg_stat_statements",
            message="no top statements to advise on: " + status.how_to_enable(),
        )
    ]


def decide(
    proposal: Proposal,
    verification: Verification,
    snapshot: AdvisorSnapshot,
    *,
    min_reduction: float,
    conf=None,
) -> Advice:
    """``conf``: ADVISOR_MIN_COST (cheaper statements get no suggestion) and the wording of
    why a candidate went unverified; without it, every planned statement counts."""
    min_cost = conf.ADVISOR_MIN_COST if conf else 0.0
    found = suggestions(proposal, verification, snapshot, min_reduction=min_reduction, conf=conf)
    suggested = {s["number"] for sug in found for s in sug.statements}
    results = []
    for proposed in proposal.statements:
        statement, planned = proposed.statement, proposed.number in verification.before
        results.append(
            StatementResult(
                proposed.number,
                statement.sql,
                statement.source,
                statement.calls,
                statement.total_ms,
                cost_before=verification.before[proposed.number].cost if planned else None,
                generic_plan=proposed.nparams > 0 and not proposed.note,
                served_by=list(proposed.served_by),
                note=_note(
                    proposed, verification, suggested, proposal.candidates, min_reduction, min_cost
                ),
            )
        )
    findings = [*_statements_missing(snapshot), *(_finding(s, min_reduction) for s in found)]
    return Advice(statements=tuple(results), suggestions=tuple(found), findings=tuple(findings))
