"""Parse-tree helpers: one statement through pglast, expressions normalized, columns resolved."""

from __future__ import annotations

import contextlib
import copy

from pglast import ast, enums, parse_sql
from pglast.stream import RawStream

from perfaudit import sqltext
from perfaudit.rules.advisor.facts import AdvisorInputError, Condition
from perfaudit.snapshots.advisor import TableFacts

# --- parsing ---------------------------------------------------------------------------------


def parse_statement(sql: str):
    """The one statement's parse tree (pglast, i.e. PostgreSQL's own parser)."""
    try:
        return sqltext.parse_one(sql)
    except sqltext.SQLTextError as exc:
        raise AdvisorInputError(str(exc)) from None


def _strip(node, *, casts: bool = True):
    """A copy of an expression without column qualifiers (and casts, for comparing)."""
    node = copy.deepcopy(node)

    def walk(n):
        if casts and isinstance(n, ast.TypeCast):
            return walk(n.arg)
        if isinstance(n, ast.ColumnRef):
            n.fields = (n.fields[-1],)
            return n
        if isinstance(n, ast.Node):
            for name in n:
                value = getattr(n, name)
                if isinstance(value, ast.Node):
                    setattr(n, name, walk(value))
                elif isinstance(value, tuple):
                    setattr(
                        n, name, tuple(walk(v) if isinstance(v, ast.Node) else v for v in value)
                    )
        return n

    return walk(node)


def normalize_expression(text: str) -> str:
    """Deparsed text of an expression without casts or qualifiers: ``upper((title)::text)`` and
    ``UPPER(t.title)`` both become ``upper(title)``."""
    try:
        stmt = parse_sql(f"SELECT {text}")[0].stmt
    except Exception:
        return text
    return RawStream()(_strip(stmt.targetList[0].val))


def _expr_text(node) -> str:
    """The expression as an index would be declared: qualifiers dropped, casts kept (an index
    on ``created_at::date`` is not one on ``created_at``)."""
    return RawStream()(_strip(node, casts=False))


def const_value(node):
    """(is_constant, python value) for a literal, a cast literal, or TRUE/FALSE."""
    while isinstance(node, ast.TypeCast):
        node = node.arg
    if isinstance(node, ast.A_Const):
        if node.isnull:
            return True, None
        val = node.val
        for attr in ("ival", "sval", "boolval", "fval"):
            if hasattr(val, attr) and getattr(val, attr) is not None:
                v = getattr(val, attr)
                if attr == "fval":
                    with contextlib.suppress(ValueError):
                        v = float(v)
                return True, v
        return True, None
    return False, None


def is_value(node) -> bool:
    """A literal, a $n parameter or a function of them: something that is fixed per execution."""
    while isinstance(node, ast.TypeCast):
        node = node.arg
    if isinstance(node, ast.A_Const | ast.ParamRef):
        return True
    if isinstance(node, ast.FuncCall):
        return all(is_value(a) for a in node.args or ())
    if isinstance(node, ast.A_Expr):
        return all(is_value(x) for x in (node.lexpr, node.rexpr) if isinstance(x, ast.Node))
    return isinstance(node, ast.SQLValueFunction)  # now(), CURRENT_DATE


def op_name(expr: ast.A_Expr) -> str:
    return expr.name[-1].sval if expr.name else ""


class Block:
    """One query block (SELECT / UPDATE / DELETE): its tables and their aliases."""

    def __init__(self, tables: dict[str, TableFacts]):
        self.facts = tables
        self.aliases: dict[str, str] = {}  # alias or name -> table
        self.conditions: list[Condition] = []
        self.order_by: list[tuple[str, str, bool]] = []
        self.limit = False

    def add_range(self, rv: ast.RangeVar):
        if rv.schemaname not in (None, "public") and rv.relname not in self.facts:
            return
        name = rv.relname
        # With an alias, only the alias names the table (PostgreSQL refuses the bare name).
        self.aliases[rv.alias.aliasname if rv.alias else name] = name

    def resolve(self, ref: ast.ColumnRef) -> tuple[str, str] | None:
        """(alias, column): by alias, so a self-join's two sides stay apart."""
        fields = [f.sval for f in ref.fields if isinstance(f, ast.String)]
        if not fields or len(fields) != len(ref.fields):
            return None
        column = fields[-1]
        if len(fields) >= 2:
            return (fields[-2], column) if fields[-2] in self.aliases else None
        owners = [
            alias
            for alias, table in self.aliases.items()
            if column in getattr(self.facts.get(table), "columns", {})
        ]
        if len(owners) == 1:
            return owners[0], column
        if len(set(self.aliases.values())) == 1 and not self.facts:
            return next(iter(self.aliases)), column
        return None


def column_of(block: Block, node) -> tuple[str, str | None, str | None]:
    """(table, column, expression) when node is a column or an expression over one table's
    columns (upper(t.title)); (None, None, None) otherwise."""
    while isinstance(node, ast.TypeCast):
        node = node.arg
    if isinstance(node, ast.ColumnRef):
        resolved = block.resolve(node)
        if resolved:
            return resolved[0], resolved[1], None
        return None, None, None
    if isinstance(node, ast.FuncCall | ast.A_Expr | ast.CoalesceExpr):
        tables = set()
        refs = column_refs(node)
        for ref in refs:
            resolved = block.resolve(ref)
            if not resolved:
                return None, None, None
            tables.add(resolved[0])
        if len(tables) == 1:
            return tables.pop(), None, _expr_text(node)
    return None, None, None


def column_refs(node) -> list[ast.ColumnRef]:
    found = []

    def walk(n):
        if isinstance(n, ast.ColumnRef):
            found.append(n)
        elif isinstance(n, ast.SubLink | ast.SelectStmt):
            return
        elif isinstance(n, ast.Node):
            for name in n:
                walk(getattr(n, name))
        elif isinstance(n, tuple):
            for v in n:
                walk(v)

    walk(node)
    return found


def conjuncts(node) -> list:
    if node is None:
        return []
    if isinstance(node, ast.BoolExpr) and node.boolop == enums.BoolExprType.AND_EXPR:
        return [c for arg in node.args for c in conjuncts(arg)]
    return [node]
