"""Existing indexes that already cover a candidate, redundancy, merging, evaluate()."""

from __future__ import annotations

from dataclasses import replace

from perfaudit.rules.advisor.candidates import AdvisorRules, candidates_for
from perfaudit.rules.advisor.facts import Access, Candidate, Key
from perfaudit.rules.advisor.parse import normalize_expression
from perfaudit.snapshots.advisor import ExistingIndex, TableFacts


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
        if index.restore:
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
                restore=found.restore or cand.restore,
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
    rules: AdvisorRules | None = None,
) -> tuple[list[Candidate], dict[int, list[str]]]:
    """All merged candidates for the statements, and per statement the existing indexes that
    already cover one of its candidates (served: no suggestion for it)."""
    rules = rules or AdvisorRules()
    found: list[Candidate] = []
    served: dict[int, list[str]] = {}
    for number, accesses in enumerate(statements):
        for access in accesses:
            facts = tables.get(access.table)
            if facts is None:
                continue
            unique = unique_lookup(access, facts)
            if unique is not None:
                # Equality on every key of a unique index: at most one row, found by it.
                served.setdefault(number, []).append(unique.name)
                continue
            for cand in candidates_for(access, facts, statement=number, rules=rules):
                existing = covered_by(cand, facts.indexes)
                if existing is not None and existing.restore:
                    found.append(restore_candidate(existing, cand))
                elif existing is not None:
                    served.setdefault(number, []).append(existing.name)
                else:
                    found.append(cand)
    return merge(found), served


def unique_lookup(access: Access, facts: TableFacts) -> ExistingIndex | None:
    """A valid unique index (or the primary key) whose every key the access compares for
    equality: it returns at most one row, so no key may lead with those columns."""
    equal = {
        c.column for c in access.conditions if c.kind in {"eq", "join"} and c.column is not None
    }
    for index in facts.indexes:
        if not (index.unique or index.primary) or not index.valid or index.restore:
            continue
        if index.predicate is not None or any(index.expression_positions):
            continue
        if set(index.keys) <= equal:
            return index
    return None


def restore_candidate(existing: ExistingIndex, cand: Candidate) -> Candidate:
    """The declared index itself (its keys, its name), as the candidate to try and suggest."""
    keys = tuple(
        Key(column, None, desc)
        for column, desc in zip(existing.keys, existing.descending or (), strict=False)
    ) or tuple(Key(column) for column in existing.keys)
    return Candidate(
        cand.table,
        keys,
        "btree",
        (),
        cand.statements,
        equality=cand.equality,
        restore=existing.name,
    )


def evaluate(
    statements: list[list[Access]], tables: dict[str, TableFacts], conf
) -> tuple[list[Candidate], dict[int, list[str]]]:
    """``generate`` with the thresholds of ``settings.PERFAUDIT`` (a PerfauditSettings)."""
    rules = AdvisorRules(
        partial_max_fraction=conf.ADVISOR_PARTIAL_MAX_FRACTION,
        no_help_fraction=conf.ADVISOR_NO_HELP_FRACTION,
        min_table_rows=conf.ADVISOR_MIN_TABLE_ROWS,
    )
    return generate(statements, tables, rules=rules)
