"""adviseindexes: collect -> candidates (pure rules) -> what-if (rolled back) -> one typed report.

The command, the admin's Advisor page and ``--format json`` all come from ``advise_indexes``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any

from django.db import DatabaseError

from perfaudit import recording, sandbox, sqltext
from perfaudit.catalog import advisor as catalog
from perfaudit.catalog import declared, server
from perfaudit.conf import get_settings
from perfaudit.errors import ServiceError
from perfaudit.errors import one_line as _one_line
from perfaudit.findings import Finding, Fix, Report
from perfaudit.rules import advisor as rules
from perfaudit.sandbox import check_statement, rolled_back
from perfaudit.services.base import envelope, get_connection

#: Statements the advisor plans. Plain EXPLAIN (never ANALYZE) executes none of them.
ADVISABLE = {"SELECT", "WITH", "UPDATE", "DELETE"}
MODES = ("hypopg", "build", "unverified")


@dataclass
class StatementResult:
    number: int
    sql: str
    source: str
    calls: int | None = None
    total_ms: float | None = None
    cost_before: float | None = None
    generic_plan: bool = False
    #: Existing indexes that already cover a candidate for it (nothing to suggest).
    served_by: list[str] = field(default_factory=list)
    #: Why it got no suggestion, or why it was not analyzed.
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Suggestion:
    table: str
    columns: list[str]
    using: str
    where: str | None
    expression: str | None
    name: str
    cost_before: float | None
    cost_after: float | None
    statements: list[dict]
    write_cost: dict
    verified: bool
    verified_by: str | None
    sql: str
    migration: dict | None
    replaces: list[str] = field(default_factory=list)
    needs_extension: str | None = None
    #: Why an unverified candidate could not be verified (e.g. a trial build hit the timeout).
    note: str | None = None
    #: The rules' candidate it came from (not part of the JSON contract).
    candidate: rules.Candidate | None = field(default=None, repr=False)

    @property
    def reduction(self) -> float | None:
        if self.cost_before and self.cost_after is not None:
            return 1 - self.cost_after / self.cost_before
        return None

    def to_dict(self) -> dict[str, Any]:
        document = {k: v for k, v in self.__dict__.items() if k != "candidate"}
        return document | {"reduction": self.reduction}


@dataclass(kw_only=True)
class AdvisorReport(Report):
    mode: str = "unverified"
    min_cost_reduction: float = 0.5
    suggestions: list[Suggestion] = field(default_factory=list)
    statements: list[StatementResult] = field(default_factory=list)
    written: str | None = None
    hypopg: dict[str, bool] = field(default_factory=dict)
    pg_stat_statements_usable: bool | None = None

    def payload(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "min_cost_reduction": self.min_cost_reduction,
            "hypopg": self.hypopg,
            "pg_stat_statements_usable": self.pg_stat_statements_usable,
            "suggestions": [s.to_dict() for s in self.suggestions],
            "statements": [s.to_dict() for s in self.statements],
            "written_migration": self.written,
        }


# --- input -----------------------------------------------------------------------------------


def _capture_url(connection, url: str, username: str | None) -> list[catalog.AdvisorStatement]:
    """The statements one GET runs, recorded by perfaudit's one recorder in a rolled-back
    transaction (as ``explain --url``), each with its parameters inlined (the driver's own
    quoting) so the planner sees the values."""
    from django.conf import settings
    from django.test.utils import override_settings

    from perfaudit.services.explain import _client_for

    if not url.startswith("/"):
        raise ServiceError(f"--url must be a path starting with '/', got {url!r}")
    recorder = recording.QueryRecorder()
    with rolled_back(connection, timeout_ms=get_settings().STATEMENT_TIMEOUT_MS):
        client = _client_for(username)
        with (
            override_settings(ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]),
            recorder.installed([connection.alias]),
        ):
            client.get(url, secure=bool(settings.SECURE_SSL_REDIRECT))
        result = []
        for query in recorder.queries:
            if query.many or sqltext.first_keyword(query.sql) not in ADVISABLE:
                continue
            params = query.params
            text = connection.ops.compose_sql(query.sql, params) if params else query.sql
            result.append(catalog.AdvisorStatement(sql=text, source=f"url {url}"))
    return result


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
        check_statement(sql, allowed=allowed)
        inputs.append(catalog.AdvisorStatement(sql=sql, source="sql"))
    for url in urls:
        inputs.extend(_capture_url(connection, url, username))
    findings: list[Finding] = []
    status = None
    if top:
        # Utility statements (EXPLAIN, CREATE INDEX, COPY) and catalog queries fill the top of
        # pg_stat_statements too: read more, keep the first ``top`` the advisor can judge.
        status, top_rows = catalog.top_statements(connection, limit=top * 3, min_calls=min_calls)
        top_rows = [r for r in top_rows if _advisable_entry(r.sql)][:top]
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
                try:
                    with _savepoint(connection):
                        before[number] = sandbox.plan_cost(
                            cursor, result.sql, nparams=nparams[number], **plan_kw
                        )
                    result.cost_before = before[number].cost
                except DatabaseError as exc:
                    result.note = f"EXPLAIN failed: {_one_line(exc)}"
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
        raise ServiceError(f"what-if failed: {_one_line(exc)}") from None

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


def _advisable_entry(sql: str) -> bool:
    if sqltext.first_keyword(sql) not in ADVISABLE:
        return False
    try:
        tables = rules.referenced_tables(sql)
    except rules.AdvisorInputError:
        return True  # listed, with the parser's reason
    return bool(tables) and not any(
        t.startswith(("pg_", "hypopg")) or t == "information_schema" for t in tables
    )


def _savepoint(connection):
    from django.db import transaction

    return transaction.atomic(using=connection.alias)


def _attempt(trial, errors: list, label: str):
    try:
        return trial()
    except DatabaseError as exc:
        errors.append(f"{label}: {_one_line(exc)}")
        return None


def _best_unverified(cands: list[rules.Candidate]) -> list[rules.Candidate]:
    """Without the planner, one candidate per statement: the widest of its B-trees (equality
    then sort/range), plus its GIN candidates; prefixes of a kept one are dropped."""
    kept: list[rules.Candidate] = []
    for cand in sorted(cands, key=lambda c: (-len(c.statements), -len(c.keys))):
        if any(rules.is_prefix(cand, k) and cand.statements <= k.statements for k in kept):
            continue
        if cand.using == "btree" and any(
            k.using == "btree" and k.table == cand.table and cand.statements <= k.statements
            for k in kept
        ):
            continue
        kept.append(cand)
    return kept


def _build_sql(cand: rules.Candidate, name: str, ext: catalog.Extensions) -> list[str]:
    """The statements of a real trial build (rolled back with it, the extension included)."""
    sql = [cand.create_sql(name, concurrently=False)]
    if any(k.opclass == "gin_trgm_ops" for k in cand.keys) and not ext.pg_trgm_installed:
        sql.insert(0, "CREATE EXTENSION IF NOT EXISTS pg_trgm")
    return sql


def index_name(cand: rules.Candidate, model=None) -> str:
    """Django's naming (table[:11]_column[:7]_hash6_suffix, at most 30 characters), also for
    tables no model owns, so the SQL and the migration agree."""
    from django.db.backends.utils import names_digest, split_identifier

    _, table = split_identifier(model._meta.db_table) if model is not None else ("", cand.table)
    if model is not None and _django_fields(cand, model) is not None and not cand.where:
        index = _django_index(cand, model)
        if index is not None and index.fields:
            return index.name
    first = next((k.column for k in cand.keys if k.column), None) or _first_word(cand.keys[0])
    parts = [table, *(("-" if k.descending else "") + k.text for k in cand.keys)]
    parts += [k.opclass or "" for k in cand.keys] + [cand.where_sql or "", cand.using]
    suffix = "idx" if cand.using == "btree" else cand.using[:3]
    name = f"{table[:11]}_{first[:7]}_{names_digest(*parts, length=6)}_{suffix}"
    return "D" + name[1:] if name[0] == "_" or name[0].isdigit() else name


def _first_word(key: rules.Key) -> str:
    text = key.expression or key.column or "expr"
    for ref in rules.referenced_columns(text):
        return ref
    return "expr"


# --- migrations --------------------------------------------------------------------------------


def _model_index(connection) -> dict[str, Any]:
    """Table -> model, for models a project migration can change (not contrib / packages)."""
    from django.apps import apps

    schema = declared.collect(connection)
    return {
        table: apps.get_model(ref.app_label, ref.model_name)
        for table, ref in schema.models.items()
        if table not in schema.unactionable
    }


def _django_fields(cand: rules.Candidate, model) -> list[str] | None:
    by_column = {f.column: f.name for f in model._meta.concrete_fields}
    names = []
    for key in cand.keys:
        if key.column is None or key.column not in by_column:
            return None
        names.append(("-" if key.descending else "") + by_column[key.column])
    return names


def _condition(cand: rules.Candidate, model):
    from django.db.models import Q

    by_column = {f.column: f.name for f in model._meta.concrete_fields}
    q = Q()
    for pred in cand.where:
        field_name = by_column.get(pred.column)
        if field_name is None:
            return False
        if pred.op == "IS NULL":
            q &= Q(**{f"{field_name}__isnull": True})
        elif pred.op == "IS NOT NULL":
            q &= Q(**{f"{field_name}__isnull": False})
        else:
            q &= Q(**{field_name: pred.value})
    return q if cand.where else None


def _expression(key: rules.Key, model):
    """A Django expression for upper(col) / lower(col) keys; None for anything else."""
    from django.db.models import F
    from django.db.models.functions import Lower, Upper

    func, column = rules.simple_function(key.expression)
    if func not in {"upper", "lower"}:
        return None
    by_column = {f.column: f.name for f in model._meta.concrete_fields}
    if column not in by_column:
        return None
    return (Upper if func == "upper" else Lower)(F(by_column[column]))


def _django_index(cand: rules.Candidate, model):
    """The Index object for Meta.indexes, or None when Django cannot express it (RunSQL)."""
    from django.contrib.postgres.indexes import GinIndex, OpClass
    from django.db import models as m

    condition = _condition(cand, model)
    if condition is False:
        return None
    kwargs = {"condition": condition} if condition is not None else {}
    fields = _django_fields(cand, model)
    if cand.using == "btree" and fields is not None:
        opclasses = [k.opclass for k in cand.keys]
        if any(opclasses):
            if not all(opclasses):
                return None
            kwargs["opclasses"] = opclasses
        index = m.Index(fields=fields, name="x", **kwargs)
        index.set_name_with_model(model)
        if cand.where:
            # Django's name hashes the fields only: a partial index needs its predicate in
            # the hash too, or it would collide with a plain index on the same fields.
            index.name = index_name(cand, None)
        return index
    expressions = []
    for key in cand.keys:
        if key.column is not None:
            by_column = {f.column: f.name for f in model._meta.concrete_fields}
            if key.column not in by_column:
                return None
            expr = m.F(by_column[key.column])
        else:
            expr = _expression(key, model)
            if expr is None:
                return None
        if key.opclass:
            expr = OpClass(expr, name=key.opclass)
        elif key.descending:
            expr = expr.desc()
        expressions.append(expr)
    cls = GinIndex if cand.using == "gin" else m.Index
    if cand.using not in {"gin", "btree"}:
        return None
    return cls(*expressions, name=index_name(cand, None), **kwargs)


def migration_for(cand: rules.Candidate, model, name: str, sql: str) -> dict:
    """Ready to paste: the Meta.indexes entry and the operation for a non-atomic migration."""
    from django.db.migrations.writer import MigrationWriter

    index = _django_index(cand, model)
    app_label, model_name = model._meta.app_label, model._meta.model_name
    if index is not None:
        index.name = name
        entry, imports = MigrationWriter.serialize(index)
        operation = f"AddIndexConcurrently(model_name={model_name!r}, index={entry})"
        imports = sorted(
            imports | {"from django.contrib.postgres.operations import AddIndexConcurrently"}
        )
    else:
        entry = None
        drop = f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"'
        operation = f"RunSQL(sql={sql!r}, reverse_sql={drop!r})"
        imports = ["from django.db import migrations"]
    return {
        "app_label": app_label,
        "model": model.__name__,
        "meta_index": entry,
        "operation": operation,
        "imports": imports,
        "atomic": False,
        "note": (
            f"add the entry to {model.__name__}.Meta.indexes (so makemigrations agrees), "
            "then the operation in a migration with atomic = False"
            if entry
            else "Django cannot declare this expression in Meta.indexes: a RunSQL migration "
            "(atomic = False) creates it"
        ),
    }


def _suggestion(cand, table, model, ext, *, statements, verified_by, size) -> Suggestion:
    name = index_name(cand, model)
    sql = cand.create_sql(name) + ";"
    needs = None
    if any(k.opclass == "gin_trgm_ops" for k in cand.keys) and not ext.pg_trgm_installed:
        needs = "pg_trgm"
        sql = "CREATE EXTENSION IF NOT EXISTS pg_trgm;\n" + sql
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
        write_cost=rules.write_cost(cand, table, size_bytes=size, size_source=verified_by),
        verified=verified_by is not None,
        verified_by=verified_by,
        sql=sql,
        migration=migration_for(cand, model, name, cand.create_sql(name)) if model else None,
        replaces=rules.redundant_with(cand, table.indexes),
        needs_extension=needs,
        candidate=cand,
    )


def _finding(sug: Suggestion, threshold: float) -> Finding:
    cols = ", ".join(sug.columns)
    where = f" WHERE {sug.where}" if sug.where else ""
    if sug.verified:
        message = (
            f"{sug.using} ({cols}){where} lowers the plan cost of {len(sug.statements)} "
            f"statement(s) from {sug.cost_before:,.1f} to {sug.cost_after:,.1f} "
            f"({sug.reduction:.0%}, verified with {sug.verified_by})"
        )
    else:
        message = (
            f"{sug.using} ({cols}){where} may serve {len(sug.statements)} statement(s) "
            "(unverified: no HypoPG, no --allow-build)"
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
        fix=Fix(sql=sug.sql, migration=(sug.migration or {}).get("operation")),
    )


def write_migration_file(app_label: str, suggestions: list[Suggestion], *, using: str) -> str:
    """Write the suggestions for APP's models as its next migration (atomic = False), on top of
    the app's current leaf migration. Returns the file path."""
    from django.apps import apps
    from django.db import connections, migrations
    from django.db.migrations.loader import MigrationLoader
    from django.db.migrations.writer import MigrationWriter

    try:
        apps.get_app_config(app_label)
    except LookupError:
        raise ServiceError(f"--write-migration: no installed app {app_label!r}") from None
    loader = MigrationLoader(connections[using], ignore_no_migrations=True)
    if app_label not in loader.migrated_apps:
        raise ServiceError(f"--write-migration: app {app_label!r} has no migrations")
    leaves = loader.graph.leaf_nodes(app_label)
    state = loader.project_state()
    mine = [s for s in suggestions if s.migration and s.migration["app_label"] == app_label]
    if not mine:
        return None
    operations = []
    from django.contrib.postgres.operations import AddIndexConcurrently

    for sug in mine:
        model = apps.get_model(app_label, sug.migration["model"])
        model_state = state.models.get((app_label, model._meta.model_name))
        if model_state is None:
            raise ServiceError(
                f"--write-migration: {model.__name__} is not in {app_label}'s migrations yet "
                "(run makemigrations first)"
            )
        cand = _candidate_of(sug)
        index = _django_index(cand, model)
        if index is not None:
            missing = [
                f.lstrip("-") for f in index.fields if f.lstrip("-") not in model_state.fields
            ]
            if missing:
                raise ServiceError(
                    f"--write-migration: {', '.join(missing)} not in {app_label}'s migration "
                    "state (run makemigrations first)"
                )
            index.name = sug.name
            operations.append(AddIndexConcurrently(model_name=model._meta.model_name, index=index))
        else:
            operations.append(
                migrations.RunSQL(
                    sql=sug.sql.splitlines()[-1],
                    reverse_sql=f'DROP INDEX CONCURRENTLY IF EXISTS "{sug.name}";',
                )
            )
    number = max((int(n.split("_", 1)[0]) for _a, n in leaves if n[:4].isdigit()), default=0) + 1
    migration = migrations.Migration(f"{number:04d}_adviseindexes", app_label)
    migration.dependencies = list(leaves)
    migration.operations = operations
    writer = MigrationWriter(migration)
    text = writer.as_string().replace(
        "class Migration(migrations.Migration):\n",
        "class Migration(migrations.Migration):\n"
        "    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.\n"
        "    atomic = False\n",
        1,
    )
    os.makedirs(os.path.dirname(writer.path), exist_ok=True)
    if os.path.exists(writer.path):
        raise ServiceError(f"--write-migration: {writer.path} exists already")
    with open(writer.path, "w") as fh:
        fh.write(text)
    return writer.path


def _candidate_of(sug: Suggestion) -> rules.Candidate:
    return sug.candidate


# --- admin -------------------------------------------------------------------------------------


def advisor_page(
    *, using: str = "default", sql: str | None = None, timeout_ms: int | None = None
) -> AdvisorReport:
    """The admin page: one statement (queries only) or the top statements. HypoPG or
    unverified, never a build: a web request must not take a table lock."""
    if sql:
        return advise_indexes(using=using, sqls=[sql], select_only=True, timeout_ms=timeout_ms)
    return advise_indexes(using=using, timeout_ms=timeout_ms)
