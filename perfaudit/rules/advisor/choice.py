"""Choosing among the planner-verified candidates, and what an index costs writers."""

from __future__ import annotations

from dataclasses import dataclass

from perfaudit.rules.advisor.candidates import selectivity
from perfaudit.rules.advisor.facts import Candidate, Condition
from perfaudit.snapshots.advisor import TableFacts

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
        width += col.avg_width if col and col.avg_width else 16
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
