"""perfaudit's service layer: one function per report, used by the commands (and the admin).

Each returns a ``Report``; renderers decide between tables and JSON. ``ServiceError`` carries a
one-line, user-facing message (bad input, unreachable database) and never a traceback.
"""

from __future__ import annotations

import statistics
import time
from contextlib import contextmanager
from dataclasses import asdict, replace

from django.db import DatabaseError, connections, transaction
from django.db.utils import ConnectionDoesNotExist
from django.utils import timezone

from perfaudit import declared, sqltext
from perfaudit.catalog import (
    activity,
    constraints,
    indexes,
    locks,
    sequences,
    server,
    statements,
    tables,
    wraparound,
)
from perfaudit.conf import acknowledgements as conf_acknowledgements
from perfaudit.conf import get_settings
from perfaudit.findings import Finding, Fix, Report, acknowledge
from perfaudit.rules import constraints as constraint_rules
from perfaudit.rules import drift, plans
from perfaudit.rules import indexes as index_rules
from perfaudit.rules import locks as lock_rules
from perfaudit.rules import sequences as sequence_rules
from perfaudit.rules import statements as statement_rules
from perfaudit.rules import tables as table_rules
from perfaudit.rules import wraparound as wraparound_rules

#: Statements EXPLAIN accepts. Without ANALYZE none of them executes.
EXPLAINABLE = {"SELECT", "WITH", "VALUES", "TABLE", "INSERT", "UPDATE", "DELETE", "MERGE"}
READ_ONLY = {"SELECT", "VALUES", "TABLE"}
#: What the admin's EXPLAIN form accepts: queries only (WITH runs in a read-only transaction).
SELECT_ONLY = READ_ONLY | {"WITH"}


class ServiceError(Exception):
    """A problem the user must fix (bad input, unreachable database): one line, no traceback."""


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else exc.__class__.__name__


def get_connection(using: str):
    try:
        connection = connections[using]
    except ConnectionDoesNotExist:
        raise ServiceError(
            f"unknown database alias {using!r} (settings.DATABASES has: "
            f"{', '.join(connections.settings)})"
        ) from None
    if connection.vendor != "postgresql":
        raise ServiceError(f"database {using!r} is {connection.vendor}; perfaudit needs PostgreSQL")
    try:
        connection.ensure_connection()
    except DatabaseError as exc:
        raise ServiceError(f"cannot connect to database {using!r}: {_one_line(exc)}") from None
    return connection


def _report(connection, findings: list[Finding], *, info=None, **data) -> Report:
    info = info or server.server_info(connection)
    order = {"error": 0, "warning": 1, "info": 2}
    # Stable sort: within one kind and table, the rule's own order (e.g. by cost) is kept.
    findings = sorted(findings, key=lambda f: (order[f.severity], f.kind, f.table or ""))
    findings = acknowledge(findings, conf_acknowledgements())
    return Report(
        generated_at=timezone.now(),
        database={
            "vendor": info.vendor,
            "version": info.version,
            "stats_reset": info.stats_reset,
            "alias": connection.alias,
            "name": info.database,
        },
        findings=findings,
        data=data,
    )


# --- auditindexes ---------------------------------------------------------------------------


def audit_indexes(
    *, using: str = "default", table: str | None = None, min_size_mb: float | None = None
) -> Report:
    connection = get_connection(using)
    conf = get_settings()
    info = server.server_info(connection)
    all_indexes = indexes.list_indexes(connection, table=table)
    if table and not indexes.table_exists(connection, table):
        raise ServiceError(f"no table {table!r} on the search path")
    models = declared.model_tables(using)
    origins = declared.index_origins(connection)
    all_fks = indexes.list_foreign_keys(connection, table=table)
    child_fks = [fk for fk in all_fks if table is None or fk.table == table]
    times = server.evidence_times(connection)
    window = index_rules.EvidenceWindow.from_evidence(
        now=times.now,
        stats_reset=times.stats_reset,
        postmaster_start=times.postmaster_start,
        first_migration=times.first_migration,
        server_version_num=times.version_num,
    )
    # Duplicates and redundant pairs first: the indexes they keep are never also "unused".
    pairs = [
        *index_rules.duplicate_indexes(all_indexes, models, origins),
        *index_rules.redundant_indexes(all_indexes, models, origins),
    ]
    findings = [
        *index_rules.unused_indexes(
            all_indexes,
            now=info.now,
            conf=conf,
            models=models,
            window=window,
            foreign_keys=all_fks,
            origins=origins,
            kept=index_rules.kept_by(pairs),
        ),
        *pairs,
        *index_rules.missing_fk_indexes(
            child_fks, all_indexes, models, index_names=declared.fk_index_names(connection)
        ),
        *index_rules.invalid_indexes(
            all_indexes, models, building=indexes.building_indexes(connection), origins=origins
        ),
        *index_rules.bloated_indexes(all_indexes, conf=conf, models=models),
    ]
    declared_indexes = [
        d for d in declared.declared_indexes(connection) if table is None or d.table == table
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = ANY(current_schemas(false)) AND c.relkind IN ('r', 'p')"
        )
        existing = {row[0] for row in cursor.fetchall()}
    known_names = declared.known_index_names(connection)
    findings += drift.drift_findings(
        declared_indexes,
        all_indexes,
        known_names=known_names,
        models=models,
        existing_tables=existing,
    )
    findings = _soften_unactionable(findings, declared.unactionable_tables(using))
    findings = one_per_object(findings)
    min_bytes = (min_size_mb or 0) * 1024 * 1024
    if min_bytes:
        # An error (an invalid index, a failed build) is never hidden by its size: a failed
        # unique build is often tiny, and exactly what CI must not miss.
        sizes = {(i.table, i.name): i.size_bytes for i in all_indexes}
        findings = [
            f
            for f in findings
            if f.severity == "error" or sizes.get((f.table, f.object), min_bytes) >= min_bytes
        ]
    listing: dict[str, dict] = {}
    for index in all_indexes:
        if index.size_bytes < min_bytes:
            continue
        entry = listing.setdefault(
            index.table, {"table": index.table, "rows": index.table_rows, "indexes": []}
        )
        entry["indexes"].append(
            {
                "name": index.name,
                "size_bytes": index.size_bytes,
                "scans": index.scans,
                "last_scan": index.last_scan,
                "valid": index.is_valid,
                "ready": index.is_ready,
                "unique": index.is_unique,
                "primary": index.is_primary,
                "constraint": index.constraint,
                "definition": index.definition,
            }
        )
    return _report(
        connection,
        findings,
        info=info,
        tables=list(listing.values()),
        evidence_window={
            "start": window.start,
            "days": window.days,
            "sources": window.sources,
            "postmaster_start": times.postmaster_start,
        },
    )


#: When one index draws several findings, the one reported first; the others become evidence.
KIND_PRIORITY = (
    "invalid",
    "build_in_progress",
    "duplicate",
    "redundant",
    "unused",
    "missing_fk_index",
    "drift",
    "bloat",
)


def one_per_object(findings: list[Finding]) -> list[Finding]:
    """One finding per (table, object): the most severe, then by KIND_PRIORITY; the others are
    kept in its evidence (``also``) and named in its message, so nothing is lost and one
    index never shows up twice with two different fixes."""
    sev = {"error": 0, "warning": 1, "info": 2}
    rank = {k: i for i, k in enumerate(KIND_PRIORITY)}
    groups: dict[tuple, list[Finding]] = {}
    for f in findings:
        groups.setdefault((f.table, f.object), []).append(f)
    result = []
    for group in groups.values():
        group.sort(key=lambda f: (sev[f.severity], rank.get(f.kind, len(rank))))
        first, *rest = group
        if rest:
            first = replace(
                first,
                message=first.message
                + "".join(f" [also {f.kind} ({f.severity}): {f.message}]" for f in rest),
                evidence={
                    **first.evidence,
                    "also": [
                        {"kind": f.kind, "severity": f.severity, "message": f.message} for f in rest
                    ],
                },
            )
        result.append(first)
    return result


def _soften_unactionable(findings: list[Finding], tables: set[str]) -> list[Finding]:
    """Framework-made indexes: still reported, as info, without a migration that cannot exist."""
    result = []
    for f in findings:
        if f.table in tables and f.kind in {"unused", "duplicate", "redundant", "drift"}:
            f = replace(
                f,
                severity="info",
                message=f.message + " (index created by Django or an installed package for this "
                "table, not by a project migration)",
                fix=replace(f.fix, migration=None, app_label=None, model_change=None),
            )
        result.append(f)
    return result


# --- explain --------------------------------------------------------------------------------


@contextmanager
def rolled_back(connection, *, timeout_ms: int, read_only: bool = False):
    """A transaction (or savepoint) that is always rolled back, with a statement timeout."""
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('statement_timeout', %s, true)", [str(timeout_ms)])
        if read_only:
            cursor.execute("SET LOCAL transaction_read_only = on")
        try:
            yield cursor
        finally:
            transaction.set_rollback(True, using=connection.alias)


def check_statement(sql: str, *, allowed: set[str]) -> str:
    parts = sqltext.statements(sql)
    if not parts:
        raise ServiceError("empty SQL")
    if len(parts) > 1:
        raise ServiceError(f"one statement at a time: this SQL holds {len(parts)} statements")
    keyword = sqltext.first_keyword(sql)
    if keyword not in allowed:
        raise ServiceError(
            f"{keyword or 'this statement'} cannot be explained here (allowed: "
            f"{', '.join(sorted(allowed))})"
        )
    return keyword


def execute_one(cursor, sql: str, params=None, *, simple: bool = False) -> list[tuple]:
    """Run exactly one statement and return its rows.

    ``check_statement`` counts statements with a lexer, but the server decides: a lexer that
    misreads one construct would let "...; COMMIT; DELETE ..." end the rolled-back transaction.
    So with psycopg 3 the statement goes through the extended query protocol (``stream()``),
    under which PostgreSQL itself refuses a string holding more than one statement. (Django's
    ``execute()`` uses the simple protocol, which runs them all.) psycopg2 has no such call and
    relies on the lexer alone, as do generic plans (``simple=True``): under the extended
    protocol their ``$1`` placeholders would be taken as parameters to bind.
    """
    raw = getattr(cursor, "cursor", cursor)
    if simple or not hasattr(raw, "stream"):
        cursor.execute(sql, params)
        return cursor.fetchall()
    with cursor.db.wrap_database_errors:  # psycopg errors -> django.db.DatabaseError
        return list(raw.stream(sql, params))


def _explain_one(
    connection, sql, params, *, analyze, buffers, cursor=None, read_only=False, timeout_ms=None
) -> dict:
    conf = get_settings()
    generic = params is None and sqltext.has_positional_params(sql)
    options = ["FORMAT JSON"]
    if analyze:
        options.append("ANALYZE")
    if buffers:
        options.append("BUFFERS")
    if generic:
        if analyze:
            raise ServiceError("$1-style placeholders cannot be executed: drop --analyze")
        if connection.pg_version < 160000:
            raise ServiceError(
                "$1-style placeholders need EXPLAIN (GENERIC_PLAN), PostgreSQL 16+; "
                "substitute values instead"
            )
        options.append("GENERIC_PLAN")
    statement = f"EXPLAIN ({', '.join(options)}) {sql.strip().rstrip(';')}"
    try:
        if cursor is None:
            read_only = read_only or sqltext.first_keyword(sql) in READ_ONLY
            with rolled_back(
                connection, timeout_ms=timeout_ms or conf.STATEMENT_TIMEOUT_MS, read_only=read_only
            ) as cur:
                result = execute_one(cur, statement, params, simple=generic)[0][0]
        else:
            result = execute_one(cursor, statement, params, simple=generic)[0][0]
    except DatabaseError as exc:
        raise ServiceError(f"EXPLAIN failed: {_one_line(exc)}") from None
    if isinstance(result, str):
        import json

        result = json.loads(result)
    document = result[0]
    relations = [
        n.node["Relation Name"] for n in plans.walk(document["Plan"]) if "Relation Name" in n.node
    ]
    rows = server.table_rows(connection, relations)
    findings = plans.diagnose(document["Plan"], table_rows=rows, conf=conf, statement=sql)
    return {
        "sql": sql,
        "params": list(params) if params else [],
        "generic_plan": generic,
        "analyze": analyze,
        "plan": document,
        "findings": findings,
    }


def _finish_explain(connection, explained: list[dict], **extra) -> Report:
    findings = [f for item in explained for f in item["findings"]]
    for item in explained:
        item["findings"] = [asdict(f) for f in item["findings"]]
    return _report(connection, findings, plans=explained, **extra)


def explain_sql(
    *,
    using: str = "default",
    sql: str,
    analyze: bool = False,
    buffers: bool = False,
    select_only: bool = False,
    timeout_ms: int | None = None,
) -> Report:
    """EXPLAIN one statement. ``select_only`` (the admin's form): only queries, and even with
    ANALYZE they run in a read-only transaction, so a data-modifying CTE fails instead of writing.
    ``timeout_ms`` overrides STATEMENT_TIMEOUT_MS.
    """
    connection = get_connection(using)
    check_statement(sql, allowed=SELECT_ONLY if select_only else EXPLAINABLE)
    return _finish_explain(
        connection,
        [
            _explain_one(
                connection,
                sql,
                None,
                analyze=analyze,
                buffers=buffers,
                read_only=select_only,
                timeout_ms=timeout_ms,
            )
        ],
    )


def explain_queryset(
    *, using: str = "default", path: str, analyze: bool = False, buffers: bool = False
) -> Report:
    from django.db.models import QuerySet
    from django.utils.module_loading import import_string

    connection = get_connection(using)
    try:
        factory = import_string(path)
    except ImportError as exc:
        raise ServiceError(f"cannot import {path!r}: {_one_line(exc)}") from None
    queryset = factory()
    if not isinstance(queryset, QuerySet):
        raise ServiceError(f"{path} returned {type(queryset).__name__}, not a QuerySet")
    sql, params = queryset.query.get_compiler(using=using).as_sql()
    return _finish_explain(
        connection,
        [_explain_one(connection, sql, tuple(params), analyze=analyze, buffers=buffers)],
    )


def explain_url(
    *,
    using: str = "default",
    url: str,
    username: str | None = None,
    analyze: bool = False,
    buffers: bool = False,
) -> Report:
    """Run GET ``url`` through the test client, then explain every query it made.

    The request and the explains share one transaction that is rolled back, so whatever the
    view writes (sessions, last_login, ...) disappears, and EXPLAIN sees the rows it saw.
    """
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.test.utils import override_settings

    connection = get_connection(using)
    if not url.startswith("/"):
        raise ServiceError(f"--url must be a path starting with '/', got {url!r}")
    conf = get_settings()
    captured: list[tuple[str, tuple | None, bool]] = []

    def capture(execute, sql, params, many, context):
        captured.append((sql, params, many))
        return execute(sql, params, many, context)

    explained = []
    with rolled_back(connection, timeout_ms=conf.STATEMENT_TIMEOUT_MS) as cursor:
        client = Client()
        if username:
            user_model = get_user_model()
            try:
                user = user_model._default_manager.get_by_natural_key(username)
            except user_model.DoesNotExist:
                raise ServiceError(f"no user {username!r}") from None
            client.force_login(user)
        with (
            override_settings(ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]),
            connection.execute_wrapper(capture),
        ):
            # secure=: with SECURE_SSL_REDIRECT a plain-HTTP request only gets a redirect.
            response = client.get(url, secure=bool(settings.SECURE_SSL_REDIRECT))
        for sql, params, many in captured:
            if many or sqltext.first_keyword(sql) not in EXPLAINABLE:
                continue
            with transaction.atomic(using=connection.alias):
                explained.append(
                    _explain_one(
                        connection, sql, params, analyze=analyze, buffers=buffers, cursor=cursor
                    )
                )
    return _finish_explain(
        connection,
        explained,
        request={
            "url": url,
            "user": username,
            "status": response.status_code,
            "queries": len(captured),
        },
    )


# --- slowqueries ----------------------------------------------------------------------------


def slow_queries(
    *,
    using: str = "default",
    min_mean_ms: float = 0.0,
    min_calls: int = 1,
    order: str = "total",
    limit: int = 20,
    reset: bool = False,
    probe_generic_plans: bool = True,
) -> Report:
    """``probe_generic_plans``: check that each flagged $n statement's printed explain command
    runs (costs 3 queries per statement, at most GENERIC_PLAN_PROBES); the overview, which
    prints no fixes, turns it off."""
    connection = get_connection(using)
    conf = get_settings()
    status = statements.statements_status(connection)
    status_doc = asdict(status) | {"usable": status.usable}
    if not status.usable:
        finding = Finding(
            kind="pg_stat_statements_missing",
            severity="warning",
            table=None,
            object="pg_stat_statements",
            message="pg_stat_statements is not collecting: " + status.how_to_enable(),
            evidence=asdict(status),
            fix=Fix(
                sql="CREATE EXTENSION IF NOT EXISTS pg_stat_statements;"
                if status.preloaded
                else "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'; -- then "
                "restart PostgreSQL and CREATE EXTENSION IF NOT EXISTS pg_stat_statements;"
            ),
        )
        return _report(connection, [finding], pg_stat_statements=status_doc, queries=[])
    if reset:
        try:
            statements.reset_statements(connection)
        except DatabaseError as exc:
            raise ServiceError(f"reset refused: {_one_line(exc)}") from None
        status = statements.statements_status(connection)
        status_doc = asdict(status) | {"usable": True}
    rows = statements.list_statements(
        connection, min_mean_ms=min_mean_ms, min_calls=min_calls, order=order, limit=limit
    )
    candidates = statements.candidate_statements(
        connection,
        slow_ms=conf.SLOW_QUERY_MS,
        min_calls=conf.SLOW_QUERY_MIN_CALLS,
        min_share=conf.TIME_SHARE_RATIO,
    )
    snapshot = statements.StatementsSnapshot(
        status=status,
        candidates=tuple(candidates),
        server_version_num=connection.pg_version,
        generic_plan_errors=_generic_plan_probe(connection, candidates, conf=conf)
        if probe_generic_plans
        else {},
    )
    findings = statement_rules.evaluate(snapshot, conf)
    if status.deallocations:
        findings.append(
            Finding(
                kind="statements_evicted",
                severity="info",
                table=None,
                object="pg_stat_statements",
                message=f"{status.deallocations:,} entries were evicted since the reset: raise "
                "pg_stat_statements.max so rare statements are kept",
                evidence={"deallocations": status.deallocations},
            )
        )
    queries = [asdict(r) | {"hit_ratio": r.hit_ratio} for r in rows]
    status_doc["slow_query_min_calls"] = conf.SLOW_QUERY_MIN_CALLS
    return _report(connection, findings, pg_stat_statements=status_doc, queries=queries)


#: At most this many statements are probed with EXPLAIN (GENERIC_PLAN) per report.
GENERIC_PLAN_PROBES = 5


def _generic_plan_probe(connection, candidates, *, conf) -> dict[int, str]:
    """The error, if any, EXPLAIN (GENERIC_PLAN) gives on each flagged $n statement's text.

    Only on PostgreSQL 16+ (GENERIC_PLAN), for at most GENERIC_PLAN_PROBES statements, in one
    rolled-back read-only transaction with a savepoint per statement: EXPLAIN without ANALYZE
    executes nothing.
    """
    if connection.pg_version < 160000:
        return {}
    probes = [
        row
        for row in candidates
        if sqltext.has_positional_params(row.query)
        and len(sqltext.statements(row.query)) == 1
        and sqltext.first_keyword(row.query) in EXPLAINABLE
    ][:GENERIC_PLAN_PROBES]
    if not probes:
        return {}
    result = {}
    with rolled_back(connection, timeout_ms=conf.STATEMENT_TIMEOUT_MS, read_only=True) as cursor:
        for row in probes:
            try:
                with transaction.atomic(using=connection.alias):
                    execute_one(cursor, f"EXPLAIN (GENERIC_PLAN) {row.query}", simple=True)
            except DatabaseError as exc:
                result[row.queryid] = _one_line(exc)
    return result


# --- tablestats -----------------------------------------------------------------------------


def table_stats(*, using: str = "default", table: str | None = None) -> Report:
    connection = get_connection(using)
    rows = tables.list_table_stats(connection, table=table)
    if table and not rows:
        raise ServiceError(f"no table {table!r} on the search path")
    findings = table_rules.table_findings(rows, conf=get_settings())
    data = [
        asdict(r)
        | {
            "dead_ratio": round(r.dead_ratio, 4),
            "last_vacuumed": r.last_vacuumed,
            "last_analyzed": r.last_analyzed,
        }
        for r in rows
    ]
    return _report(connection, findings, tables=data)


# --- dbconnections --------------------------------------------------------------------------


def db_connections(*, using: str = "default") -> Report:
    connection = get_connection(using)
    conf = get_settings()
    settings_dict = connection.settings_dict
    pool_options = (settings_dict.get("OPTIONS") or {}).get("pool")
    setup = {
        "alias": using,
        "conn_max_age": settings_dict.get("CONN_MAX_AGE"),
        "conn_health_checks": settings_dict.get("CONN_HEALTH_CHECKS"),
        "pool": pool_options if isinstance(pool_options, dict) else bool(pool_options),
        "pool_stats": None,
    }
    per_process = conf.CONNECTIONS_PER_PROCESS
    if pool_options:
        pool = connection.pool
        # Stats of this process's pool only: each worker process has its own.
        setup["pool_stats"] = pool.get_stats() if pool is not None else None
        if isinstance(pool_options, dict):
            per_process = pool_options.get("max_size", per_process)
    groups = activity.activity_groups(connection)
    limits = activity.connection_limits(connection)
    demand = conf.APP_PROCESSES * per_process
    headroom = {
        "max_connections": limits.max_connections,
        "superuser_reserved_connections": limits.superuser_reserved,
        "reserved_connections": limits.reserved,
        "available_to_apps": limits.available_to_apps,
        "in_use": limits.in_use,
        "app_processes": conf.APP_PROCESSES,
        "connections_per_process": per_process,
        "app_demand": demand,
        "headroom": limits.available_to_apps - demand,
    }
    findings = []
    if demand > limits.available_to_apps:
        findings.append(
            Finding(
                kind="too_many_connections",
                severity="error",
                table=None,
                object=using,
                message=f"{conf.APP_PROCESSES} processes x {per_process} connections = {demand} "
                f"> {limits.available_to_apps} the server allows (max_connections "
                f"{limits.max_connections} - reserved): expect 'too many clients'",
                evidence=headroom,
                fix=Fix(
                    sql="-- lower the pool max_size / workers, put PgBouncer in front, or "
                    "raise max_connections"
                ),
            )
        )
    elif demand > 0.8 * limits.available_to_apps:
        findings.append(
            Finding(
                kind="low_connection_headroom",
                severity="warning",
                table=None,
                object=using,
                message=f"apps may use {demand} of {limits.available_to_apps} connections",
                evidence=headroom,
            )
        )
    for group in groups:
        if group.state.startswith("idle in transaction"):
            findings.append(
                Finding(
                    kind="idle_in_transaction",
                    severity="warning",
                    table=None,
                    object=group.application,
                    message=f"{group.connections} connection(s) of {group.application} idle in "
                    f"a transaction (oldest {group.oldest_xact_seconds or 0:.0f} s): they hold "
                    "locks and block vacuum",
                    evidence=asdict(group),
                    # A session-level SET would only change the auditing session: the setting
                    # must reach the application's new sessions.
                    fix=Fix(
                        sql=f"ALTER DATABASE {_quote(group.database or '')} SET "
                        "idle_in_transaction_session_timeout = '60s'; -- new sessions; "
                        "or ALTER ROLE <app role> SET ... for one role. Then find the code "
                        "that leaves transactions open"
                    ),
                )
            )
        if (group.oldest_query_seconds or 0) >= conf.LONG_RUNNING_SECONDS:
            findings.append(
                Finding(
                    kind="long_running_query",
                    severity="warning",
                    table=None,
                    object=group.application,
                    message=f"a query of {group.application} has run for "
                    f"{group.oldest_query_seconds:.0f} s",
                    evidence=asdict(group),
                )
            )
    findings += lock_rules.evaluate(locks.collect(connection), conf)
    if not pool_options and not settings_dict.get("CONN_MAX_AGE"):
        findings.append(
            Finding(
                kind="no_connection_reuse",
                severity="info",
                table=None,
                object=using,
                message="CONN_MAX_AGE is 0 and no pool: every request opens a new connection",
                evidence={"conn_max_age": settings_dict.get("CONN_MAX_AGE")},
            )
        )
    return _report(
        connection,
        findings,
        setup=setup,
        activity=[asdict(g) for g in groups],
        headroom=headroom,
    )


# --- dbhealth ---------------------------------------------------------------------------


def db_health(*, using: str = "default", table: str | None = None) -> Report:
    """PgHero's cheap checks: NOT VALID constraints, sequences near their maximum,
    transaction-ID wraparound. Each is one set-based catalog query."""
    connection = get_connection(using)
    conf = get_settings()
    models = declared.model_tables(using)
    constraint_snapshot = constraints.collect(connection, table=table)
    sequence_snapshot = sequences.collect(connection, table=table)
    wrap_snapshot = wraparound.collect(
        connection, min_age=wraparound_rules.min_age(conf), table=table
    )
    findings = [
        *constraint_rules.evaluate(constraint_snapshot, conf, models=models),
        *sequence_rules.evaluate(sequence_snapshot, conf),
        *wraparound_rules.evaluate(wrap_snapshot, conf),
    ]
    if table:
        findings = [f for f in findings if f.table == table]
    return _report(
        connection,
        findings,
        not_valid_constraints=[asdict(c) for c in constraint_snapshot.not_valid],
        sequences=[
            asdict(q) | {"limit": q.limit, "used_ratio": q.used_ratio}
            for q in sequence_snapshot.sequences
        ],
        wraparound={
            "database": wrap_snapshot.database,
            "database_xid_age": wrap_snapshot.database_xid_age,
            "database_mxid_age": wrap_snapshot.database_mxid_age,
            "database_xids_left": wrap_snapshot.database_xids_left,
            "autovacuum_freeze_max_age": wrap_snapshot.freeze_max_age,
            "autovacuum": wrap_snapshot.autovacuum_on,
            "xmin_holders": [asdict(h) for h in wrap_snapshot.xmin_holders],
        },
    )


# --- profilequery ---------------------------------------------------------------------------


def profile_query(*, using: str = "default", sql: str, iterations: int = 10) -> Report:
    if iterations < 1:
        raise ServiceError("--iterations must be at least 1")
    connection = get_connection(using)
    check_statement(sql, allowed=READ_ONLY | {"WITH"})
    conf = get_settings()
    timings = []
    rows = 0
    try:
        with rolled_back(connection, timeout_ms=conf.STATEMENT_TIMEOUT_MS, read_only=True) as cur:
            for _ in range(iterations):
                start = time.perf_counter()
                rows = len(execute_one(cur, sql))
                timings.append((time.perf_counter() - start) * 1000)
    except DatabaseError as exc:
        raise ServiceError(f"query failed: {_one_line(exc)}") from None
    ordered = sorted(timings)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    profile = {
        "iterations": iterations,
        "rows": rows,
        "min_ms": ordered[0],
        "median_ms": statistics.median(ordered),
        "p95_ms": p95,
        "max_ms": ordered[-1],
        "mean_ms": statistics.fmean(ordered),
        "timings_ms": timings,
    }
    findings = []
    if conf.SLOW_QUERY_MS is not None and profile["median_ms"] >= conf.SLOW_QUERY_MS:
        findings.append(
            Finding(
                kind="slow_query",
                severity="warning",
                table=None,
                object="profiled query",
                message=f"median {profile['median_ms']:.1f} ms >= {conf.SLOW_QUERY_MS} ms: "
                "explain it with manage.py explain --analyze",
                evidence={k: v for k, v in profile.items() if k != "timings_ms"},
            )
        )
    return _report(connection, findings, sql=sql, profile=profile)


# --- overview (the admin's first page) ------------------------------------------------------

#: The reports the overview summarizes, in the order the admin shows them.
OVERVIEW_SECTIONS = ("indexes", "tables", "connections", "queries")


def overview(*, using: str = "default") -> Report:
    """Database vitals plus the findings of every other report, counted by severity.

    It runs the four reports themselves (each a handful of set-based catalog queries, whatever
    the number of tables), so its counts are exactly what the detail pages and commands show.
    """
    connection = get_connection(using)
    stats = server.database_stats(connection)
    reports = {
        "indexes": audit_indexes(using=using),
        "tables": table_stats(using=using),
        "connections": db_connections(using=using),
        "queries": slow_queries(using=using, probe_generic_plans=False),
    }
    sections = []
    for name in OVERVIEW_SECTIONS:
        counts = dict.fromkeys(("error", "warning", "info"), 0)
        for finding in reports[name].findings:
            counts[finding.severity] += 1
        sections.append({"name": name, "counts": counts})
    headroom = reports["connections"].data["headroom"]
    return _report(
        connection,
        [f for name in OVERVIEW_SECTIONS for f in reports[name].findings],
        stats=asdict(stats) | {"cache_hit_ratio": stats.cache_hit_ratio},
        connections={
            "in_use": headroom["in_use"],
            "max_connections": headroom["max_connections"],
            "available_to_apps": headroom["available_to_apps"],
        },
        pg_stat_statements=reports["queries"].data["pg_stat_statements"],
        sections=sections,
    )
