"""Rolled-back execution: the only place perfaudit runs a user's statement.

Typed statements get here only through the gate (perfaudit.gate.check). EXPLAIN (ANALYZE),
profilequery, the generic-plan check of pg_stat_statements' texts and the requests of
``explain --url`` / ``adviseindexes --url`` (perfaudit.urlcapture) all run inside
``rolled_back``: a transaction (or savepoint) that is always rolled back, with statement and
lock timeouts, read-only when only a query may run, and for typed statements as
``PERFAUDIT['SQL_ROLE']`` when one is set (``SET LOCAL ROLE``: undone with the transaction, so a
pooled connection keeps nothing). ``execute_one`` makes the server, not a lexer, refuse a second
statement. Errors of running a typed statement are worded by ``gate.describe``: an SQLSTATE,
never data PostgreSQL quoted. Each probe returns a snapshot (perfaudit.snapshots) for the rules
to judge. The advisor's what-if indexes (HypoPG, rolled-back builds) are the sandbox's too:
perfaudit.whatif.
"""

from __future__ import annotations

import json
import time
from contextlib import contextmanager

from django.db import DatabaseError, transaction

from perfaudit import sqltext
from perfaudit.ddl import ident
from perfaudit.errors import ServiceError, one_line
from perfaudit.gate import describe
from perfaudit.snapshots.plans import Explained
from perfaudit.snapshots.profile import QueryProfile
from perfaudit.snapshots.statements import GenericPlanChecks, Statement
from perfaudit.sqltext import EXPLAINABLE, READ_ONLY, SELECT_ONLY

__all__ = [
    "EXPLAINABLE",
    "GENERIC_PLAN_PROBES",
    "READ_ONLY",
    "SELECT_ONLY",
    "as_role",
    "check_generic_plans",
    "execute_one",
    "explain",
    "rolled_back",
    "time_query",
]


@contextmanager
def rolled_back(connection, *, timeout_ms: int, read_only: bool = False, role: str | None = None):
    """A transaction (or savepoint) that is always rolled back, with statement and lock
    timeouts (both local to it), read-only on demand, as ``role`` when given."""
    from perfaudit.conf import get_settings

    lock_ms = min(timeout_ms, get_settings().LOCK_TIMEOUT_MS)
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('statement_timeout', %s, true), "
            "set_config('lock_timeout', %s, true)",
            [str(timeout_ms), str(lock_ms)],
        )
        if read_only:
            cursor.execute("SET LOCAL transaction_read_only = on")
        try:
            with as_role(cursor, role):
                yield cursor
        finally:
            transaction.set_rollback(True, using=connection.alias)


@contextmanager
def as_role(cursor, role: str | None):
    """Run the block as ``role`` (SET LOCAL ROLE: it ends with the transaction, or earlier
    here). A failing block leaves the reset to the rollback of its savepoint or transaction."""
    if not role:
        yield
        return
    try:
        cursor.execute(f"SET LOCAL ROLE {ident(role)}")
    except DatabaseError as exc:
        raise ServiceError(
            f"cannot run as PERFAUDIT['SQL_ROLE'] = {role!r}: {one_line(exc)} "
            "(manage.py perfauditrole creates it and grants it to this user)"
        ) from None
    yield
    cursor.execute("RESET ROLE")


def execute_one(cursor, sql: str, params=None, *, simple: bool = False) -> list[tuple]:
    """Run exactly one statement and return its rows.

    The gate counts statements with PostgreSQL's lexer and parser, but the server decides: a
    misread construct would let "...; COMMIT; DELETE ..." end the rolled-back transaction.
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


def explain(
    connection,
    sql: str,
    params=None,
    *,
    analyze: bool,
    buffers: bool,
    timeout_ms: int,
    cursor=None,
    read_only: bool = False,
    role: str | None = None,
) -> Explained:
    """EXPLAIN's JSON document for one statement, and how it was made.

    With ``cursor`` the EXPLAIN runs there (inside the caller's rolled-back transaction);
    otherwise in a fresh one, read-only for queries. ``role``: see ``rolled_back``.
    """
    generic = params is None and sqltext.has_positional_params(sql)
    # SUMMARY: the planning time, also without ANALYZE (ANALYZE adds the execution time).
    options = ["FORMAT JSON", "SUMMARY"]
    if analyze:
        options.append("ANALYZE")
    if buffers:
        options.append("BUFFERS")
    if generic:
        if analyze:
            raise ServiceError("$1-style placeholders cannot be executed: drop --analyze")
        if connection.pg_version >= 160000:
            options.append("GENERIC_PLAN")
    statement = f"EXPLAIN ({', '.join(options)}) {sql.strip().rstrip(';')}"
    run = _run_generic_before_16 if generic and connection.pg_version < 160000 else None
    try:
        if cursor is None:
            read_only = read_only or sqltext.first_keyword(sql) in READ_ONLY
            with rolled_back(
                connection, timeout_ms=timeout_ms, read_only=read_only, role=role
            ) as cur:
                result = (run or execute_one)(cur, statement, params, simple=generic)[0][0]
        else:
            with as_role(cursor, role):
                result = (run or execute_one)(cursor, statement, params, simple=generic)[0][0]
    except DatabaseError as exc:
        raise ServiceError(f"EXPLAIN failed: {describe(exc, role=role)}") from None
    if isinstance(result, str):
        result = json.loads(result)
    return Explained(
        sql=sql,
        params=[_json_value(p) for p in params] if params else [],
        generic_plan=generic,
        analyze=analyze,
        document=result[0],
    )


#: The prepared statement of a generic plan before PostgreSQL 16 (deallocated after use).
PREPARED = "perfaudit_explain_stmt"


def _run_generic_before_16(cursor, statement: str, params=None, *, simple: bool) -> list:
    """``EXPLAIN (...) <query with $n>`` before PostgreSQL 16 (no GENERIC_PLAN): PREPARE the
    query and EXPLAIN EXECUTE it with NULL arguments under ``plan_cache_mode =
    force_generic_plan`` (local to the transaction): the plan is built without looking at the
    values, the one GENERIC_PLAN shows. Nothing executes (no ANALYZE here)."""
    head, query = statement.split(") ", 1)
    nparams = sqltext.max_param(query)
    cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
    # Like GENERIC_PLAN's (simple=True), by the simple protocol: its $n are PREPARE's own.
    cursor.execute(f"PREPARE {PREPARED} AS {query}")
    try:
        # A savepoint, so a failing EXPLAIN leaves a transaction DEALLOCATE can still use.
        with transaction.atomic(using=cursor.db.alias):
            args = ", ".join(["NULL"] * nparams)
            return execute_one(cursor, f"{head}) EXECUTE {PREPARED}({args})")
    finally:
        cursor.execute(f"DEALLOCATE {PREPARED}")  # prepared statements outlive a rollback


def _json_value(value):
    """A bound parameter as the report shows it (and a snapshot can store): JSON's own types
    as they are, datetimes as ISO text, anything else as its text."""
    from perfaudit.findings import json_default

    if value is None or isinstance(value, bool | int | float | str):
        return value
    return json_default(value)


def time_query(
    connection,
    sql: str,
    *,
    iterations: int,
    timeout_ms: int,
    on_iteration=None,
    role: str | None = None,
) -> QueryProfile:
    """Milliseconds per run and the rows of the last: ``sql`` run ``iterations`` times,
    read-only.

    ``on_iteration(n, ms, rows)`` is called after each run, so a long profile shows progress.
    """
    timings = []
    rows = 0
    try:
        with rolled_back(connection, timeout_ms=timeout_ms, read_only=True, role=role) as cursor:
            for n in range(1, iterations + 1):
                start = time.perf_counter()
                rows = len(execute_one(cursor, sql))
                timings.append((time.perf_counter() - start) * 1000)
                if on_iteration is not None:
                    on_iteration(n, timings[-1], rows)
    except DatabaseError as exc:
        raise ServiceError(f"query failed: {describe(exc, role=role)}") from None
    return QueryProfile(iterations=iterations, rows=rows, timings_ms=timings, sql=sql)


#: At most this many statements are probed with EXPLAIN (GENERIC_PLAN) per report.
GENERIC_PLAN_PROBES = 5


def check_generic_plans(
    connection, statements: list[Statement], *, timeout_ms: int
) -> GenericPlanChecks:
    """The error, if any, EXPLAIN (GENERIC_PLAN) gives on each $n statement's text, so its
    printed explain command is known to run (or said not to).

    Only on PostgreSQL 16+ (GENERIC_PLAN), for at most GENERIC_PLAN_PROBES statements, in one
    rolled-back read-only transaction with a savepoint per statement: EXPLAIN without ANALYZE
    executes nothing. pg_stat_statements turns a typed literal such as ``interval '1 day'``
    into ``interval $3``, which does not parse.
    """
    if connection.pg_version < 160000:
        return GenericPlanChecks()
    probes = [
        row
        for row in statements
        if sqltext.has_positional_params(row.query)
        and len(sqltext.statements(row.query)) == 1
        and sqltext.first_keyword(row.query) in sqltext.EXPLAINABLE
    ][:GENERIC_PLAN_PROBES]
    if not probes:
        return GenericPlanChecks()
    errors = {}
    with rolled_back(connection, timeout_ms=timeout_ms, read_only=True) as cursor:
        for row in probes:
            try:
                with transaction.atomic(using=connection.alias):
                    execute_one(cursor, f"EXPLAIN (GENERIC_PLAN) {row.query}", simple=True)
            except DatabaseError as exc:
                errors[row.queryid] = one_line(exc)
    return GenericPlanChecks(errors=errors, checked=tuple(row.queryid for row in probes))
