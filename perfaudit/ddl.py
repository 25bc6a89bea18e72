"""The SQL text fixes print and migrations run: every identifier and literal quoted by
``psycopg.sql`` (never by hand), and each statement safe to run again where it can be
(``IF [NOT] EXISTS``), ``CONCURRENTLY`` where an index is built or dropped on a live table.

Not for the queries perfaudit itself runs: those are static text with bound parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import sql


def _text(composed: sql.Composable) -> str:
    # No connection: psycopg quotes as a standard_conforming_strings server reads it, and
    # writes E'...' for a literal holding a backslash, which every server reads alike.
    return composed.as_string(None)


def ident(*names: str) -> str:
    """``"name"`` (``"schema"."name"`` for several), embedded quotes doubled."""
    return _text(sql.Identifier(*names))


def table(schema: str | None, name: str) -> str:
    """``"table"`` on the search path's first schema (public), ``"schema"."table"`` else."""
    if schema in (None, "", "public"):
        return ident(name)
    return ident(schema, name)


#: PostgreSQL keeps identifiers to NAMEDATALEN - 1 bytes and cuts longer ones (with a NOTICE).
MAX_IDENTIFIER_BYTES = 63


def stored_name(name: str) -> str:
    """A name as PostgreSQL stores it: cut to 63 bytes, never inside a character (a
    constraint declared with a 64-character name exists under its first 63)."""
    data = name.encode()
    if len(data) <= MAX_IDENTIFIER_BYTES:
        return name
    return data[:MAX_IDENTIFIER_BYTES].decode(errors="ignore")


def literal(value: Any) -> str:
    """A SQL literal: NULL, a number, true/false, or quoted text."""
    return _text(sql.Literal(value)).strip()


def _flags(*pairs: tuple[bool, str]) -> str:
    return "".join(f"{word} " for on, word in pairs if on)


def create_index(
    name: str,
    on: str,
    keys: Sequence[str],
    *,
    method: str | None = None,
    where: str | None = None,
    concurrently: bool = True,
    if_not_exists: bool = False,
    terminate: bool = True,
) -> str:
    """``CREATE INDEX``; ``on`` is a quoted table (``table()``), ``keys`` quoted key SQL
    (``ident(column)``, an expression in parentheses, with opclass and DESC)."""
    head = _flags((concurrently, "CONCURRENTLY"), (if_not_exists, "IF NOT EXISTS"))
    text = f"CREATE INDEX {head}{ident(name)} ON {on} "
    text += f"USING {method} " if method else ""
    text += f"({', '.join(keys)})"
    if where:
        text += f" WHERE {where}"
    return text + (";" if terminate else "")


def drop_index(name: str, *, concurrently: bool = True, if_exists: bool = True) -> str:
    head = _flags((concurrently, "CONCURRENTLY"), (if_exists, "IF EXISTS"))
    return f"DROP INDEX {head}{ident(name)};"


def reindex(name: str, *, concurrently: bool = True) -> str:
    return f"REINDEX INDEX {_flags((concurrently, 'CONCURRENTLY'))}{ident(name)};"


def drop_constraint(on: str, name: str, *, if_exists: bool = False) -> str:
    return f"ALTER TABLE {on} DROP CONSTRAINT {_flags((if_exists, 'IF EXISTS'))}{ident(name)};"


def validate_constraint(on: str, name: str) -> str:
    return f"ALTER TABLE {on} VALIDATE CONSTRAINT {ident(name)};"


_HEADS = ("CREATE UNIQUE INDEX ", "CREATE INDEX ")


def recreate_index(
    definition: str, *, concurrently: bool = True, if_not_exists: bool = True
) -> str:
    """An existing index's own definition (``pg_get_indexdef``: the server's deparsing, names
    already quoted as it needs them) as a statement that builds it again."""
    flags = _flags((concurrently, "CONCURRENTLY"), (if_not_exists, "IF NOT EXISTS"))
    for head in _HEADS:
        if definition.startswith(head):
            return head + flags + definition[len(head) :] + ";"
    return definition + ";"  # pragma: no cover - pg_get_indexdef always starts so


def create_if_missing(create_sql: str, name: str) -> str:
    """A declared index's or constraint's CREATE (Django's schema editor), safe to run where
    it exists already: ``IF NOT EXISTS`` for an index; a constraint (ALTER TABLE ... ADD
    CONSTRAINT) has none, so a DO block checks pg_constraint first."""
    for head in ("CREATE UNIQUE INDEX CONCURRENTLY ", "CREATE INDEX CONCURRENTLY ", *_HEADS):
        if create_sql.startswith(head):
            return head + "IF NOT EXISTS " + create_sql[len(head) :]
    body = create_sql.rstrip(";").replace("$perfaudit$", "")
    return (
        "DO $perfaudit$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = "
        f"{literal(name)}) THEN {body}; END IF; END $perfaudit$;"
    )
