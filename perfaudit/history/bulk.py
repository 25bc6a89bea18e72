"""One INSERT for thousands of rows without Django's per-value work: the columns travel as
arrays and the server unnests them (``INSERT ... SELECT * FROM unnest(%s::bigint[], ...)``).
Django's bulk_create sends the same statement on PostgreSQL but prepares every value of every
row in Python first: 5,000 statement samples of 14 columns are 70,000 calls, most of a
capture's time. The text is composed with psycopg.sql (identifiers quoted by psycopg), and
the statement is the same whatever the number of rows, so pg_stat_statements shows one entry.
"""

from __future__ import annotations

import psycopg
from django.db import connections
from psycopg import sql


def _array_type(field, connection) -> str:
    # varchar(16)[] -> varchar[]: the column's own type casts on insert.
    return field.db_type(connection).split("(")[0] + "[]"


def insert_columns(db: str, model, columns: dict[str, list], *, ignore_conflicts=False) -> int:
    """Insert the rows whose values are ``columns`` (field name -> one value per row);
    ``ignore_conflicts``: rows whose key exists already are skipped."""
    names = list(columns)
    count = len(columns[names[0]]) if names else 0
    if not count:
        return 0
    connection = connections[db]
    fields = [model._meta.get_field(name) for name in names]
    statement = sql.SQL("INSERT INTO {table} ({columns}) SELECT * FROM unnest({arrays})").format(
        table=sql.Identifier(model._meta.db_table),
        columns=sql.SQL(", ").join(sql.Identifier(f.column) for f in fields),
        arrays=sql.SQL(", ").join(
            sql.SQL("%b::{}").format(sql.SQL(_array_type(f, connection))) for f in fields
        ),
    )
    if ignore_conflicts:
        statement += sql.SQL(" ON CONFLICT DO NOTHING")
    _execute(connection, statement, [columns[n] for n in names])
    return count


def _execute(connection, statement, params) -> None:
    """Through a psycopg cursor that binds on the server: the arrays travel as parameters,
    dumped by psycopg's C code, instead of being spelled into the text value by value (what
    Django's client-side-binding cursor does: most of a 5,000-row insert's time). Same
    connection, same transaction; errors become Django's like any other."""
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(statement, params)


def update_origins(db: str, model, origins: dict[int, str]) -> None:
    """Set the origin of the statements ``origins`` names (queryid -> origin), in one UPDATE."""
    if not origins:
        return
    connection = connections[db]
    statement = sql.SQL(
        "UPDATE {table} AS t SET {origin} = u.origin "
        "FROM unnest(%s::bigint[], %s::text[]) AS u(queryid, origin) WHERE t.{pk} = u.queryid"
    ).format(
        table=sql.Identifier(model._meta.db_table),
        origin=sql.Identifier(model._meta.get_field("origin").column),
        pk=sql.Identifier(model._meta.pk.column),
    )
    with connection.cursor() as cursor:
        cursor.execute(
            statement.as_string(cursor.connection), [list(origins), list(origins.values())]
        )
