"""The index advisor's vocabulary: catalog facts handed in, conditions read from SQL, candidates."""

from __future__ import annotations

from dataclasses import dataclass, field

from perfaudit.sqltext import quote_ident as _quote

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


def _literal(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, int | float):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"
