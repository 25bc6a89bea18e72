"""Query blocks (SELECT, UPDATE, DELETE, subqueries, CTEs, UNION arms) -> table Accesses."""

from __future__ import annotations

from dataclasses import replace

from pglast import ast, enums, parse_sql

from perfaudit import sqltext
from perfaudit.rules.advisor.conditions import add_conditions
from perfaudit.rules.advisor.facts import Access, AdvisorInputError
from perfaudit.rules.advisor.parse import Block, column_refs, parse_statement
from perfaudit.snapshots.advisor import TableFacts


def _from_item(block: Block, item, tables: dict[str, TableFacts], blocks: list):
    if isinstance(item, ast.RangeVar):
        block.add_range(item)
    elif isinstance(item, ast.JoinExpr):
        _from_item(block, item.larg, tables, blocks)
        _from_item(block, item.rarg, tables, blocks)
        if item.quals is not None:
            block._pending_quals.append(item.quals)
    elif isinstance(item, ast.RangeSubselect):
        _select(item.subquery, tables, blocks)


def _sublinks(node, tables, blocks):
    """Subqueries inside an expression are query blocks of their own."""
    if isinstance(node, ast.SubLink):
        _select(node.subselect, tables, blocks)
    elif isinstance(node, ast.Node):
        for name in node:
            _sublinks(getattr(node, name), tables, blocks)
    elif isinstance(node, tuple):
        for v in node:
            _sublinks(v, tables, blocks)


def _finish(block: Block, where, blocks: list, tables):
    for quals in block._pending_quals:
        add_conditions(block, quals)
        _sublinks(quals, tables, blocks)
    add_conditions(block, where)
    _sublinks(where, tables, blocks)
    blocks.append(block)


def _select(stmt, tables: dict[str, TableFacts], blocks: list):
    if not isinstance(stmt, ast.SelectStmt):
        return
    if stmt.withClause:
        for cte in stmt.withClause.ctes or ():
            _select(cte.ctequery, tables, blocks)
    if stmt.op != enums.SetOperation.SETOP_NONE:
        _select(stmt.larg, tables, blocks)
        _select(stmt.rarg, tables, blocks)
        return
    block = Block(tables)
    block._pending_quals = []
    for item in stmt.fromClause or ():
        _from_item(block, item, tables, blocks)
    for sort in stmt.sortClause or ():
        if isinstance(sort.node, ast.ColumnRef):
            resolved = block.resolve(sort.node)
            if resolved:
                block.order_by.append(
                    (resolved[0], resolved[1], sort.sortby_dir == enums.SortByDir.SORTBY_DESC)
                )
                continue
        block.order_by.append((None, None, False))  # an expression: no index order to offer
    block.limit = stmt.limitCount is not None
    for target in stmt.targetList or ():
        _sublinks(target, tables, blocks)
    _finish(block, stmt.whereClause, blocks, tables)


def analyze_statement(sql: str, tables: dict[str, TableFacts] | None = None) -> list[Access]:
    """How each query block of ``sql`` reads each table: conditions, ORDER BY, LIMIT."""
    stmt = parse_statement(sql)
    tables = tables or {}
    blocks: list[Block] = []
    if isinstance(stmt, ast.SelectStmt):
        _select(stmt, tables, blocks)
    elif isinstance(stmt, ast.UpdateStmt | ast.DeleteStmt):
        if stmt.withClause:
            for cte in stmt.withClause.ctes or ():
                _select(cte.ctequery, tables, blocks)
        block = Block(tables)
        block._pending_quals = []
        block.add_range(stmt.relation)
        extra = stmt.fromClause if isinstance(stmt, ast.UpdateStmt) else stmt.usingClause
        for item in extra or ():
            _from_item(block, item, tables, blocks)
        _finish(block, stmt.whereClause, blocks, tables)
    elif isinstance(stmt, ast.ExplainStmt):
        raise AdvisorInputError("give the statement itself, not an EXPLAIN of it")
    else:
        raise AdvisorInputError(
            f"{type(stmt).__name__.removesuffix('Stmt').upper()} statements use no index to "
            "find rows: give a SELECT, UPDATE or DELETE"
        )
    accesses = []
    for block in blocks:
        for alias, table in block.aliases.items():
            conds = tuple(replace(c, table=table) for c in block.conditions if c.table == alias)
            order = ()
            if block.order_by and all(t == alias for t, _c, _d in block.order_by):
                order = tuple((c, d) for _t, c, d in block.order_by)
            accesses.append(Access(table, conds, order, block.limit))
    return accesses


def referenced_tables(sql: str) -> list[str]:
    """Table names a statement reads, in order of appearance (sqltext.referenced_tables)."""
    try:
        return sqltext.referenced_tables(sql)
    except sqltext.SQLTextError as exc:
        raise AdvisorInputError(str(exc)) from None


def max_param(sql: str) -> int:
    """The highest $n in the statement (0 when none): PREPARE needs as many arguments."""
    try:
        return sqltext.max_param(sql)
    except sqltext.SQLTextError as exc:
        raise AdvisorInputError(str(exc)) from None


def _expression_node(text: str):
    try:
        return parse_sql(f"SELECT {text}")[0].stmt.targetList[0].val
    except Exception:
        return None


def referenced_columns(expression: str) -> list[str]:
    """Column names an index expression uses, in order."""
    node = _expression_node(expression)
    names = [
        ref.fields[-1].sval for ref in column_refs(node) if isinstance(ref.fields[-1], ast.String)
    ]
    return list(dict.fromkeys(names))


def simple_function(expression: str | None) -> tuple[str | None, str | None]:
    """("upper", "title") for ``upper(title)`` / ``upper((title)::text)``; (None, None) else."""
    node = _expression_node(expression) if expression else None
    if isinstance(node, ast.FuncCall) and len(node.args or ()) == 1:
        arg = node.args[0]
        while isinstance(arg, ast.TypeCast):
            arg = arg.arg
        if isinstance(arg, ast.ColumnRef) and isinstance(arg.fields[-1], ast.String):
            return node.funcname[-1].sval.lower(), arg.fields[-1].sval
    return None, None
