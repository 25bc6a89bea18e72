"""The index advisor's vocabulary: conditions read from SQL, keys, candidate indexes. (The
catalog's facts it judges are snapshots: perfaudit.snapshots.advisor.)"""

from __future__ import annotations

from dataclasses import dataclass, field

from perfaudit import ddl

#: PostgreSQL's own default selectivities (src/include/utils/selfuncs.h), used where the
#: statistics say nothing: an inequality keeps a third, a range between two bounds 0.5 %.
DEFAULT_INEQ_SEL = 1 / 3
DEFAULT_RANGE_SEL = 0.005
DEFAULT_EQ_SEL = 0.005

RANGE_OPS = {"<", ">", "<=", ">="}
LIKE_OPS = {"~~", "~~*", "!~~", "!~~*"}


class AdvisorInputError(ValueError):
    """A statement pglast cannot parse, or one with nothing to index (one line for the user)."""


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
        base = ddl.ident(self.column) if self.column is not None else f"({self.expression})"
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
        column = ddl.ident(self.column)
        if self.op in {"IS NULL", "IS NOT NULL"}:
            return f"{column} {self.op}"
        if isinstance(self.value, bool):
            return column if self.value else f"NOT {column}"
        return f"{column} = {ddl.literal(self.value)}"


@dataclass(frozen=True)
class Candidate:
    table: str
    keys: tuple[Key, ...]
    using: str = "btree"
    where: tuple[Predicate, ...] = ()
    statements: frozenset[int] = frozenset()
    #: How many leading keys are equality columns: their ASC/DESC does not matter to anyone.
    equality: int = field(default=0, compare=False)
    #: The name of the declared index this is (missing from the database: restore it).
    restore: str | None = field(default=None, compare=False)

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

    def create_sql(
        self, name: str, *, concurrently: bool = True, if_not_exists: bool = False
    ) -> str:
        return ddl.create_index(
            name,
            ddl.ident(self.table),
            [k.sql() for k in self.keys],
            method=self.using,
            where=self.where_sql,
            concurrently=concurrently,
            if_not_exists=if_not_exists,
            terminate=False,
        )
