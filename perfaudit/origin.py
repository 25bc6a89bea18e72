"""Whose statement is it? The application's, or the tools' around it.

On a development database pg_stat_statements is mostly tool noise: silk's INSERT/UPDATEs of its
own tables, EXPLAINs run by silk and perfaudit, perfaudit's catalog reads, migration DDL, and
transaction control (BEGIN, SAVEPOINT, SET). The Queries page and ``slowqueries`` show the
application's statements by default and put the rest behind a visible toggle (``--all``).

Pure: SQL text in, an origin out, through PostgreSQL's own parser (pglast). No database.
"""

from __future__ import annotations

from dataclasses import dataclass

from pglast import ast, parse_sql
from pglast.parser import ParseError
from pglast.visitors import Visitor

#: Origins, in the order the pages list them; only "app" is shown by default.
APP = "app"
PROFILER = "profiler"
CATALOG = "catalog"
SCHEMA = "schema"
TRANSACTION = "transaction"
ORIGINS = (APP, PROFILER, CATALOG, SCHEMA, TRANSACTION)
LABELS = {
    APP: "application",
    PROFILER: "profiler tables and EXPLAIN",
    CATALOG: "catalog reads (perfaudit, Django introspection)",
    SCHEMA: "DDL, maintenance and migrations",
    TRANSACTION: "transaction and session control",
}

_DATA = (ast.SelectStmt, ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt, ast.CopyStmt)
_DATA += tuple(getattr(ast, name) for name in ("MergeStmt",) if hasattr(ast, name))
_CONTROL = (
    ast.TransactionStmt,
    ast.VariableSetStmt,
    ast.VariableShowStmt,
    ast.DiscardStmt,
    ast.DeallocateStmt,
    ast.PrepareStmt,
    ast.ExecuteStmt,
    ast.LockStmt,
    ast.ListenStmt,
    ast.NotifyStmt,
    ast.UnlistenStmt,
    ast.CheckPointStmt,
)
#: Functions whose bare SELECT is session plumbing, not a query (perfaudit's sandbox, Django).
_SESSION_FUNCTIONS = {"set_config", "current_setting", "pg_advisory_lock", "pg_advisory_unlock"}
#: Functions whose bare SELECT reads the server's state (perfaudit's catalog module uses them).
_SYSTEM_FUNCTIONS = {"to_regclass", "current_database", "current_schemas", "version"}
_SYSTEM_SCHEMAS = {"pg_catalog", "information_schema"}
#: perfaudit's own tables (history captures write them): filed with the profilers', so a
#: capture never shows up among the application's statements.
OWN_PREFIX = "perfaudit_"
#: Django's migration bookkeeping: part of migrating, like the DDL around it.
_MIGRATION_TABLES = {"django_migrations"}


@dataclass(frozen=True)
class _Names:
    relations: list[tuple[str | None, str]]
    functions: list[str]


class _Collector(Visitor):
    def __init__(self):
        super().__init__()
        self.relations: list[tuple[str | None, str]] = []
        self.functions: list[str] = []

    def visit_RangeVar(self, ancestors, node):
        self.relations.append((node.schemaname, node.relname))

    def visit_FuncCall(self, ancestors, node):
        self.functions.append(node.funcname[-1].sval.lower())


def _names(statement) -> _Names:
    collector = _Collector()
    collector(statement)
    # CTE names are not tables: WITH x AS (...) SELECT ... FROM x.
    ctes = set()
    with_clause = getattr(statement, "withClause", None)
    if with_clause is not None:
        ctes = {cte.ctename for cte in with_clause.ctes}
    relations = [(s, n) for s, n in collector.relations if s or n not in ctes]
    return _Names(relations, collector.functions)


def is_system_relation(schema: str | None, name: str) -> bool:
    """pg_catalog / information_schema, or an unqualified pg_* name (pg_stat_statements, the
    extension's view, lives in public but is PostgreSQL's, not the application's)."""
    return schema in _SYSTEM_SCHEMAS or (schema is None and name.startswith("pg_"))


def classify(sql: str, *, profiler_prefixes: tuple[str, ...] = ("silk_",)) -> str:
    """The origin of one statement (pg_stat_statements' normalized text or plain SQL)."""
    try:
        parsed = parse_sql(sql)
    except ParseError:
        # pg_stat_statements cuts long texts (track_activity_query_size): the application's,
        # unless PostgreSQL's lexer sees a profiler table or the tail of a known shape.
        return _classify_unparsed(sql, profiler_prefixes)
    if not parsed:
        return APP
    statement = parsed[0].stmt
    if isinstance(statement, ast.ExplainStmt):
        return PROFILER
    if isinstance(statement, _CONTROL):
        return TRANSACTION
    names = _names(statement)
    profiler_prefixes = (*profiler_prefixes, OWN_PREFIX)
    if any(name.startswith(profiler_prefixes) for _, name in names.relations):
        return PROFILER
    if any(name in _MIGRATION_TABLES for _, name in names.relations):
        return SCHEMA
    if not isinstance(statement, _DATA):
        return SCHEMA  # CREATE/ALTER/DROP, CREATE EXTENSION, VACUUM, ANALYZE, TRUNCATE, ...
    if names.relations and all(is_system_relation(s, n) for s, n in names.relations):
        return CATALOG
    if not names.relations and names.functions:
        functions = set(names.functions)
        if functions <= _SESSION_FUNCTIONS:
            return TRANSACTION
        if all(f.startswith("pg_") or f in _SYSTEM_FUNCTIONS for f in functions):
            return CATALOG
    return APP


def _classify_unparsed(sql: str, profiler_prefixes: tuple[str, ...]) -> str:
    from pglast import parser

    try:
        tokens = parser.scan(sql)
    except ParseError:
        return APP
    words = [sql[t.start : t.end + 1].strip('"') for t in tokens if t.name in {"IDENT"}]
    if any(word.startswith((*profiler_prefixes, OWN_PREFIX)) for word in words):
        return PROFILER
    if any(word in _MIGRATION_TABLES for word in words):
        return SCHEMA
    return APP


def visible(origin: str, *, show_all: bool) -> bool:
    return show_all or origin == APP
