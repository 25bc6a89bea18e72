"""SQL text through PostgreSQL's own lexer and parser (pglast wraps libpg_query).

Statement counting, the first keyword and ``$1`` detection use the scanner (PostgreSQL's lexer:
quotes, ``E'...'`` escapes, dollar quotes, nested comments exactly as the server reads them);
fingerprints use libpg_query's fingerprint of the parse tree, so different literals, whitespace,
case and IN-list lengths compare equal. Nothing here rewrites the SQL that runs.

The server stays the last word on safety: the sandbox sends one statement through the extended
query protocol, which refuses a string holding two (perfaudit.sandbox.execute_one).
"""

from __future__ import annotations

import re

from pglast import parser

#: Statements EXPLAIN accepts. Without ANALYZE none of them executes.
EXPLAINABLE = frozenset(
    {"SELECT", "WITH", "VALUES", "TABLE", "INSERT", "UPDATE", "DELETE", "MERGE"}
)
READ_ONLY = frozenset({"SELECT", "VALUES", "TABLE"})
#: What the admin's EXPLAIN form accepts: queries only (WITH runs in a read-only transaction).
SELECT_ONLY = READ_ONLY | {"WITH"}
#: Statements the index advisor plans. Plain EXPLAIN (never ANALYZE) executes none of them.
ADVISABLE = frozenset({"SELECT", "WITH", "UPDATE", "DELETE"})

# Django and psycopg placeholders (%s, %(name)s) and the %% escape: not PostgreSQL syntax, so
# they become $n parameters before parsing; a literal '%' in the SQL text is always doubled.
_PLACEHOLDER = re.compile(r"%\((?:[^)]*)\)s|%s|%%")


# Comments, and "(" as in "(SELECT ...) UNION ...", come before the first keyword.
_SKIPPED = {"C_COMMENT", "SQL_COMMENT", "ASCII_40"}


def _tokens(sql: str) -> list | None:
    try:
        return parser.scan(sql)
    except parser.ParseError:
        return None  # lexically broken (e.g. an unterminated quote): the server will say so


def statements(sql: str) -> list[str]:
    """The non-empty statements of ``sql``, split on top-level semicolons by the lexer.

    SQL the lexer cannot read counts as one statement: running it fails on the server with
    PostgreSQL's own error, under the extended protocol that runs one statement at most.
    """
    try:
        return [part for part in parser.split(sql, with_parser=False) if part.strip()]
    except parser.ParseError:
        return [sql] if sql.strip() else []


def first_keyword(sql: str) -> str:
    """The first keyword, upper case (``SELECT``, ``WITH``, ...): '' when there is none."""
    tokens = _tokens(sql)
    if tokens is None:
        match = re.match(r"[\s(]*([A-Za-z]+)", sql)
        return match.group(1).upper() if match else ""
    for token in tokens:
        if token.name in _SKIPPED:
            continue
        if token.kind != "NO_KEYWORD" or token.name == "IDENT":
            return sql[token.start : token.end + 1].upper()
        return ""
    return ""


def has_positional_params(sql: str) -> bool:
    """``$1``-style placeholders outside literals (pg_stat_statements' normalized text)."""
    tokens = _tokens(sql)
    return bool(tokens) and any(t.name == "PARAM" for t in tokens)


def as_postgres(sql: str) -> str:
    """Django/psycopg SQL with ``%s`` placeholders as PostgreSQL text with ``$n`` parameters."""
    counter = 0

    def replace(match: re.Match) -> str:
        nonlocal counter
        if match.group(0) == "%%":
            return "%"
        counter += 1
        return f"${counter}"

    return _PLACEHOLDER.sub(replace, sql)


def fingerprint(sql: str) -> str:
    """One key for every run of "the same query": libpg_query's parse-tree fingerprint.

    ``IN (1, 2, 3)`` and ``IN (4, 5)``, other literals, placeholders, whitespace and case all
    fingerprint alike. Text the parser refuses falls back to its whitespace-collapsed self.
    """
    text = as_postgres(sql) if "%" in sql else sql
    try:
        return parser.fingerprint(text)
    except parser.ParseError:
        return " ".join(sql.split())


class SQLTextError(ValueError):
    """SQL the parser cannot read as one statement (one line for the user)."""


def parse_one(sql: str):
    """The one statement's parse tree (pglast, i.e. PostgreSQL's own parser)."""
    from pglast import parse_sql

    try:
        parsed = parse_sql(sql)
    except parser.ParseError as exc:
        raise SQLTextError(f"cannot parse the statement: {exc}") from None
    if len(parsed) != 1:
        raise SQLTextError(f"one statement at a time: this SQL holds {len(parsed)}")
    return parsed[0].stmt


def _nodes(node):
    from pglast import ast

    yield node
    if isinstance(node, ast.Node):
        for name in node:
            yield from _nodes(getattr(node, name))
    elif isinstance(node, tuple):
        for value in node:
            yield from _nodes(value)


def referenced_tables(sql: str) -> list[str]:
    """Relation names a statement reads, in order of appearance (CTE names included)."""
    from pglast import ast

    names = [n.relname for n in _nodes(parse_one(sql)) if isinstance(n, ast.RangeVar)]
    return list(dict.fromkeys(names))


def max_param(sql: str) -> int:
    """The highest $n in the statement (0 when none): PREPARE needs as many arguments."""
    from pglast import ast

    numbers = [n.number for n in _nodes(parse_one(sql)) if isinstance(n, ast.ParamRef)]
    return max(numbers, default=0)


def index_ddl(sql: str) -> tuple[list[tuple[str, str, bool]], list[str]]:
    """The indexes a migration's SQL creates, ``(table, index, unique)``, and those it drops
    (names), read from its parse trees: what RunSQL leaves on every fresh install."""
    from pglast import ast, parse_sql

    try:
        parsed = parse_sql(sql)
    except parser.ParseError as exc:
        raise SQLTextError(f"cannot parse the statement: {exc}") from None
    created, dropped = [], []
    for raw in parsed:
        stmt = raw.stmt
        if isinstance(stmt, ast.IndexStmt) and stmt.idxname and stmt.relation:
            created.append((stmt.relation.relname, stmt.idxname, bool(stmt.unique)))
        elif isinstance(stmt, ast.DropStmt) and getattr(stmt.removeType, "name", "") == (
            "OBJECT_INDEX"
        ):
            for names in stmt.objects or ():
                dropped.append(names[-1].sval)
    return created, dropped


def unwrap_cursor(sql: str) -> str:
    """The query of ``DECLARE name CURSOR ... FOR <query>`` (what Django's ``.iterator()``
    sends with server-side cursors), as PostgreSQL's deparser writes it; other SQL as is."""
    from pglast import ast
    from pglast.stream import RawStream

    if first_keyword(sql) != "DECLARE":
        return sql
    stmt = parse_one(sql)
    if not isinstance(stmt, ast.DeclareCursorStmt) or stmt.query is None:
        return sql
    return RawStream()(stmt.query)


#: Tokens that carry a value: strings (E'', U&'', $$...$$), numbers, bit strings.
_LITERALS = frozenset({"SCONST", "USCONST", "ICONST", "FCONST", "BCONST", "XCONST"})
# Without the lexer (a statement cut mid-quote): quoted strings to their end or the text's end,
# dollar quotes, numbers.
_LITERAL_TEXT = re.compile(
    r"""(?:[EeBbXxNn]|[Uu]&)?'(?:[^']|'')*(?:'|$)|(\$[A-Za-z_]*\$).*?(?:\1|$)|\b\d[\d.eE+-]*""",
    re.S,
)


def without_literals(sql: str) -> str:
    """``sql`` with every literal value replaced by ``?``: a live statement's text (as
    pg_stat_activity holds it: client-side bound values included, such as a session key or a
    password hash) shown on a page without its data. Identifiers, keywords, ``$n`` and comments
    stay. A text the lexer cannot read (cut inside a quote) is masked by pattern instead."""
    tokens = _tokens(sql)
    if tokens is None:
        return _LITERAL_TEXT.sub("?", sql)
    parts, last = [], 0
    for token in tokens:
        if token.name in _LITERALS:
            parts.append(sql[last : token.start])
            parts.append("?")
            last = token.end + 1
    parts.append(sql[last:])
    return "".join(parts)
