"""Index advisor rules: which indexes could serve a statement, read from its parse tree.

Pure functions over a pglast parse tree and ``TableFacts`` (catalog facts handed in), tested
without a database. The verdict on whether a candidate *helps* belongs to the planner (the
what-if step in perfaudit.sandbox); these rules only decide what is worth asking it:

* per table of each query block: equality columns (most selective first), then one range column
  or the ORDER BY columns; a constant predicate that keeps a small part of the table becomes the
  ``WHERE`` of a partial index instead of a key column;
* ``LIKE``/``ILIKE`` with a wildcard -> GIN ``gin_trgm_ops`` (B-tree cannot serve ``'%x%'``), on
  the expression when the query wraps the column (``UPPER(col) LIKE UPPER(...)``: icontains);
* ``expr @@ query`` -> GIN on the tsvector expression (or column);
* ``UPPER(col) = ...`` -> an expression B-tree;
* never a candidate an existing valid index already covers as a leading prefix;
* candidates whose keys are a prefix of another's merge into the longer one, which serves both.
"""

from __future__ import annotations

import contextlib
import copy
import math
from dataclasses import dataclass, field, replace

from pglast import ast, enums, parse_sql
from pglast.stream import RawStream

#: PostgreSQL's own default selectivities (src/include/utils/selfuncs.h), used where the
#: statistics say nothing: an inequality keeps a third, a range between two bounds 0.5 %.
DEFAULT_INEQ_SEL = 1 / 3
DEFAULT_RANGE_SEL = 0.005
DEFAULT_EQ_SEL = 0.005

RANGE_OPS = {"<", ">", "<=", ">="}
LIKE_OPS = {"~~", "~~*", "!~~", "!~~*"}


class AdvisorInputError(ValueError):
    """A statement pglast cannot parse, or one with nothing to index (one line for the user)."""


# --- facts handed in by perfaudit.catalog.advisor -------------------------------------------


@dataclass(frozen=True)
class ColumnFacts:
    name: str
    type: str = "text"
    null_frac: float | None = None
    #: pg_stats semantics: > 0 a count, < 0 minus the fraction of rows (-1 = unique).
    n_distinct: float | None = None
    mcv: tuple[str, ...] = ()  # most common values, as text
    mcf: tuple[float, ...] = ()  # their frequencies
    avg_width: int | None = None


@dataclass(frozen=True)
class ExistingIndex:
    name: str
    method: str
    #: Key columns, or the deparsed expression (pg_get_indexdef per position) for expressions.
    keys: tuple[str, ...]
    descending: tuple[bool, ...] = ()
    opclasses: tuple[str, ...] = ()
    predicate: str | None = None
    unique: bool = False
    primary: bool = False
    valid: bool = True
    expression_positions: tuple[bool, ...] = ()


@dataclass(frozen=True)
class TableFacts:
    name: str
    rows: float
    size_bytes: int = 0
    columns: dict[str, ColumnFacts] = field(default_factory=dict)
    indexes: tuple[ExistingIndex, ...] = ()
    #: n_tup_ins + n_tup_upd + n_tup_del since the statistics reset.
    writes: int = 0
    inserts: int = 0
    updates: int = 0


# --- what the parse tree says ----------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """One conjunct of a WHERE / JOIN ON about one table."""

    table: str
    kind: str  # eq | range | between | like | fts | null | notnull | join
    column: str | None = None
    #: Normalized expression text when the condition is on an expression (``upper(title)``).
    expression: str | None = None
    #: The literal compared with (python value), when it is a constant.
    value: object = None
    constant: bool = False
    op: str = ""
    values: tuple = ()  # IN lists


@dataclass(frozen=True)
class Access:
    """How one query block reads one table."""

    table: str
    conditions: tuple[Condition, ...] = ()
    order_by: tuple[tuple[str, bool], ...] = ()  # (column, descending)
    limit: bool = False


@dataclass(frozen=True)
class Key:
    column: str | None = None
    expression: str | None = None
    descending: bool = False
    opclass: str | None = None

    @property
    def text(self) -> str:
        return self.column if self.column is not None else self.expression

    def sql(self) -> str:
        base = _quote(self.column) if self.column is not None else f"({self.expression})"
        if self.opclass:
            base += f" {self.opclass}"
        return base + (" DESC" if self.descending else "")


@dataclass(frozen=True)
class Predicate:
    """A constant condition turned into a partial index's WHERE."""

    column: str
    op: str  # = | IS NULL | IS NOT NULL
    value: object = None

    def sql(self) -> str:
        if self.op in {"IS NULL", "IS NOT NULL"}:
            return f"{_quote(self.column)} {self.op}"
        if isinstance(self.value, bool):
            return _quote(self.column) if self.value else f"NOT {_quote(self.column)}"
        return f"{_quote(self.column)} = {_literal(self.value)}"


@dataclass(frozen=True)
class Candidate:
    table: str
    keys: tuple[Key, ...]
    using: str = "btree"
    where: tuple[Predicate, ...] = ()
    statements: frozenset[int] = frozenset()
    #: How many leading keys are equality columns: their ASC/DESC does not matter to anyone.
    equality: int = field(default=0, compare=False)

    @property
    def expression(self) -> str | None:
        exprs = [k.expression for k in self.keys if k.expression is not None]
        return ", ".join(exprs) if exprs else None

    @property
    def where_sql(self) -> str | None:
        return " AND ".join(p.sql() for p in self.where) if self.where else None

    @property
    def identity(self) -> tuple:
        return (self.table, self.using, self.keys, self.where)

    def create_sql(self, name: str, *, concurrently: bool = True) -> str:
        sql = (
            f"CREATE INDEX {'CONCURRENTLY ' if concurrently else ''}{_quote(name)} ON "
            f"{_quote(self.table)} USING {self.using} ({', '.join(k.sql() for k in self.keys)})"
        )
        if self.where:
            sql += f" WHERE {self.where_sql}"
        return sql


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, int | float):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


# --- parsing ---------------------------------------------------------------------------------


def parse_statement(sql: str):
    """The one statement's parse tree (pglast, i.e. PostgreSQL's own parser)."""
    try:
        parsed = parse_sql(sql)
    except Exception as exc:  # pglast.parser.ParseError
        raise AdvisorInputError(f"cannot parse the statement: {exc}") from None
    if len(parsed) != 1:
        raise AdvisorInputError(f"one statement at a time: this SQL holds {len(parsed)}")
    return parsed[0].stmt


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


def _const_value(node):
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


def _is_value(node) -> bool:
    """A literal, a $n parameter or a function of them: something that is fixed per execution."""
    while isinstance(node, ast.TypeCast):
        node = node.arg
    if isinstance(node, ast.A_Const | ast.ParamRef):
        return True
    if isinstance(node, ast.FuncCall):
        return all(_is_value(a) for a in node.args or ())
    if isinstance(node, ast.A_Expr):
        return all(_is_value(x) for x in (node.lexpr, node.rexpr) if isinstance(x, ast.Node))
    return isinstance(node, ast.SQLValueFunction)  # now(), CURRENT_DATE


def _op_name(expr: ast.A_Expr) -> str:
    return expr.name[-1].sval if expr.name else ""


class _Block:
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


def _column_of(block: _Block, node) -> tuple[str, str | None, str | None]:
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
        refs = _column_refs(node)
        for ref in refs:
            resolved = block.resolve(ref)
            if not resolved:
                return None, None, None
            tables.add(resolved[0])
        if len(tables) == 1:
            return tables.pop(), None, _expr_text(node)
    return None, None, None


def _column_refs(node) -> list[ast.ColumnRef]:
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


def _conjuncts(node) -> list:
    if node is None:
        return []
    if isinstance(node, ast.BoolExpr) and node.boolop == enums.BoolExprType.AND_EXPR:
        return [c for arg in node.args for c in _conjuncts(arg)]
    return [node]


def _conditions(block: _Block, node, *, join: bool = False) -> None:
    for conj in _conjuncts(node):
        cond = _condition(block, conj)
        if cond:
            block.conditions.extend(cond)


def _condition(block: _Block, node) -> list[Condition]:
    if isinstance(node, ast.ColumnRef):  # WHERE flag
        table, column, _ = _column_of(block, node)
        if table:
            return [Condition(table, "eq", column, value=True, constant=True, op="=")]
        return []
    if isinstance(node, ast.BoolExpr) and node.boolop == enums.BoolExprType.NOT_EXPR:
        inner = node.args[0]
        if isinstance(inner, ast.ColumnRef):
            table, column, _ = _column_of(block, inner)
            if table:
                return [Condition(table, "eq", column, value=False, constant=True, op="=")]
        return []
    if isinstance(node, ast.NullTest):
        table, column, expr = _column_of(block, node.arg)
        if table and column:
            kind = "null" if node.nulltesttype == enums.NullTestType.IS_NULL else "notnull"
            return [Condition(table, kind, column, constant=True)]
        return []
    if isinstance(node, ast.BooleanTest):
        table, column, _ = _column_of(block, node.arg)
        kinds = {
            enums.BoolTestType.IS_TRUE: True,
            enums.BoolTestType.IS_FALSE: False,
        }
        if table and column and node.booltesttype in kinds:
            return [
                Condition(
                    table, "eq", column, value=kinds[node.booltesttype], constant=True, op="="
                )
            ]
        return []
    if isinstance(node, ast.SubLink):
        return []
    if not isinstance(node, ast.A_Expr):
        return []
    kind = node.kind
    op = _op_name(node)
    if kind == enums.A_Expr_Kind.AEXPR_IN and op == "=":
        table, column, expr = _column_of(block, node.lexpr)
        values = node.rexpr if isinstance(node.rexpr, tuple) else ()
        if table and values and all(_is_value(v) for v in values):
            consts = tuple(_const_value(v) for v in values)
            return [
                Condition(
                    table,
                    "eq",
                    column,
                    expr,
                    op="IN",
                    values=tuple(v for ok, v in consts if ok),
                    constant=False,
                )
            ]
        return []
    if kind in (enums.A_Expr_Kind.AEXPR_BETWEEN, enums.A_Expr_Kind.AEXPR_BETWEEN_SYM):
        table, column, expr = _column_of(block, node.lexpr)
        if table and all(_is_value(v) for v in node.rexpr):
            return [Condition(table, "between", column, expr, op="BETWEEN")]
        return []
    if kind in (enums.A_Expr_Kind.AEXPR_LIKE, enums.A_Expr_Kind.AEXPR_ILIKE) or (
        kind == enums.A_Expr_Kind.AEXPR_OP and op in LIKE_OPS
    ):
        if op.startswith("!"):
            return []  # NOT LIKE: no index serves it
        table, column, expr = _column_of(block, node.lexpr)
        if table and _is_value(node.rexpr):
            pattern = _pattern(node.rexpr)
            ilike = kind == enums.A_Expr_Kind.AEXPR_ILIKE or op == "~~*"
            return [
                Condition(
                    table, "like", column, expr, value=pattern, op="ILIKE" if ilike else "LIKE"
                )
            ]
        return []
    if kind != enums.A_Expr_Kind.AEXPR_OP:
        return []
    left, right = node.lexpr, node.rexpr
    if op == "@@":
        for side, other in ((left, right), (right, left)):
            table, column, expr = _column_of(block, side)
            if table and _is_value(other):
                return [Condition(table, "fts", column, expr, op="@@")]
        return []
    if op not in RANGE_OPS | {"="}:
        return []
    ltable, lcol, lexpr = _column_of(block, left)
    rtable, rcol, rexpr = _column_of(block, right)
    if op == "=" and ltable and rtable and ltable != rtable:
        # A join: either side may be the inner side of a nested loop, looked up by its column.
        return [
            Condition(ltable, "join", lcol, lexpr, op="="),
            Condition(rtable, "join", rcol, rexpr, op="="),
        ]
    for table, col, expr, other in (
        (ltable, lcol, lexpr, right),
        (rtable, rcol, rexpr, left),
    ):
        if table and _is_value(other):
            constant, value = _const_value(other)
            if op == "=":
                return [Condition(table, "eq", col, expr, value=value, constant=constant, op="=")]
            return [Condition(table, "range", col, expr, op=op)]
    return []


def _pattern(node) -> str | None:
    """The LIKE pattern literal, also inside UPPER('%x%'); None for a parameter."""
    while isinstance(node, ast.TypeCast):
        node = node.arg
    if isinstance(node, ast.FuncCall) and len(node.args or ()) == 1:
        return _pattern(node.args[0])
    constant, value = _const_value(node)
    return value if constant and isinstance(value, str) else None


def _from_item(block: _Block, item, tables: dict[str, TableFacts], blocks: list):
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


def _finish(block: _Block, where, blocks: list, tables):
    for quals in block._pending_quals:
        _conditions(block, quals)
        _sublinks(quals, tables, blocks)
    _conditions(block, where)
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
    block = _Block(tables)
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
    blocks: list[_Block] = []
    if isinstance(stmt, ast.SelectStmt):
        _select(stmt, tables, blocks)
    elif isinstance(stmt, ast.UpdateStmt | ast.DeleteStmt):
        if stmt.withClause:
            for cte in stmt.withClause.ctes or ():
                _select(cte.ctequery, tables, blocks)
        block = _Block(tables)
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
    """Table names a statement reads (for the catalog to collect), in order of appearance."""
    stmt = parse_statement(sql)
    names = []

    def walk(n):
        if isinstance(n, ast.RangeVar):
            names.append(n.relname)
        if isinstance(n, ast.Node):
            for name in n:
                walk(getattr(n, name))
        elif isinstance(n, tuple):
            for v in n:
                walk(v)

    walk(stmt)
    return list(dict.fromkeys(names))


def max_param(sql: str) -> int:
    """The highest $n in the statement (0 when none): PREPARE needs as many arguments."""
    stmt = parse_statement(sql)
    highest = 0

    def walk(n):
        nonlocal highest
        if isinstance(n, ast.ParamRef):
            highest = max(highest, n.number)
        if isinstance(n, ast.Node):
            for name in n:
                walk(getattr(n, name))
        elif isinstance(n, tuple):
            for v in n:
                walk(v)

    walk(stmt)
    return highest


# --- selectivity -----------------------------------------------------------------------------


def _ndistinct(col: ColumnFacts | None, rows: float) -> float | None:
    if col is None or col.n_distinct is None or col.n_distinct == 0:
        return None
    return col.n_distinct if col.n_distinct > 0 else -col.n_distinct * max(rows, 1)


def selectivity(cond: Condition, table: TableFacts) -> float:
    """The share of the table a condition keeps, from pg_stats as the planner would estimate."""
    col = table.columns.get(cond.column) if cond.column else None
    null_frac = (col.null_frac or 0.0) if col else 0.0
    if cond.kind == "null":
        return null_frac if col and col.null_frac is not None else DEFAULT_EQ_SEL
    if cond.kind == "notnull":
        return 1 - null_frac
    if cond.kind in {"eq", "join"}:
        values = cond.values if cond.op == "IN" else ((cond.value,) if cond.constant else ())
        if cond.op == "IN" and not values:
            values = ()
        nd = _ndistinct(col, table.rows)
        if col is None or nd is None:
            return DEFAULT_EQ_SEL * max(1, len(values))
        mcv = dict(zip(col.mcv, col.mcf, strict=False))
        rest = max(0.0, 1 - sum(col.mcf) - null_frac)
        other = rest / max(1.0, nd - len(col.mcv))
        if not values:  # a parameter or an expression: the average value
            return min(1.0, (1 - null_frac) / nd) * (len(cond.values) or 1)
        total = 0.0
        for v in values:
            key = ("t" if v else "f") if isinstance(v, bool) else str(v)
            total += mcv.get(key, other)
        return min(1.0, total)
    if cond.kind == "between":
        return DEFAULT_RANGE_SEL
    if cond.kind == "range":
        return DEFAULT_INEQ_SEL
    return 1.0


# --- candidates ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AdvisorRules:
    #: A constant condition keeping at most this share of the table becomes a partial index's WHERE.
    partial_max_fraction: float = 0.1
    #: Conditions keeping more than this share leave nothing for an index to do (unless an
    #: ORDER BY ... LIMIT can stop early on an index order).
    no_help_fraction: float = 0.2
    #: Only columns with at most this many distinct values (flags, states) give partial indexes.
    partial_max_distinct: int = 20
    #: Never more key columns than this.
    max_columns: int = 4


def _low_cardinality(col: ColumnFacts | None, rules: AdvisorRules) -> bool:
    """A flag or a status column: a rare value there is a fixed subset worth a partial index
    (``state = 'failed'``), unlike a rare value of a key (``owner_id = 42``)."""
    if col is None:
        return False
    if col.type == "boolean":
        return True
    return col.n_distinct is not None and 0 < col.n_distinct <= rules.partial_max_distinct


def _pattern_ops(col: ColumnFacts | None) -> str:
    if col and col.type.startswith("character varying"):
        return "varchar_pattern_ops"
    return "text_pattern_ops"


def candidates_for(
    access: Access, table: TableFacts, *, statement: int, rules: AdvisorRules = AdvisorRules()
) -> list[Candidate]:
    """Candidate indexes for one table access, the most promising first."""
    conds = access.conditions
    ids = frozenset({statement})
    result: list[Candidate] = []

    # GIN: substring search and full text, which no B-tree serves.
    for cond in conds:
        if cond.kind == "like":
            pattern = cond.value
            if pattern is not None and not any(ch in pattern for ch in "%_"):
                continue  # no wildcard: an equality, which the B-tree path does not see anyway
            if pattern is not None and cond.op == "LIKE" and not pattern.startswith(("%", "_")):
                # A prefix pattern: a B-tree with pattern_ops serves it (C-collation order).
                opclass = _pattern_ops(table.columns.get(cond.column))
                key = Key(cond.column, cond.expression, opclass=opclass)
                result.append(Candidate(table.name, (key,), "btree", (), ids))
                continue
            key = Key(cond.column, cond.expression, opclass="gin_trgm_ops")
            result.append(Candidate(table.name, (key,), "gin", (), ids))
        elif cond.kind == "fts":
            result.append(
                Candidate(table.name, (Key(cond.column, cond.expression),), "gin", (), ids)
            )

    # B-tree: equality first (most selective first), then one range column or the sort.
    partial: list[Predicate] = []
    eq: list[tuple[float, Condition]] = []
    ranges: list[Condition] = []
    for cond in conds:
        sel = selectivity(cond, table)
        if cond.kind in {"null", "notnull"} or (cond.kind == "eq" and cond.constant):
            if (
                sel <= rules.partial_max_fraction
                and cond.column is not None
                and cond.op != "IN"
                and (cond.kind != "eq" or _low_cardinality(table.columns.get(cond.column), rules))
            ):
                op = {"null": "IS NULL", "notnull": "IS NOT NULL"}.get(cond.kind, "=")
                partial.append(Predicate(cond.column, op, cond.value))
                continue
            if cond.kind in {"null", "notnull"}:
                continue  # keeps most of the table: no use as a key
        if cond.kind in {"eq", "join"}:
            eq.append((sel, cond))
        elif cond.kind in {"range", "between"}:
            ranges.append(cond)
    eq.sort(key=lambda p: (p[0], p[1].column or p[1].expression or ""))
    eq_keys: list[Key] = []
    for _sel, cond in eq:
        key = Key(cond.column, cond.expression)
        if key not in eq_keys:
            eq_keys.append(key)
    sort_keys = (
        [Key(col, None, desc) for col, desc in access.order_by if col is not None]
        if access.order_by and all(c is not None for c, _d in access.order_by)
        else []
    )
    # Directions as the query sorts (an index also reads backwards; covered_by knows that).
    sort_keys = [k for k in sort_keys if Key(k.column) not in eq_keys]
    range_keys = []
    for cond in ranges:
        key = Key(cond.column, cond.expression)
        if key not in eq_keys and key not in range_keys:
            range_keys.append(key)

    # Only what the statistics can say (equalities, null tests, flags): a range's share depends
    # on its bounds (histograms the planner reads and we do not), so it never rules a table out.
    selective = 0.0 if ranges else math.prod(s for s, _c in eq)
    for pred in partial:
        selective *= selectivity(
            Condition(
                table.name,
                {"IS NULL": "null", "IS NOT NULL": "notnull"}.get(pred.op, "eq"),
                pred.column,
                value=pred.value,
                constant=True,
            ),
            table,
        )
    stops_early = bool(sort_keys) and access.limit
    if selective >= rules.no_help_fraction and not stops_early:
        return result  # e.g. a predicate that keeps half the table: a seq scan is right

    where = tuple(sorted(set(partial), key=lambda p: (p.column, p.op)))
    variants: list[tuple[Key, ...]] = []
    if sort_keys:
        variants.append(tuple(eq_keys + sort_keys))
    if range_keys:
        variants.append(tuple(eq_keys + range_keys[:1]))
    if eq_keys:
        variants.append(tuple(eq_keys))
    if not variants and where:
        # Only the constant predicate: index it on its own column, partial.
        variants.append((Key(where[0].column),))
    for keys in variants:
        keys = tuple(keys[: rules.max_columns])
        if keys and all(
            Candidate(table.name, keys, "btree", where).identity != c.identity for c in result
        ):
            result.append(Candidate(table.name, keys, "btree", where, ids, equality=len(eq_keys)))
    return result


def _key_matches(key: Key, existing: ExistingIndex, position: int) -> bool:
    if position >= len(existing.keys):
        return False
    name = existing.keys[position]
    is_expr = existing.expression_positions[position] if existing.expression_positions else False
    if key.column is not None:
        if is_expr or name != key.column:
            return False
    else:
        if not is_expr or normalize_expression(name) != normalize_expression(key.expression):
            return False
    opclass = existing.opclasses[position] if position < len(existing.opclasses) else ""
    if key.opclass:
        return opclass == key.opclass
    # A pattern_ops B-tree orders by bytes, not by the collation: it serves no plain lookup
    # or sort the way a default-opclass index does.
    return not opclass.endswith("_pattern_ops")


def covered_by(candidate: Candidate, indexes: tuple[ExistingIndex, ...]) -> ExistingIndex | None:
    """An existing valid index whose leading keys are the candidate's (same method, predicate
    no narrower than the candidate's), in the same or the fully reversed order."""
    for index in indexes:
        if not index.valid or index.method != candidate.using:
            continue
        if index.predicate is not None:
            wanted = candidate.where_sql
            if wanted is None or normalize_expression(index.predicate) != normalize_expression(
                wanted
            ):
                continue
        if len(candidate.keys) > len(index.keys):
            continue
        if not all(_key_matches(k, index, i) for i, k in enumerate(candidate.keys)):
            continue
        if candidate.using == "btree" and index.descending:
            skip = candidate.equality
            mine = [k.descending for k in candidate.keys][skip:]
            theirs = list(index.descending[skip : len(candidate.keys)])
            if mine != theirs and mine != [not d for d in theirs]:
                continue
        return index
    return None


def redundant_with(candidate: Candidate, indexes: tuple[ExistingIndex, ...]) -> list[str]:
    """Existing non-unique B-trees that the candidate makes redundant (their keys are a strict
    leading prefix of the candidate's, same predicate)."""
    if candidate.using != "btree":
        return []
    names = []
    for index in indexes:
        if index.method != "btree" or index.unique or index.primary or not index.valid:
            continue
        if (index.predicate is None) != (candidate.where_sql is None):
            continue
        if index.predicate is not None and normalize_expression(
            index.predicate
        ) != normalize_expression(candidate.where_sql):
            continue
        n = len(index.keys)
        if n >= len(candidate.keys):
            continue
        probe = replace(candidate, keys=candidate.keys[:n], where=candidate.where)
        if covered_by(probe, (index,)) is index:
            names.append(index.name)
    return names


def is_prefix(short: Candidate, long: Candidate) -> bool:
    if short.table != long.table or short.using != long.using or short.where != long.where:
        return False
    if short.using != "btree":
        return short.keys == long.keys
    if len(short.keys) > len(long.keys):
        return False
    head = long.keys[: len(short.keys)]
    if [(k.column, k.expression, k.opclass) for k in head] != [
        (k.column, k.expression, k.opclass) for k in short.keys
    ]:
        return False
    # Equality keys do not care about direction; a differing sort direction would.
    skip = min(short.equality, long.equality)
    mine = [k.descending for k in short.keys][skip:]
    theirs = [k.descending for k in head][skip:]
    return mine == theirs or mine == [not d for d in theirs] or len(short.keys) == 1


def merge(candidates: list[Candidate]) -> list[Candidate]:
    """One candidate per identity, statements unioned; a candidate whose keys lead another's
    also offers the longer one to its statements (the what-if step checks it serves them)."""
    by_identity: dict[tuple, Candidate] = {}
    for cand in candidates:
        found = by_identity.get(cand.identity)
        by_identity[cand.identity] = (
            replace(
                found,
                statements=found.statements | cand.statements,
                equality=min(found.equality, cand.equality),
            )
            if found
            else cand
        )
    merged = list(by_identity.values())
    result = []
    for cand in merged:
        extra = frozenset().union(
            *(other.statements for other in merged if other is not cand and is_prefix(other, cand))
        )
        result.append(replace(cand, statements=cand.statements | extra))
    return result


def generate(
    statements: list[list[Access]],
    tables: dict[str, TableFacts],
    *,
    rules: AdvisorRules = AdvisorRules(),
) -> tuple[list[Candidate], dict[int, list[str]]]:
    """All merged candidates for the statements, and per statement the existing indexes that
    already cover one of its candidates (served: no suggestion for it)."""
    found: list[Candidate] = []
    served: dict[int, list[str]] = {}
    for number, accesses in enumerate(statements):
        for access in accesses:
            facts = tables.get(access.table)
            if facts is None:
                continue
            for cand in candidates_for(access, facts, statement=number, rules=rules):
                existing = covered_by(cand, facts.indexes)
                if existing is not None:
                    served.setdefault(number, []).append(existing.name)
                    continue
                found.append(cand)
    return merge(found), served


def evaluate(
    statements: list[list[Access]], tables: dict[str, TableFacts], conf
) -> tuple[list[Candidate], dict[int, list[str]]]:
    """``generate`` with the thresholds of ``settings.PERFAUDIT`` (a PerfauditSettings)."""
    rules = AdvisorRules(
        partial_max_fraction=conf.ADVISOR_PARTIAL_MAX_FRACTION,
        no_help_fraction=conf.ADVISOR_NO_HELP_FRACTION,
    )
    return generate(statements, tables, rules=rules)


# --- choosing among verified candidates ------------------------------------------------------


@dataclass(frozen=True)
class Trial:
    """The planner's answer for one candidate on one statement."""

    candidate: int
    statement: int
    cost_before: float
    cost_after: float
    used: bool  # the plan uses the candidate index

    @property
    def reduction(self) -> float:
        return 1 - self.cost_after / self.cost_before if self.cost_before > 0 else 0.0


def choose(
    candidates: list[Candidate], trials: list[Trial], *, min_reduction: float
) -> list[tuple[Candidate, list[Trial]]]:
    """Pick indexes greedily: the one serving the most statements (each by at least
    ``min_reduction`` of its plan cost, with the index in the plan) first, then by total cost
    saved, fewer columns on ties; each statement is served once."""
    good: dict[int, list[Trial]] = {}
    for trial in trials:
        if trial.used and trial.reduction >= min_reduction:
            good.setdefault(trial.candidate, []).append(trial)
    chosen: list[tuple[Candidate, list[Trial]]] = []
    served: set[int] = set()
    while True:
        best = None
        for number, winning in good.items():
            fresh = [t for t in winning if t.statement not in served]
            if not fresh:
                continue
            saved = sum(t.cost_before - t.cost_after for t in fresh)
            score = (len(fresh), saved, -len(candidates[number].keys), -number)
            if best is None or score > best[0]:
                best = (score, number, fresh)
        if best is None:
            return chosen
        _score, number, fresh = best
        chosen.append((candidates[number], sorted(fresh, key=lambda t: t.statement)))
        served |= {t.statement for t in fresh}


# --- write cost ------------------------------------------------------------------------------


def estimated_size(candidate: Candidate, table: TableFacts, share: float = 1.0) -> int:
    """A B-tree's leaf size from row count and key widths (8-byte tuple header, 4-byte line
    pointer, 90 % fill); for GIN trigram, about three entries per indexed character."""
    rows = max(table.rows, 0) * share
    width = 0
    for key in candidate.keys:
        col = table.columns.get(key.column) if key.column else None
        width += (col.avg_width if col and col.avg_width else 16) if key.column else 16
    if candidate.using == "gin":
        return int(rows * width * 3 * 1.1)
    tuple_bytes = 8 + ((width + 7) // 8) * 8
    return int(rows * (tuple_bytes + 4) / 0.9)


def write_cost(
    candidate: Candidate,
    table: TableFacts,
    *,
    size_bytes: int | None = None,
    size_source: str | None = None,
) -> dict:
    """What the index costs writers: every INSERT adds an entry, an UPDATE of a key column
    (or any UPDATE that cannot be HOT) another, and the table gets one more index to maintain."""
    share = 1.0
    for pred in candidate.where:
        share *= selectivity(
            Condition(
                table.name,
                {"IS NULL": "null", "IS NOT NULL": "notnull"}.get(pred.op, "eq"),
                pred.column,
                value=pred.value,
                constant=True,
            ),
            table,
        )
    size = size_bytes if size_bytes is not None else estimated_size(candidate, table, share)
    existing = sum(1 for i in table.indexes if i.valid)
    columns = sorted(
        {k.column for k in candidate.keys if k.column} | {p.column for p in candidate.where}
    )
    return {
        "estimated_bytes": size,
        "size_source": "estimate" if size_bytes is None else (size_source or "measured"),
        "indexes_on_table": existing,
        "index_writes_per_insert": f"{existing} -> {existing + 1}",
        "writes_since_reset": table.writes,
        "inserts_since_reset": table.inserts,
        "updates_since_reset": table.updates,
        "updates_of_these_columns_lose_hot": columns,
        "gin_pending_list": candidate.using == "gin",
    }


def _expression_node(text: str):
    try:
        return parse_sql(f"SELECT {text}")[0].stmt.targetList[0].val
    except Exception:
        return None


def referenced_columns(expression: str) -> list[str]:
    """Column names an index expression uses, in order."""
    node = _expression_node(expression)
    names = [
        ref.fields[-1].sval for ref in _column_refs(node) if isinstance(ref.fields[-1], ast.String)
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
