"""Where a statement reads a candidate's table: a statement reading several tables (a join, the
one-round-trip page statement) is shown at the part the index helps, with the tables it reads,
so an index on one table never looks listed beside another table's statement."""

from __future__ import annotations

from perfaudit import sqltext
from perfaudit.rules.advisor.facts import Candidate


def where_it_reads(sql: str, cand: Candidate) -> dict:
    """The tables a served statement reads, and the part of its text where it reads the
    candidate's table (a statement reading several tables is shown where the index helps)."""
    try:
        tables = sqltext.referenced_tables(sql)
    except sqltext.SQLTextError:
        tables = []
    column = next((k.column for k in cand.keys if k.column), None)
    marks = [f'"{cand.table}"."{column}"', f"{cand.table}.{column}", f'"{cand.table}"']
    at = next((p for m in [*marks, cand.table] if (p := _in_condition(sql, m)) >= 0), 0)
    start = sql.rfind(" ", 0, max(0, at - 40)) + 1 if at > 40 else 0
    excerpt = " ".join(sql[start:].split())
    return {"tables": tables, "excerpt": ("… " if start else "") + excerpt}


def _in_condition(sql: str, mark: str) -> int:
    """Where ``mark`` first appears outside a select list (in WHERE, ON, ORDER BY, FROM), or
    its first place at all; -1 when it does not appear."""
    upper, found, first = sql.upper(), sql.find(mark), sql.find(mark)
    while found >= 0:
        clause = max(upper.rfind(w, 0, found) for w in (" WHERE ", " ON ", " ORDER BY ", " FROM "))
        if clause > upper.rfind("SELECT ", 0, found):
            return found
        found = sql.find(mark, found + 1)
    return first
