"""WHERE / JOIN ON conjuncts -> Conditions (equality, range, LIKE, @@, null tests, joins)."""

from __future__ import annotations

from pglast import ast, enums

from perfaudit.rules.advisor.facts import LIKE_OPS, RANGE_OPS, Condition
from perfaudit.rules.advisor.parse import (
    Block,
    column_of,
    conjuncts,
    const_value,
    is_value,
    op_name,
)


def add_conditions(block: Block, node, *, join: bool = False) -> None:
    for conj in conjuncts(node):
        cond = _condition(block, conj)
        if cond:
            block.conditions.extend(cond)


def _boolean(block: Block, node) -> list[Condition] | None:
    """``WHERE flag``, ``NOT flag``, ``IS [NOT] NULL``, ``IS TRUE/FALSE``; None for others."""
    if isinstance(node, ast.ColumnRef):  # WHERE flag
        table, column, _ = column_of(block, node)
        return [Condition(table, "eq", column, value=True, constant=True, op="=")] if table else []
    if isinstance(node, ast.BoolExpr) and node.boolop == enums.BoolExprType.NOT_EXPR:
        inner = node.args[0]
        if isinstance(inner, ast.ColumnRef):
            table, column, _ = column_of(block, inner)
            if table:
                return [Condition(table, "eq", column, value=False, constant=True, op="=")]
        return []
    if isinstance(node, ast.NullTest):
        table, column, _expr = column_of(block, node.arg)
        if table and column:
            kind = "null" if node.nulltesttype == enums.NullTestType.IS_NULL else "notnull"
            return [Condition(table, kind, column, constant=True)]
        return []
    if isinstance(node, ast.BooleanTest):
        table, column, _ = column_of(block, node.arg)
        kinds = {enums.BoolTestType.IS_TRUE: True, enums.BoolTestType.IS_FALSE: False}
        if table and column and node.booltesttype in kinds:
            value = kinds[node.booltesttype]
            return [Condition(table, "eq", column, value=value, constant=True, op="=")]
        return []
    return None


def _in_list(block: Block, node) -> list[Condition]:
    table, column, expr = column_of(block, node.lexpr)
    values = node.rexpr if isinstance(node.rexpr, tuple) else ()
    if table and values and all(is_value(v) for v in values):
        consts = tuple(const_value(v) for v in values)
        found = tuple(v for ok, v in consts if ok)
        return [Condition(table, "eq", column, expr, op="IN", values=found, constant=False)]
    return []


def _like(block: Block, node, op: str) -> list[Condition]:
    if op.startswith("!"):
        return []  # NOT LIKE: no index serves it
    table, column, expr = column_of(block, node.lexpr)
    if table and is_value(node.rexpr):
        pattern = _pattern(node.rexpr)
        ilike = node.kind == enums.A_Expr_Kind.AEXPR_ILIKE or op == "~~*"
        return [
            Condition(table, "like", column, expr, value=pattern, op="ILIKE" if ilike else "LIKE")
        ]
    return []


def _operator(block: Block, node, op: str) -> list[Condition]:
    """``@@``, ``=`` (a constant, or a join between two tables) and range operators."""
    left, right = node.lexpr, node.rexpr
    if op == "@@":
        for side, other in ((left, right), (right, left)):
            table, column, expr = column_of(block, side)
            if table and is_value(other):
                return [Condition(table, "fts", column, expr, op="@@")]
        return []
    if op not in RANGE_OPS | {"="}:
        return []
    ltable, lcol, lexpr = column_of(block, left)
    rtable, rcol, rexpr = column_of(block, right)
    if op == "=" and ltable and rtable and ltable != rtable:
        # A join: either side may be the inner side of a nested loop, looked up by its column.
        return [
            Condition(ltable, "join", lcol, lexpr, op="="),
            Condition(rtable, "join", rcol, rexpr, op="="),
        ]
    for table, col, expr, other in ((ltable, lcol, lexpr, right), (rtable, rcol, rexpr, left)):
        if table and is_value(other):
            constant, value = const_value(other)
            if op == "=":
                return [Condition(table, "eq", col, expr, value=value, constant=constant, op="=")]
            return [Condition(table, "range", col, expr, op=op)]
    return []


def _condition(block: Block, node) -> list[Condition]:
    boolean = _boolean(block, node)
    if boolean is not None:
        return boolean
    if isinstance(node, ast.SubLink) or not isinstance(node, ast.A_Expr):
        return []
    kind, op = node.kind, op_name(node)
    if kind == enums.A_Expr_Kind.AEXPR_IN and op == "=":
        return _in_list(block, node)
    if kind in (enums.A_Expr_Kind.AEXPR_BETWEEN, enums.A_Expr_Kind.AEXPR_BETWEEN_SYM):
        table, column, expr = column_of(block, node.lexpr)
        if table and all(is_value(v) for v in node.rexpr):
            return [Condition(table, "between", column, expr, op="BETWEEN")]
        return []
    if kind in (enums.A_Expr_Kind.AEXPR_LIKE, enums.A_Expr_Kind.AEXPR_ILIKE) or (
        kind == enums.A_Expr_Kind.AEXPR_OP and op in LIKE_OPS
    ):
        return _like(block, node, op)
    if kind != enums.A_Expr_Kind.AEXPR_OP:
        return []
    return _operator(block, node, op)


def _pattern(node) -> str | None:
    """The LIKE pattern literal, also inside UPPER('%x%'); None for a parameter."""
    while isinstance(node, ast.TypeCast):
        node = node.arg
    if isinstance(node, ast.FuncCall) and len(node.args or ()) == 1:
        return _pattern(node.args[0])
    constant, value = const_value(node)
    return value if constant and isinstance(value, str) else None
