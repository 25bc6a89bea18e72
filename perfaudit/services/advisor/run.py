"""advise_indexes: collect -> candidates (pure rules) -> what-if (rolled back) -> report."""

from __future__ import annotations

from dataclasses import replace

from django.db import DatabaseError

from perfaudit import gate, sandbox, sqltext
from perfaudit.catalog import advisor as catalog
from perfaudit.catalog import server
from perfaudit.conf import get_settings
from perfaudit.errors import ServiceError
from perfaudit.findings import Finding
from perfaudit.rules import advisor as rules
from perfaudit.rules import origin as origins
from perfaudit.sandbox import rolled_back
from perfaudit.services.advisor.inputs import (
    _advisable_entry,
    _attempt,
    _best_unverified,
    _build_sql,
    _capture_url,
    _savepoint,
)
from perfaudit.services.advisor.migration import _model_index, index_name, write_migration_file
from perfaudit.services.advisor.report import ADVISABLE, AdvisorReport, StatementResult, Suggestion
from perfaudit.services.advisor.suggest import _finding, _suggestion
from perfaudit.services.base import envelope, get_connection

# --- the advisor -----------------------------------------------------------------------------


def advise_indexes(
    *,
    using: str = "default",
    sqls: list[str] | tuple[str, ...] = (),
    urls: list[str] | tuple[str, ...] = (),
    username: str | None = None,
    top: int | None = None,
    min_calls: int = 1,
    allow_build: bool = False,
    min_cost_reduction: float | None = None,
    select_only: bool = False,
    write_migration: str | None = None,
    timeout_ms: int | None = None,
) -> AdvisorReport:
    """Suggest indexes for the given statements (and/or pg_stat_statements' top ``top`` by
    total time), verified by the planner when HypoPG or ``allow_build`` allows."""
    conf = get_settings()
    threshold = (
        conf.ADVISOR_MIN_COST_REDUCTION if min_cost_reduction is None else min_cost_reduction
    )
    if not 0 < threshold < 1:
        raise ServiceError(f"--min-cost-reduction must be between 0 and 1, got {threshold}")
    if top is None:
        top = 0 if (sqls or urls) else conf.ADVISOR_TOP_STATEMENTS
    if top < 0:
        raise ServiceError(f"--top must be 0 or more, got {top}")
    connection = get_connection(using)
    info = server.server_info(connection)
    ext = catalog.extensions(connection)
    mode = "hypopg" if ext.hypopg_installed else ("build" if allow_build else "unverified")
    allowed = {"SELECT", "WITH"} if select_only else ADVISABLE

    inputs: list[catalog.AdvisorStatement] = []
    for sql in sqls:
        # Typed statements: through the gate, and planned as SQL_ROLE below.
        gate.check(connection, sql, allowed=allowed)
        inputs.append(catalog.AdvisorStatement(sql=sql, source="sql"))
    for url in urls:
        inputs.extend(_capture_url(connection, url, username))
    findings: list[Finding] = []
    status = None
    if top:
        # Utility statements, catalog queries and the profiler's bookkeeping (silk's tables)
        # fill the top of pg_stat_statements too: read more, keep the first ``top`` application
        # statements (the origins the Queries page shows by default, rules/origin.py).
        prefixes = tuple(get_settings().PROFILER_TABLE_PREFIXES)
        status, top_rows = catalog.top_statements(connection, limit=top * 10, min_calls=min_calls)
        top_rows = [
            r
            for r in top_rows
            if _advisable_entry(r.sql)
            and origins.classify(r.sql, profiler_prefixes=prefixes) == origins.APP
        ][:top]
        if not status.usable:
            findings.append(
                Finding(
                    kind="pg_stat_statements_missing",
                    severity="info",
                    table=None,
                    object="pg_stat_statements",
                    message="no top statements to advise on: " + status.how_to_enable(),
                )
            )
        inputs.extend(top_rows)

    results: list[StatementResult] = []
    parsed: dict[int, list[rules.Access]] = {}
    table_names: list[str] = []
    prepared: list[tuple[StatementResult, str]] = []
    for number, item in enumerate(inputs):
        result = StatementResult(number, item.sql, item.source, item.calls, item.total_ms)
        results.append(result)
        if item.source == "pg_stat_statements" and sqltext.first_keyword(item.sql) not in ADVISABLE:
            result.note = "not a SELECT, UPDATE or DELETE"
            continue
        try:
            table_names += rules.referenced_tables(item.sql)
        except rules.AdvisorInputError as exc:
            if item.source == "sql":
                raise ServiceError(str(exc)) from None
            result.note = str(exc)
            continue
        prepared.append((result, item.sql))
    facts = catalog.table_facts(connection, table_names)

    nparams: dict[int, int] = {}
    for result, sql in prepared:
        refs = rules.referenced_tables(sql)
        if not any(t in facts for t in refs) or any(t.startswith("pg_") for t in refs):
            result.note = "reads no table of this schema"
            continue
        if result.source == "pg_stat_statements" and any(t.startswith("hypopg") for t in refs):
            result.note = "HypoPG's own catalog"
            continue
        try:
            parsed[result.number] = rules.analyze_statement(sql, facts)
            nparams[result.number] = rules.max_param(sql)
        except rules.AdvisorInputError as exc:
            result.note = str(exc)
    numbers = sorted(parsed)
    candidates, served = rules.evaluate([parsed[n] for n in numbers], facts, conf)
    # generate() numbers statements by position in the list it was given: map back.
    candidates = [
        replace(c, statements=frozenset(numbers[i] for i in c.statements)) for c in candidates
    ]
    served = {numbers[i]: names for i, names in served.items()}
    by_number = {r.number: r for r in results}
    for number, names in served.items():
        by_number[number].served_by = sorted(set(names))

    plan_kw = {"pg_version": info.version_num}
    suggestions: list[Suggestion] = []
    models = _model_index(connection)
    try:
        timeout = timeout_ms or conf.STATEMENT_TIMEOUT_MS
        with rolled_back(connection, timeout_ms=timeout) as cursor:
            if ext.hypopg_installed:
                cursor.execute("SELECT hypopg_reset()")
            before: dict[int, sandbox.Plan] = {}
            for number in numbers:
                result = by_number[number]
                result.generic_plan = nparams[number] > 0
                role = conf.SQL_ROLE if result.source == "sql" else None
                try:
                    with _savepoint(connection), sandbox.as_role(cursor, role):
                        before[number] = sandbox.plan_cost(
                            cursor, result.sql, nparams=nparams[number], **plan_kw
                        )
                    result.cost_before = before[number].cost
                except DatabaseError as exc:
                    result.note = f"EXPLAIN failed: {gate.describe(exc, role=role)}"
            trials: list[rules.Trial] = []
            trial_info: dict[int, sandbox.TrialResult] = {}
            trial_errors: dict[int, list[str]] = {}
            verified_by: dict[int, str | None] = {}
            for index, cand in enumerate(candidates):
                targets = {
                    n: (by_number[n].sql, nparams[n])
                    for n in sorted(cand.statements)
                    if n in before
                }
                if not targets:
                    continue
                name = index_name(cand, models.get(cand.table))
                trial = None
                errors = trial_errors.setdefault(index, [])
                # HypoPG plans B-trees (and hash/BRIN); GIN needs a real build.
                if mode == "hypopg" and cand.using == "btree":
                    trial = _attempt(
                        lambda c=cand, t=targets: sandbox.try_hypothetical(
                            connection,
                            cursor,
                            c.create_sql("hypo", concurrently=False),
                            t,
                            **plan_kw,
                        ),
                        errors,
                        "HypoPG",
                    )
                    verified_by[index] = "hypopg" if trial else None
                if trial is None and allow_build:
                    trial = _attempt(
                        lambda c=cand, t=targets, n=name: sandbox.try_built(
                            connection, cursor, _build_sql(c, n, ext), n, t, **plan_kw
                        ),
                        errors,
                        "trial build",
                    )
                    verified_by[index] = "build" if trial else None
                if trial is None:
                    continue
                trial_info[index] = trial
                for number, plan in trial.plans.items():
                    trials.append(
                        rules.Trial(
                            index,
                            number,
                            before[number].cost,
                            plan.cost,
                            trial.index_name in plan.index_names,
                        )
                    )
    except DatabaseError as exc:
        raise ServiceError(f"what-if failed: {gate.describe(exc)}") from None

    chosen = rules.choose(candidates, trials, min_reduction=threshold)
    chosen_ids = {id(c) for c, _t in chosen}
    for cand, won in chosen:
        index = candidates.index(cand)
        trial = trial_info[index]
        suggestions.append(
            _suggestion(
                cand,
                facts[cand.table],
                models.get(cand.table),
                ext,
                statements=[
                    {
                        "number": t.statement,
                        "sql": by_number[t.statement].sql,
                        "cost_before": t.cost_before,
                        "cost_after": t.cost_after,
                    }
                    for t in won
                ],
                verified_by=verified_by.get(index),
                size=trial.size_bytes,
            )
        )
    # Candidates nobody could verify are printed as such (never as verified advice).
    tried = set(trial_info)
    unverified = [
        c
        for i, c in enumerate(candidates)
        if i not in tried and id(c) not in chosen_ids and any(n in before for n in c.statements)
    ]
    for cand in _best_unverified(unverified):
        problems = trial_errors.get(candidates.index(cand)) or []
        suggestions.append(
            _suggestion(
                cand,
                facts[cand.table],
                models.get(cand.table),
                ext,
                statements=[
                    {
                        "number": n,
                        "sql": by_number[n].sql,
                        "cost_before": by_number[n].cost_before,
                        "cost_after": None,
                    }
                    for n in sorted(cand.statements)
                    if n in before
                ],
                verified_by=None,
                size=None,
            )
        )
        suggestions[-1].note = "; ".join(problems) or None
    suggested = {s["number"] for sug in suggestions for s in sug.statements}
    for number in numbers:
        result = by_number[number]
        if number in suggested or result.note:
            continue
        if result.served_by:
            result.note = "already served by " + ", ".join(result.served_by)
        elif not any(number in c.statements for c in candidates):
            result.note = "no index can help (its conditions keep too much of the table)"
        else:
            result.note = (
                f"no candidate lowered the plan cost by {threshold:.0%} or more "
                "(an existing index already serves it, or the table is too small)"
            )

    for sug in suggestions:
        findings.append(_finding(sug, threshold))
    report = AdvisorReport(
        **envelope(connection, info, findings),
        mode=mode,
        min_cost_reduction=threshold,
        suggestions=suggestions,
        statements=results,
        hypopg={"installed": ext.hypopg_installed, "available": ext.hypopg_available},
        pg_stat_statements_usable=status.usable if status else None,
    )
    if write_migration:
        report.written = write_migration_file(write_migration, suggestions, using=using)
    return report
