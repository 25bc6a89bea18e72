"""Step 4's facts: one catalog query (functions, operators, types, views), cached per
database for CACHE_SECONDS; an unknown function name refreshes it, at most every
REFRESH_SECONDS."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass

#: Seconds the catalog facts are reused; an unknown function name refreshes them sooner.
CACHE_SECONDS = 300
REFRESH_SECONDS = 10


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
