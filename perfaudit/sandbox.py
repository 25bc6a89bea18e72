"""Rolled-back execution: the only place perfaudit runs a user's statement.

EXPLAIN (ANALYZE), profilequery and ``explain --url`` all run inside ``rolled_back``: a
transaction (or savepoint) that is always rolled back, with a statement timeout, read-only when
only a query may run. ``execute_one`` makes the server, not a lexer, refuse a second statement.
"""

from __future__ import annotations

import json
import time
from contextlib import contextmanager

from django.db import DatabaseError, transaction

from perfaudit import sqltext
from perfaudit.errors import ServiceError, one_line
from perfaudit.sqltext import EXPLAINABLE, READ_ONLY, SELECT_ONLY

__all__ = ["EXPLAINABLE", "READ_ONLY", "SELECT_ONLY", "check_statement", "execute_one", "explain"]


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


def check_statement(sql: str, *, allowed: set[str], refusal: str | None = None) -> str:
    """``refusal``: what to say when the statement kind is not allowed (default: EXPLAIN's)."""
    parts = sqltext.statements(sql)
    if not parts:
        raise ServiceError("empty SQL")
    if len(parts) > 1:
        raise ServiceError(f"one statement at a time: this SQL holds {len(parts)} statements")
    keyword = sqltext.first_keyword(sql)
    if keyword not in allowed:
        raise ServiceError(
            f"{keyword or 'this statement'} "
            + (refusal or "cannot be explained here")
            + f" (allowed: {', '.join(sorted(allowed))})"
        )
    return keyword


def execute_one(cursor, sql: str, params=None, *, simple: bool = False) -> list[tuple]:
    """Run exactly one statement and return its rows.

    ``check_statement`` counts statements with PostgreSQL's lexer, but the server decides: a
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
) -> tuple[dict, bool]:
    """(EXPLAIN's JSON document, whether it is a generic plan) for one statement.

    With ``cursor`` the EXPLAIN runs there (inside the caller's rolled-back transaction);
    otherwise in a fresh one, read-only for queries.
    """
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
            with rolled_back(connection, timeout_ms=timeout_ms, read_only=read_only) as cur:
                result = execute_one(cur, statement, params, simple=generic)[0][0]
        else:
            result = execute_one(cursor, statement, params, simple=generic)[0][0]
    except DatabaseError as exc:
        raise ServiceError(f"EXPLAIN failed: {one_line(exc)}") from None
    if isinstance(result, str):
        result = json.loads(result)
    return result[0], generic


def time_query(connection, sql: str, *, iterations: int, timeout_ms: int) -> tuple[list, int]:
    """(milliseconds per run, rows of the last run): ``sql`` run ``iterations`` times, read-only."""
    timings = []
    rows = 0
    try:
        with rolled_back(connection, timeout_ms=timeout_ms, read_only=True) as cursor:
            for _ in range(iterations):
                start = time.perf_counter()
                rows = len(execute_one(cursor, sql))
                timings.append((time.perf_counter() - start) * 1000)
    except DatabaseError as exc:
        raise ServiceError(f"query failed: {one_line(exc)}") from None
    return timings, rows
