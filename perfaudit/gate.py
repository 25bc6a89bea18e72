"""The gate: every statement a person types passes here before perfaudit runs or plans it.

The EXPLAIN page, the Advisor form and the ``explain`` / ``profilequery`` / ``adviseindexes
--sql`` commands call ``check()``; nothing else lets typed SQL reach the database. The threat
(docs/operations.md, "perfaudit security") is a staff user who is not a database superuser
using the forms to read what they should not (session keys, password hashes, token digests,
server files: PgHero's CVE-2023-22626) or to act on the server (terminate backends, create
replication slots, reset statistics, take advisory locks) in ways a rollback does not undo.

The checks, in order, each refusing with a message naming its reason:

1. size, before any parser sees the text: at most ``SQL_MAX_LENGTH`` characters, and at most
   ``PARSE_NESTING_LIMIT`` operators, keywords and brackets that could nest inside one another
   (an upper bound on the parse tree's depth read from PostgreSQL's lexer, which is flat).
   pglast turns the parse tree into Python objects with C recursion and no stack check: a
   ``SELECT 1+1+...`` of ~23,700 terms kills the process with SIGSEGV on an 8 MB stack, ~2,900
   on a 1 MB thread stack, ~1,400 on 512 KB (``python -m benchmarks.gate``). So the bound
   comes first, and the gate parses on a thread of its own with a 16 MB stack, whatever the
   server's request threads have;
2. one statement, of an allowed kind (a query for the forms), parsed by PostgreSQL's own
   parser, its tree at most ``SQL_MAX_DEPTH`` levels deep (the parse-tree code after the gate
   recurses in Python);
3. the tree: no row locks (FOR UPDATE/SHARE), no SELECT INTO, no data-modifying WITH;
4. the tree against the catalog: every function called is STABLE or IMMUTABLE and in the safe
   set (PostgreSQL's own or an extension's, minus those that read files, settings, other
   sessions or tables by name; plus ``SQL_ALLOWED_FUNCTIONS``); operators and casts call no
   volatile or user-defined function; no protected table (``SQL_PROTECTED_TABLES``, the user
   model's, the sessions'), no system catalog holding secrets, no view over either.

The catalog part is one query (functions, operators, types, views), cached per database for
``CACHE_SECONDS``: a page view with a warm cache sends none.

Behind the gate, perfaudit.sandbox runs the statement rolled back, read-only for queries, with
statement and lock timeouts, optionally as the least-privileged ``SQL_ROLE``; ``describe()``
words the errors of running it without quoting data.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from pglast import ast, parse_sql, parser

from perfaudit.conf import get_settings
from perfaudit.errors import ServiceError, one_line
from perfaudit.sqltext import EXPLAINABLE, SELECT_ONLY, first_keyword

__all__ = [
    "EXPLAINABLE",
    "SELECT_ONLY",
    "Policy",
    "Refused",
    "catalog_facts",
    "check",
    "check_relation",
    "check_text",
    "describe",
]

_STATEMENT_NODES = {
    "SELECT": ast.SelectStmt,
    "VALUES": ast.SelectStmt,
    "TABLE": ast.SelectStmt,
    "INSERT": ast.InsertStmt,
    "UPDATE": ast.UpdateStmt,
    "DELETE": ast.DeleteStmt,
    "MERGE": ast.MergeStmt,
}

#: Nesting tokens the lexer may count before the parser is called (see the module docstring):
#: at most ~2 parse-tree levels each (a property test pins it), ~1 MB of C stack in pglast for
#: the heaviest shape measured (subqueries nested ~500 deep), on a 16 MB parser thread.
PARSE_NESTING_LIMIT = 1_000
#: Seconds the catalog facts are reused; an unknown function name refreshes them sooner.
CACHE_SECONDS = 300
REFRESH_SECONDS = 10

_SYSTEM_SCHEMAS = frozenset({"pg_catalog", "information_schema", "pg_toast"})
#: System relations that describe the schema and hold no data, no query text and no secret:
#: the only ones a typed statement may read (pg_stats, pg_statistic, pg_authid, pg_settings,
#: pg_stat_activity, pg_stat_statements, pg_user_mappings, pg_roles' rolconfig, pg_proc's
#: function sources, ... are refused).
SYSTEM_RELATIONS_ALLOWED = frozenset(
    {
        "pg_am",
        "pg_attrdef",
        "pg_attribute",
        "pg_class",
        "pg_constraint",
        "pg_database",
        "pg_depend",
        "pg_description",
        "pg_enum",
        "pg_extension",
        "pg_index",
        "pg_indexes",
        "pg_inherits",
        "pg_namespace",
        "pg_opclass",
        "pg_operator",
        "pg_sequence",
        "pg_sequences",
        "pg_stat_all_indexes",
        "pg_stat_all_tables",
        "pg_stat_user_indexes",
        "pg_stat_user_tables",
        "pg_statio_user_indexes",
        "pg_statio_user_tables",
        "pg_tables",
        "pg_trigger",
        "pg_type",
        "tables",
        "columns",
        "table_constraints",
        "key_column_usage",
    }
)
#: PostgreSQL functions that are STABLE or IMMUTABLE yet read what a typed statement must not:
#: tables by name (bypassing the table checks), settings (primary_conninfo holds a password),
#: or assign a transaction ID. Every ``pg_*`` function is refused too, but for these:
DENIED_FUNCTIONS = frozenset(
    {
        "current_setting",
        "cursor_to_xml",
        "cursor_to_xmlschema",
        "database_to_xml",
        "database_to_xml_and_xmlschema",
        "database_to_xmlschema",
        "query_to_xml",
        "query_to_xml_and_xmlschema",
        "query_to_xmlschema",
        "schema_to_xml",
        "schema_to_xml_and_xmlschema",
        "schema_to_xmlschema",
        "table_to_xml",
        "table_to_xml_and_xmlschema",
        "table_to_xmlschema",
        "ts_stat",
        "ts_rewrite",
        "txid_current",
        "txid_current_if_assigned",
    }
)
PG_FUNCTIONS_ALLOWED = frozenset(
    {"pg_size_pretty", "pg_size_bytes", "pg_typeof", "pg_column_size", "pg_collation_for"}
)


class Refused(ServiceError):
    """The gate's refusal: ``reason`` is a stable code (tests, JSON), the text names it."""

    def __init__(self, message: str, *, reason: str):
        super().__init__(message)
        self.reason = reason


# --- 1. size, before parsing ------------------------------------------------------------------

_LEAF_TOKENS = frozenset(
    {"IDENT", "UIDENT", "SCONST", "USCONST", "ICONST", "FCONST", "BCONST", "XCONST", "PARAM"}
    | {"ASCII_44", "ASCII_46", "ASCII_59", "C_COMMENT", "SQL_COMMENT"}  # , . ; comments
)
_OPEN = frozenset({"ASCII_40", "ASCII_91"})  # ( [
_CLOSE = frozenset({"ASCII_41", "ASCII_93"})  # ) ]


def nesting_bound(tokens) -> int:
    """An upper bound of how many constructs nest inside one another, from the lexer's tokens.

    Lists (commas) and names are flat, so only keywords, operators and brackets can add a
    level; inside one bracket pair every one of them may (``1+1+1``, ``a JOIN b JOIN c``,
    ``x IS NULL IS NULL``), and a pair adds one. Brackets in sibling pairs do not add up. The
    parse tree is at most ~2 levels per unit of this bound (pinned by a property test).
    """
    own, deepest = [0], [0]  # per open bracket: its own nesting tokens, its deepest child
    for token in tokens:
        name = token.name
        if name in _OPEN:
            own.append(0)
            deepest.append(0)
        elif name in _CLOSE:
            if len(own) > 1:  # an unbalanced ")" is the parser's to report
                depth = own.pop() + 1 + deepest.pop()
                deepest[-1] = max(deepest[-1], depth)
        elif name not in _LEAF_TOKENS:
            own[-1] += 1
    while len(own) > 1:  # unclosed brackets
        depth = own.pop() + 1 + deepest.pop()
        deepest[-1] = max(deepest[-1], depth)
    return own[0] + deepest[0]


def tree_depth(node) -> int:
    """Levels of parse-tree nodes (tuples do not count), without recursion."""
    deepest = 0
    stack = [(node, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, tuple):
            stack.extend((child, depth) for child in item)
        elif isinstance(item, ast.Node):
            deepest = max(deepest, depth)
            for name in item.__slots__:
                value = getattr(item, name)
                if isinstance(value, tuple | ast.Node):
                    stack.append((value, depth + 1))
    return deepest


def _check_size(sql: str, conf) -> None:
    if len(sql) > conf.SQL_MAX_LENGTH:
        raise Refused(
            f"the statement is {len(sql):,} characters long; the limit is "
            f"{conf.SQL_MAX_LENGTH:,} (PERFAUDIT['SQL_MAX_LENGTH'])",
            reason="too_long",
        )
    if "\x00" in sql:
        raise Refused("the statement holds a NUL character", reason="nul")
    try:
        tokens = parser.scan(sql)
    except parser.ParseError as exc:
        raise Refused(f"cannot parse the statement: {exc}", reason="parse_error") from None
    bound = nesting_bound(tokens)
    if bound > PARSE_NESTING_LIMIT:
        raise Refused(
            f"the statement nests too deeply: up to {bound:,} operators, keywords and "
            f"brackets inside one another; the limit is {PARSE_NESTING_LIMIT:,}",
            reason="too_deep",
        )


#: The gate's own parse runs on a thread of its own with this stack, whatever thread called it
#: (a server's request threads may have 512 KB or less): at PARSE_NESTING_LIMIT the deepest
#: shape measured needs ~1 MB (nested subqueries); the parse trees the gate passes are at most
#: SQL_MAX_DEPTH levels deep, which any thread parses again without trouble.
PARSER_STACK_BYTES = 16 * 1024 * 1024
#: (process id, the pool): a forked child (gunicorn --preload, multiprocessing) has the pool
#: object but not its thread, so it starts its own.
_parser: tuple[int, ThreadPoolExecutor] | None = None
_parser_lock = threading.Lock()


def parse_on_a_known_stack(sql: str):
    """pglast's ``parse_sql`` on the gate's parser thread (``PARSER_STACK_BYTES`` of stack)."""
    global _parser
    with _parser_lock:
        if _parser is None or _parser[0] != os.getpid():
            # threading.stack_size() applies to threads started while it is set: start ours now.
            previous = threading.stack_size(PARSER_STACK_BYTES)
            try:
                pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="perfaudit-gate")
                pool.submit(int).result()
            finally:
                threading.stack_size(previous)
            _parser = (os.getpid(), pool)
        pool = _parser[1]
    return pool.submit(parse_sql, sql).result()


# --- 2. one statement of an allowed kind ------------------------------------------------------


def _parse_one(sql: str, allowed, refusal, conf):
    try:
        parts = [part for part in parser.split(sql, with_parser=False) if part.strip()]
    except parser.ParseError:
        parts = [sql] if sql.strip() else []
    if not parts:
        raise Refused("empty SQL", reason="empty")
    if len(parts) > 1:
        raise Refused(
            f"one statement at a time: this SQL holds {len(parts)} statements",
            reason="several_statements",
        )
    keyword = first_keyword(sql)
    if keyword not in allowed:
        raise Refused(
            f"{keyword or 'this statement'} "
            + (refusal or "cannot be explained here")
            + f" (allowed: {', '.join(sorted(allowed))})",
            reason="statement_kind",
        )
    try:
        parsed = parse_on_a_known_stack(sql)
    except parser.ParseError as exc:
        raise Refused(f"cannot parse the statement: {exc}", reason="parse_error") from None
    if len(parsed) != 1:
        raise Refused(
            f"one statement at a time: this SQL holds {len(parsed)} statements",
            reason="several_statements",
        )
    statement = parsed[0].stmt
    kinds = tuple(_STATEMENT_NODES[k] for k in allowed if k in _STATEMENT_NODES)
    if not isinstance(statement, kinds):
        name = type(statement).__name__.removesuffix("Stmt").upper()
        raise Refused(
            f"{keyword} … {name} " + (refusal or "cannot be explained here"),
            reason="statement_kind",
        )
    depth = tree_depth(statement)
    if depth > conf.SQL_MAX_DEPTH:
        raise Refused(
            f"the statement nests too deeply: its parse tree is {depth} levels deep; the limit "
            f"is {conf.SQL_MAX_DEPTH} (PERFAUDIT['SQL_MAX_DEPTH'])",
            reason="too_deep",
        )
    return keyword, statement


# --- 3. the tree ------------------------------------------------------------------------------

_LOCKING = {
    "LCS_FORKEYSHARE": "FOR KEY SHARE",
    "LCS_FORSHARE": "FOR SHARE",
    "LCS_FORNOKEYUPDATE": "FOR NO KEY UPDATE",
    "LCS_FORUPDATE": "FOR UPDATE",
}


def _names(items) -> tuple[str | None, str]:
    """(schema or None, name) of a qualified name's String nodes."""
    parts = [item.sval for item in items if isinstance(item, ast.String)]
    return (parts[-2] if len(parts) > 1 else None), parts[-1]


@dataclass
class Uses:
    """What a statement touches, read from its parse tree."""

    relations: set = field(default_factory=set)  # (schema, name)
    functions: set = field(default_factory=set)  # (schema, name, how) how: "" or "TABLESAMPLE"
    operators: set = field(default_factory=set)  # (schema, name)
    types: set = field(default_factory=set)  # (schema, name)


def uses_of(statement) -> Uses:
    """Walk the tree (no recursion) and refuse what no catalog lookup can make safe."""
    uses = Uses()
    stack = [statement]
    while stack:
        node = stack.pop()
        if isinstance(node, tuple):
            stack.extend(node)
            continue
        if not isinstance(node, ast.Node):
            continue
        if isinstance(node, ast.RangeVar):
            uses.relations.add((node.schemaname, node.relname))
        elif isinstance(node, ast.FuncCall):
            uses.functions.add((*_names(node.funcname), ""))
        elif isinstance(node, ast.RangeTableSample):
            uses.functions.add((*_names(node.method), "TABLESAMPLE"))
        elif isinstance(node, ast.A_Expr) and node.name:
            uses.operators.add(_names(node.name))
        elif isinstance(node, ast.TypeName) and node.names:
            uses.types.add(_names(node.names))
        elif isinstance(node, ast.LockingClause):
            clause = _LOCKING.get(getattr(node.strength, "name", ""), "FOR UPDATE")
            raise Refused(f"{clause} takes row locks: refused", reason="row_lock")
        elif isinstance(node, ast.IntoClause):
            raise Refused("SELECT … INTO creates a table: refused", reason="select_into")
        elif isinstance(node, ast.CommonTableExpr) and not isinstance(
            node.ctequery, ast.SelectStmt
        ):
            kind = type(node.ctequery).__name__.removesuffix("Stmt").upper()
            raise Refused(
                f"WITH {node.ctename} AS ({kind} …) changes data (a data-modifying WITH): refused",
                reason="data_modifying_with",
            )
        for name in node.__slots__:
            value = getattr(node, name)
            if isinstance(value, tuple | ast.Node):
                stack.append(value)
    return uses


# --- 4. the catalog ---------------------------------------------------------------------------

CATALOG_SQL = """
WITH fn AS (
    SELECT p.oid, n.nspname, p.proname, p.provolatile = 'v' AS volatile,
           n.nspname = 'pg_catalog' OR EXISTS (
               SELECT 1 FROM pg_depend d
               WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
           ) AS builtin
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
), type_fn AS (
    SELECT t.oid AS type, t.typinput AS fn FROM pg_type t
    UNION ALL
    SELECT c.casttarget, c.castfunc FROM pg_cast c WHERE c.castfunc <> 0
    UNION ALL
    SELECT con.contypid, d.refobjid
    FROM pg_constraint con
    JOIN pg_depend d ON d.classid = 'pg_constraint'::regclass AND d.objid = con.oid
        AND d.refclassid = 'pg_proc'::regclass
    WHERE con.contypid <> 0
)
SELECT json_build_object(
    'functions', (
        SELECT json_agg(json_build_array(nspname, proname, volatile, builtin))
        FROM (SELECT nspname, proname, bool_or(volatile) AS volatile,
                     bool_and(builtin) AS builtin
              FROM fn GROUP BY nspname, proname) f
    ),
    'unsafe_operators', (
        SELECT json_agg(json_build_array(nspname, oprname))
        FROM (SELECT DISTINCT n.nspname, o.oprname
              FROM pg_operator o JOIN pg_namespace n ON n.oid = o.oprnamespace
              JOIN fn ON fn.oid = o.oprcode
              WHERE fn.volatile OR NOT fn.builtin) o
    ),
    'unsafe_types', (
        SELECT json_agg(json_build_array(nspname, typname))
        FROM (SELECT DISTINCT n.nspname, t.typname
              FROM type_fn JOIN fn ON fn.oid = type_fn.fn
              JOIN pg_type t ON t.oid = type_fn.type
              JOIN pg_namespace n ON n.oid = t.typnamespace
              WHERE fn.volatile OR NOT fn.builtin) t
    ),
    'views', (
        SELECT json_agg(json_build_array(n.nspname, c.relname, pg_get_viewdef(c.oid)))
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('v', 'm')
          AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
    )
)
"""


@dataclass(frozen=True)
class CatalogFacts:
    """What the gate needs of one database's catalog (one query: ``CATALOG_SQL``)."""

    #: name -> {schema: (any overload VOLATILE, every overload PostgreSQL's or an extension's)}
    functions: dict
    unsafe_operators: frozenset  # (schema, name)
    unsafe_types: frozenset  # (schema, name)
    #: view or materialized view name -> {schema: its definition (pg_get_viewdef)}: built-in
    #: functions are pinned, so pg_depend does not list them; the definition does.
    views: dict
    fetched_at: float = 0.0

    @classmethod
    def from_document(cls, document: dict, fetched_at: float = 0.0) -> CatalogFacts:
        functions: dict = {}
        for schema, name, volatile, builtin in document.get("functions") or ():
            functions.setdefault(name, {})[schema] = (volatile, builtin)
        views: dict = {}
        for vschema, vname, definition in document.get("views") or ():
            views.setdefault(vname, {})[vschema] = definition
        return cls(
            functions=functions,
            unsafe_operators=frozenset(map(tuple, document.get("unsafe_operators") or ())),
            unsafe_types=frozenset(map(tuple, document.get("unsafe_types") or ())),
            views=views,
            fetched_at=fetched_at,
        )


_cache: dict = {}
_cache_lock = threading.Lock()


def _cache_key(connection) -> tuple:
    s = connection.settings_dict
    return (connection.alias, s.get("NAME"), s.get("HOST"), s.get("PORT"), s.get("USER"))


def catalog_facts(connection, *, refresh: bool = False) -> CatalogFacts:
    """The cached facts for ``connection``'s database; one catalog query when stale."""
    key = _cache_key(connection)
    now = time.monotonic()
    facts = _cache.get(key)
    if facts is not None:
        age = now - facts.fetched_at
        if age < CACHE_SECONDS and not (refresh and age >= REFRESH_SECONDS):
            return facts
    with connection.cursor() as cursor:
        cursor.execute(CATALOG_SQL)
        document = cursor.fetchone()[0]
    if isinstance(document, str):
        document = json.loads(document)
    facts = CatalogFacts.from_document(document, fetched_at=now)
    with _cache_lock:
        _cache[key] = facts
    return facts


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


@dataclass(frozen=True)
class Policy:
    """The settings side of the checks, resolved once per call."""

    protected: tuple[str, ...]
    allowed_functions: frozenset
    conf: object = None

    @classmethod
    def from_settings(cls, conf) -> Policy:
        return cls(
            protected=tuple(p.lower() for p in (*conf.SQL_PROTECTED_TABLES, *_always_protected())),
            allowed_functions=frozenset(f.lower() for f in conf.SQL_ALLOWED_FUNCTIONS),
            conf=conf,
        )

    def function_allowed(self, name: str, schemas) -> bool:
        """In SQL_ALLOWED_FUNCTIONS, by name or with the schema of every overload in play."""
        allowed = self.allowed_functions
        return name.lower() in allowed or all(f"{s}.{name}".lower() in allowed for s in schemas)

    def table_protected(self, schema: str | None, name: str) -> bool:
        candidates = [name.lower()] + ([f"{schema}.{name}".lower()] if schema else [])
        return any(fnmatch.fnmatchcase(c, p) for c in candidates for p in self.protected)


def _always_protected() -> list[str]:
    """The user model's table and its many-to-many tables, and the session table."""
    from django.apps import apps
    from django.contrib.auth import get_user_model
    from django.core.exceptions import ImproperlyConfigured

    tables = []
    try:
        user = get_user_model()
    except (ImproperlyConfigured, LookupError):  # no auth app: no user table to add
        user = None
    if user is not None:
        tables.append(user._meta.db_table)
        tables += [f.remote_field.through._meta.db_table for f in user._meta.local_many_to_many]
    if apps.is_installed("django.contrib.sessions"):
        from django.contrib.sessions.models import Session

        tables.append(Session._meta.db_table)
    return tables


def _system(schema: str | None, name: str) -> bool:
    """PostgreSQL's: a system schema, or a ``pg_`` name in any schema (pg_stat_statements and
    its _info view live in the extension's schema, usually public)."""
    return schema in _SYSTEM_SCHEMAS or (schema or "").startswith("pg_") or name.startswith("pg_")


def check_relation(schema, name, facts: CatalogFacts, policy: Policy, seen=None) -> None:
    """Refuse a system catalog that may hold secrets, a protected table, or a view (or
    materialized view) over either or calling an unsafe function."""
    label = f"{schema}.{name}" if schema else name
    if _system(schema, name):
        if name not in SYSTEM_RELATIONS_ALLOWED:
            raise Refused(
                f"{label} is a system catalog or view that may hold secrets (data samples, "
                "query texts, settings, credentials): refused",
                reason="system_catalog",
            )
        return
    if policy.table_protected(schema, name):
        raise Refused(
            f"{label} is a protected table (PERFAUDIT['SQL_PROTECTED_TABLES'], the user and "
            "session tables): refused",
            reason="protected_table",
        )
    seen = seen if seen is not None else set()
    for view_schema, definition in (facts.views.get(name) or {}).items():
        if (schema and view_schema != schema) or (view_schema, name) in seen:
            continue
        seen.add((view_schema, name))
        try:
            _check_size(definition, policy.conf)
            _keyword, statement = _parse_one(definition, SELECT_ONLY, None, policy.conf)
            _check_uses(uses_of(statement), facts, policy, seen)
        except Refused as exc:
            raise Refused(f"{label} is a view and {exc}", reason=exc.reason) from None


def _check_function(schema, name, how, facts: CatalogFacts, policy: Policy) -> None:
    label = f"{schema}.{name}" if schema else name
    shown = f"TABLESAMPLE {label}" if how else f"{label}()"
    overloads = facts.functions.get(name) or {}
    if schema:
        overloads = {s: v for s, v in overloads.items() if s == schema}
    if not overloads:
        raise Refused(
            f"{shown}: no such function (only known STABLE and IMMUTABLE functions run here)",
            reason="unknown_function",
        )
    if any(volatile for volatile, _builtin in overloads.values()):
        raise Refused(
            f"{shown} is VOLATILE (it may change data or server state, or read outside the "
            "database, in ways a rollback does not undo): only STABLE and IMMUTABLE functions "
            "run here",
            reason="volatile_function",
        )
    if policy.function_allowed(name, overloads):
        return
    if not all(builtin for _volatile, builtin in overloads.values()):
        raise Refused(
            f"{shown} is a user-defined function: it may read any table; allow it in "
            "PERFAUDIT['SQL_ALLOWED_FUNCTIONS'] if it is safe",
            reason="user_function",
        )
    if name in DENIED_FUNCTIONS or (name.startswith("pg_") and name not in PG_FUNCTIONS_ALLOWED):
        raise Refused(
            f"{shown} is outside the safe set: it reads server files, settings, other "
            "sessions or tables by name, or acts on the server",
            reason="unsafe_function",
        )


def _check_uses(uses: Uses, facts: CatalogFacts, policy: Policy, seen=None) -> None:
    for schema, name in sorted(uses.relations, key=str):
        check_relation(schema, name, facts, policy, seen)
    for schema, name, how in sorted(uses.functions, key=str):
        _check_function(schema, name, how, facts, policy)
    for schema, name in sorted(uses.operators, key=str):
        if any(n == name and (schema is None or s == schema) for s, n in facts.unsafe_operators):
            raise Refused(
                f"operator {name} calls a volatile or user-defined function: refused",
                reason="unsafe_operator",
            )
    for schema, name in sorted(uses.types, key=str):
        if any(n == name and (schema is None or s == schema) for s, n in facts.unsafe_types):
            raise Refused(
                f"type {name}: its input, casts or constraints call a volatile or user-defined "
                "function: refused",
                reason="unsafe_type",
            )


# --- the entry point --------------------------------------------------------------------------


def check(
    connection, sql: str, *, allowed: frozenset[str] | set[str], refusal: str | None = None
) -> str:
    """Refuse ``sql`` (``Refused``, a ServiceError) unless it is one safe statement of an
    ``allowed`` kind; return its first keyword. ``refusal`` words a kind that is not allowed."""
    conf = get_settings()
    _check_size(sql, conf)
    keyword, statement = _parse_one(sql, allowed, refusal, conf)
    uses = uses_of(statement)
    policy = Policy.from_settings(conf)
    facts = catalog_facts(connection)
    if any(name not in facts.functions for _s, name, _h in uses.functions):
        facts = catalog_facts(connection, refresh=True)  # created since the cache was filled?
    _check_uses(uses, facts, policy)
    return keyword


def check_text(sql: str, *, allowed=SELECT_ONLY, refusal: str | None = None):
    """Steps 1-3 only (no database): the parse tree of a statement that passed them."""
    conf = get_settings()
    _check_size(sql, conf)
    _keyword, statement = _parse_one(sql, allowed, refusal, conf)
    uses_of(statement)
    return statement


# --- errors of running a statement ------------------------------------------------------------

#: SQLSTATE classes whose messages name only what the statement itself says (syntax, names,
#: privileges, limits, timeouts, read-only): shown as PostgreSQL words them. Any other class
#: (data exceptions, constraint violations, raised exceptions, internal errors) may quote
#: values read while executing: PgHero's CVE-2023-22626 read session keys through one.
SHOWN_CLASSES = frozenset({"08", "0A", "25", "42", "53", "54", "55", "57"})


def sqlstate_of(exc: BaseException) -> str | None:
    for error in (exc, exc.__cause__, exc.__context__):
        code = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
        if code:
            return code
    return None


def describe(exc: BaseException, *, role: str | None = None) -> str:
    """One line about a database error of a typed statement, quoting no data. ``role``: the
    SQL_ROLE it ran as (a missing privilege is then most likely the role's)."""
    code = sqlstate_of(exc)
    if code == "42501" and role:
        return (
            f"{one_line(exc)} (running as PERFAUDIT['SQL_ROLE'] = {role!r}, which lacks this "
            "privilege; manage.py perfauditrole grants it the application's tables)"
        )
    if code is None or code[:2] in SHOWN_CLASSES:
        return one_line(exc)
    return (
        f"SQLSTATE {code} ({_condition_name(code)}): the statement failed while running; "
        "PostgreSQL's message is not shown, as it may quote the data it read"
    )


def _condition_name(code: str) -> str:
    try:
        import psycopg.errors

        name = psycopg.errors.lookup(code).__name__
    except (ImportError, KeyError):
        return "error"
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
