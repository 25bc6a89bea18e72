"""Rolled-back execution: the only place perfaudit runs a user's statement.

Typed statements get here only through the gate (perfaudit.gate.check). EXPLAIN (ANALYZE),
profilequery and ``explain --url`` all run inside ``rolled_back``: a transaction (or savepoint)
that is always rolled back, with statement and lock timeouts, read-only when only a query may
run, and for typed statements as ``PERFAUDIT['SQL_ROLE']`` when one is set (``SET LOCAL ROLE``:
undone with the transaction, so a pooled connection keeps nothing). ``execute_one`` makes the
server, not a lexer, refuse a second statement. Errors of running a typed statement are worded
by ``gate.describe``: an SQLSTATE, never data PostgreSQL quoted.

What-if indexes (adviseindexes), always undone, inside the same rolled-back transaction:

* HypoPG (``hypopg_create_index``): a hypothetical index only the planner of this session sees;
  nothing is built, no lock is taken. HypoPG's indexes live in the backend's memory, not in a
  transaction, so every trial ends with ``hypopg_reset()`` (also on error).
* ``try_built``: ``CREATE INDEX`` for real inside a savepoint that is rolled back. It reads the
  whole table and holds a SHARE lock (writes wait) while it builds: development and staging
  databases only (``adviseindexes --allow-build``).
"""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import DatabaseError, transaction

from perfaudit import sqltext
from perfaudit.errors import ServiceError, one_line
from perfaudit.gate import describe
from perfaudit.sqltext import EXPLAINABLE, READ_ONLY, SELECT_ONLY, quote_ident

__all__ = [
    "EXPLAINABLE",
    "READ_ONLY",
    "SELECT_ONLY",
    "as_role",
    "execute_one",
    "explain",
    "plan_cost",
    "try_built",
    "try_hypothetical",
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
        cursor.execute(f"SET LOCAL ROLE {quote_ident(role)}")
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
) -> tuple[dict, bool]:
    """(EXPLAIN's JSON document, whether it is a generic plan) for one statement.

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
                connection, timeout_ms=timeout_ms, read_only=read_only, role=role
            ) as cur:
                result = execute_one(cur, statement, params, simple=generic)[0][0]
        else:
            with as_role(cursor, role):
                result = execute_one(cursor, statement, params, simple=generic)[0][0]
    except DatabaseError as exc:
        raise ServiceError(f"EXPLAIN failed: {describe(exc, role=role)}") from None
    if isinstance(result, str):
        result = json.loads(result)
    return result[0], generic


def time_query(
    connection,
    sql: str,
    *,
    iterations: int,
    timeout_ms: int,
    on_iteration=None,
    role: str | None = None,
) -> tuple[list, int]:
    """(milliseconds per run, rows of the last run): ``sql`` run ``iterations`` times, read-only.

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
    return timings, rows


# --- what-if indexes (adviseindexes) ---------------------------------------------------------

#: The prepared statement the PostgreSQL < 16 generic-plan path uses (deallocated after use).
PREPARED = "perfaudit_advisor_stmt"


@dataclass(frozen=True)
class Plan:
    cost: float
    index_names: frozenset[str]
    document: dict


def _plan_document(rows) -> dict:
    result = rows[0][0]
    if isinstance(result, str):
        result = json.loads(result)
    return result[0]


def plan_cost(cursor, sql: str, *, nparams: int, pg_version: int) -> Plan:
    """EXPLAIN (no ANALYZE: nothing executes) and the plan's total cost.

    ``$n`` placeholders (pg_stat_statements' texts) get a generic plan: EXPLAIN (GENERIC_PLAN)
    on PostgreSQL 16+; before 16, PREPARE the statement and EXPLAIN EXECUTE it with NULL
    arguments under ``plan_cache_mode = force_generic_plan`` (set locally), so the plan is the
    one built without looking at the values, exactly what GENERIC_PLAN shows.
    """
    statement = sql.strip().rstrip(";")
    if nparams and pg_version >= 160000:
        rows = execute_one(cursor, f"EXPLAIN (FORMAT JSON, GENERIC_PLAN) {statement}", simple=True)
    elif nparams:
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute(f"PREPARE {PREPARED} AS {statement}")
        try:
            args = ", ".join(["NULL"] * nparams)
            # A savepoint, so a failing EXPLAIN leaves a transaction DEALLOCATE can still use.
            with transaction.atomic(using=cursor.db.alias):
                cursor.execute(f"EXPLAIN (FORMAT JSON) EXECUTE {PREPARED}({args})")
                rows = cursor.fetchall()
        finally:
            # Prepared statements outlive a rollback: always deallocate.
            cursor.execute(f"DEALLOCATE {PREPARED}")
    else:
        rows = execute_one(cursor, f"EXPLAIN (FORMAT JSON) {statement}")
    document = _plan_document(rows)
    return Plan(float(document["Plan"]["Total Cost"]), _index_names(document["Plan"]), document)


def _index_names(node: dict) -> frozenset[str]:
    """Every index a plan (sub)tree uses. (Not rules.plans.walk: rules.plans -> catalog.plans
    -> sandbox would be an import cycle.)"""
    names = {node["Index Name"]} if "Index Name" in node else set()
    for child in node.get("Plans", ()):
        names |= _index_names(child)
    return frozenset(names)


@dataclass(frozen=True)
class TrialResult:
    plans: dict[int, Plan]  # statement number -> plan with the index
    index_name: str
    size_bytes: int | None


def try_hypothetical(
    connection, cursor, create_sql: str, statements: dict[int, tuple], **kw
) -> TrialResult:
    """Plan ``statements`` ({number: (sql, nparams)}) with one hypothetical index."""
    try:
        # A savepoint: HypoPG refusing an access method (GIN) must not abort the transaction
        # the reset below runs in.
        with transaction.atomic(using=connection.alias):
            cursor.execute(
                "SELECT indexrelid, indexname FROM hypopg_create_index(%s)", [create_sql]
            )
            oid, name = cursor.fetchone()
            cursor.execute("SELECT hypopg_relation_size(%s)", [oid])
            size = cursor.fetchone()[0]
            plans = {
                number: plan_cost(cursor, sql, nparams=n, **kw)
                for number, (sql, n) in statements.items()
            }
            return TrialResult(plans, name, size)
    finally:
        cursor.execute("SELECT hypopg_reset()")


def try_built(
    connection, cursor, create_sql: list[str], name: str, statements: dict[int, tuple], **kw
) -> TrialResult:
    """Build the index for real in a savepoint, plan, and roll the savepoint back."""
    with transaction.atomic(using=connection.alias):
        try:
            for sql in create_sql:
                cursor.execute(sql)
            cursor.execute("SELECT pg_relation_size(%s::regclass)", [name])
            size = cursor.fetchone()[0]
            plans = {
                number: plan_cost(cursor, sql, nparams=n, **kw)
                for number, (sql, n) in statements.items()
            }
            return TrialResult(plans, name, size)
        finally:
            transaction.set_rollback(True, using=connection.alias)


def hypothetical_count(cursor) -> int:
    cursor.execute("SELECT count(*) FROM hypopg_list_indexes")
    return cursor.fetchone()[0]
