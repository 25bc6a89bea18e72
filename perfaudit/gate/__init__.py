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

from perfaudit.conf import get_settings
from perfaudit.gate.catalog import CATALOG_SQL, CatalogFacts, catalog_facts, clear_cache
from perfaudit.gate.errors import Refused, describe, sqlstate_of
from perfaudit.gate.policy import Policy, check_relation, check_uses
from perfaudit.gate.text import (
    PARSE_NESTING_LIMIT,
    check_size,
    nesting_bound,
    parse_one,
    tree_depth,
)
from perfaudit.gate.tree import uses_of
from perfaudit.sqltext import EXPLAINABLE, SELECT_ONLY

__all__ = [
    "CATALOG_SQL",
    "EXPLAINABLE",
    "PARSE_NESTING_LIMIT",
    "SELECT_ONLY",
    "CatalogFacts",
    "Policy",
    "Refused",
    "catalog_facts",
    "check",
    "check_relation",
    "check_size",
    "check_text",
    "clear_cache",
    "describe",
    "nesting_bound",
    "sqlstate_of",
    "tree_depth",
]


def check(
    connection, sql: str, *, allowed: frozenset[str] | set[str], refusal: str | None = None
) -> str:
    """Refuse ``sql`` (``Refused``, a ServiceError) unless it is one safe statement of an
    ``allowed`` kind; return its first keyword. ``refusal`` words a kind that is not allowed."""
    conf = get_settings()
    check_size(sql, conf)
    keyword, statement = parse_one(sql, allowed, refusal, conf)
    uses = uses_of(statement)
    policy = Policy.from_settings(conf)
    facts = catalog_facts(connection)
    if any(name not in facts.functions for _s, name, _h in uses.functions):
        facts = catalog_facts(connection, refresh=True)  # created since the cache was filled?
    check_uses(uses, facts, policy)
    return keyword


def check_text(sql: str, *, allowed=SELECT_ONLY, refusal: str | None = None):
    """Steps 1-3 only (no database): the parse tree of a statement that passed them."""
    conf = get_settings()
    check_size(sql, conf)
    _keyword, statement = parse_one(sql, allowed, refusal, conf)
    uses_of(statement)
    return statement
