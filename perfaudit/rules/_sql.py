"""Quoting for the SQL text that fixes print (never for queries perfaudit runs itself)."""

from __future__ import annotations


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_table(schema: str | None, table: str) -> str:
    """``"table"`` on the search path's first schemas (public), ``"schema"."table"`` else."""
    if schema in (None, "", "public"):
        return quote_ident(table)
    return f"{quote_ident(schema)}.{quote_ident(table)}"


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def run_sql_operation(sql: str | list[str], reverse: str | list[str] | None, reason: str) -> str:
    """A ``migrations.RunSQL(...)`` expression, with the reason as a comment in it."""
    reverse_text = "migrations.RunSQL.noop" if reverse is None else repr(reverse)
    return f"migrations.RunSQL(  # {reason}\n    sql={sql!r},\n    reverse_sql={reverse_text},\n)"
