"""Selectivity from pg_stats, and the candidate indexes for one table access."""

from __future__ import annotations

import math
from dataclasses import dataclass

from perfaudit import sqltext
from perfaudit.rules.advisor.facts import (
    DEFAULT_EQ_SEL,
    DEFAULT_INEQ_SEL,
    DEFAULT_RANGE_SEL,
    Access,
    Candidate,
    Condition,
    Key,
    Predicate,
)
from perfaudit.snapshots.advisor import ColumnFacts, TableFacts

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
    #: Tables with fewer rows get no candidate (a sequential scan reads them in a few pages).
    min_table_rows: float = 0


def _low_cardinality(col: ColumnFacts | None, rules: AdvisorRules) -> bool:
    """A flag or a status column: a rare value there is a fixed subset worth a partial index
    (``state = 'failed'``), unlike a rare value of a key (``owner_id = 42``)."""
    if col is None:
        return False
    if col.type == "boolean":
        return True
    return col.n_distinct is not None and 0 < col.n_distinct <= rules.partial_max_distinct


def _unique_column(col: ColumnFacts | None) -> bool:
    """pg_stats says every value is distinct (n_distinct = -1)."""
    return col is not None and col.n_distinct is not None and col.n_distinct <= -1


def _pattern_ops(col: ColumnFacts | None) -> str:
    if col and col.type.startswith("character varying"):
        return "varchar_pattern_ops"
    return "text_pattern_ops"


def _gin_and_pattern(conds, table: TableFacts, ids: frozenset) -> list[Candidate]:
    """GIN for substring search and full text, which no B-tree serves; a pattern_ops B-tree
    for a prefix LIKE."""
    result = []
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
    return result


def _sorted_conditions(conds, table: TableFacts, rules: AdvisorRules):
    """(constant conditions for a partial index's WHERE, (selectivity, equality) pairs,
    ranges)."""
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
    return partial, eq, ranges


def _keys(access: Access, eq, ranges) -> tuple[list[Key], list[Key], list[Key]]:
    """(equality keys, most selective first; the sort keys; the range keys)."""
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
    return eq_keys, sort_keys, range_keys


def _kept_share(eq, ranges, partial: list[Predicate], table: TableFacts) -> float:
    """Only what the statistics can say (equalities, null tests, flags): a range's share
    depends on its bounds (histograms the planner reads and we do not), so it never rules a
    table out."""
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
    return selective


def parameterized(cond_or_key) -> bool:
    """An expression holding a ``$n`` (pg_stat_statements' text of ``to_tsvector($1::regconfig,
    ...)``): no index can store a value given per call, so no candidate is made of it."""
    expression = cond_or_key.expression
    return expression is not None and sqltext.has_positional_params(expression)


def candidates_for(
    access: Access, table: TableFacts, *, statement: int, rules: AdvisorRules = AdvisorRules()
) -> list[Candidate]:
    """Candidate indexes for one table access, the most promising first (never one keyed on an
    expression holding a parameter)."""
    found = _candidates(access, table, statement=statement, rules=rules)
    return [c for c in found if not any(parameterized(k) for k in c.keys)]


def _candidates(access: Access, table: TableFacts, *, statement: int, rules) -> list[Candidate]:
    if table.rows < rules.min_table_rows:
        return []
    ids = frozenset({statement})
    result = _gin_and_pattern(access.conditions, table, ids)
    # B-tree: equality first (most selective first), then one range column or the sort.
    partial, eq, ranges = _sorted_conditions(access.conditions, table, rules)
    eq_keys, sort_keys, range_keys = _keys(access, eq, ranges)
    if eq_keys and _unique_column(table.columns.get(eq_keys[0].column or "")):
        # Equality on a column whose every value is distinct finds one row: nothing after it
        # in the key narrows anything, and nothing may lead with it but itself.
        eq_keys, sort_keys, range_keys = eq_keys[:1], [], []
    stops_early = bool(sort_keys) and access.limit
    if _kept_share(eq, ranges, partial, table) >= rules.no_help_fraction and not stops_early:
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
