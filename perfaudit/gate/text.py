"""Steps 1 and 2 of the gate: the statement's size, before any parser sees it; then one
statement of an allowed kind, parsed on the gate's own thread, its tree at most SQL_MAX_DEPTH
levels deep (perfaudit.gate's docstring says why)."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

from pglast import ast, parse_sql, parser

from perfaudit.gate.errors import Refused
from perfaudit.sqltext import first_keyword

__all__ = ["PARSE_NESTING_LIMIT", "check_size", "nesting_bound", "parse_one", "tree_depth"]

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


def check_size(sql: str, conf) -> None:
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


def parse_one(sql: str, allowed, refusal, conf):
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
