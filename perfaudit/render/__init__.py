"""Human-readable rendering of Reports: aligned tables and finding blocks, 100 columns wide."""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Sequence

from perfaudit.findings import Finding, Report
from perfaudit.snapshots.plans import walk

WIDTH = 100


def human_bytes(n: int | None) -> str:
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(n)  # pragma: no cover


def cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return " ".join(str(value).split())


def table(
    headers: Sequence[str], rows: Sequence[Sequence], *, width: int = WIDTH, wrap_last: bool = False
) -> str:
    """Aligned columns within ``width``. The last column is cut, or with ``wrap_last`` wrapped
    onto continuation lines (index definitions: a cut loses the predicate and opclasses)."""
    text_rows = [[cell(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in text_rows:
        for i, value in enumerate(row):
            widths[i] = max(widths[i], len(value))
    fixed = sum(widths[:-1]) + 2 * (len(widths) - 1)
    widths[-1] = max(10, min(widths[-1], width - fixed))
    numeric = [
        all(
            isinstance(r[i], int | float) and not isinstance(r[i], bool)
            for r in rows
            if r[i] is not None
        )
        and rows
        for i in range(len(headers))
    ]

    def line(values):
        parts = []
        for i, value in enumerate(values):
            if len(value) > widths[i]:
                value = value[: widths[i] - 1] + "…"
            parts.append(value.rjust(widths[i]) if numeric[i] else value.ljust(widths[i]))
        return "  ".join(parts).rstrip()

    def wrapped(values):
        last = values[-1]
        if len(last) <= widths[-1]:
            return [line(values)]
        pieces = textwrap.wrap(last, widths[-1], break_long_words=True, break_on_hyphens=False) or [
            ""
        ]
        lines = [line([*values[:-1], pieces[0]])]
        lines += [" " * (fixed) + piece for piece in pieces[1:]]
        return lines

    out = [line(list(headers)), "  ".join("-" * w for w in widths)]
    for r in text_rows:
        out += wrapped(r) if wrap_last else [line(r)]
    return "\n".join(out)


def header(report: Report, title: str) -> str:
    db = report.database
    reset = cell(db.stats_reset) if db.stats_reset else "never"
    return (
        f"{title} — {db.name} ({db.alias}), "
        f"PostgreSQL {str(db.version).split()[0]}, "
        f"stats reset: {reset}"
    )


def _sql_words(line: str) -> list[str]:
    """Split at spaces outside single-quoted literals: a line break inside 'a b' would change
    the literal, anywhere else SQL does not care."""
    words, current, quoted = [], "", False
    for part in line.split(" "):
        current = f"{current} {part}" if current else part
        quoted ^= part.count("'") % 2 == 1
        if not quoted:
            words.append(current)
            current = ""
    if current:
        words.append(current)
    return words


def block(label: str, text: str, indent: str = "    ", *, wrap: bool = True) -> str:
    """A fix, wrapped without changing what it means: lines keep their breaks, and a long line
    breaks only between words outside quotes, so what is printed can be pasted and runs.
    ``wrap=False`` (Python, whose ``# comments`` end at the line's end): lines as they are."""
    out, first = [], True
    width = WIDTH - len(indent) - 2 if wrap else 10**6
    for line in text.splitlines() or [""]:
        pieces, current = [], ""
        for word in _sql_words(line):
            if current and len(current) + 1 + len(word) > width:
                pieces.append(current)
                current = word
            else:
                current = f"{current} {word}" if current else word
        pieces.append(current)
        for piece in pieces:
            if first and len(indent + label + piece) <= WIDTH:
                out.append(indent + label + piece)
            else:
                if first:
                    out.append(indent + label.rstrip())
                out.append(indent + "  " + piece)
            first = False
    return "\n".join(out)


def findings_block(findings: list[Finding]) -> str:
    if not findings:
        return "No findings."
    counts = {}
    for f in findings:
        key = "acknowledged" if f.acknowledged else f.severity
        counts[key] = counts.get(key, 0) + 1
    order = {"error": 0, "warning": 1, "info": 2, "acknowledged": 3}
    summary = ", ".join(f"{counts[s]} {s}" for s in sorted(counts, key=order.get))
    out = [f"Findings ({summary}):"]
    wrap = textwrap.TextWrapper(width=WIDTH, initial_indent="    ", subsequent_indent="    ")
    for f in findings:
        if f.table and f.object and f.object != f.table and not f.object.startswith("#"):
            where = f"{f.table}.{f.object}"
        else:
            where = f.object or f.table or ""
        line = f"  {f.severity.upper():<8}{f.kind:<19} {where}"
        if len(line) > WIDTH:  # long qualified index names go on their own line
            line = f"  {f.severity.upper():<8}{f.kind}\n    {where}"
        out.append(line)
        if f.acknowledged:
            out.append(wrap.fill("acknowledged: " + f.acknowledged))
        out.append(wrap.fill(f.message))
        if f.fix.sql:
            out.append(block("fix: ", f.fix.sql))
        if f.fix.command:
            # Always on its own line, never wrapped: a shell command must paste whole.
            out.append("    run:\n      " + f.fix.command)
        if f.fix.migration:
            label = f"migration ({f.fix.app_label}): " if f.fix.app_label else "migration: "
            out.append(block(label, f.fix.migration, wrap=False))
        if f.fix.model_change:
            out.append(wrap.fill("model: " + f.fix.model_change))
        if f.fix.unsafe:
            out.append(wrap.fill("by hand, not in --write-migration: " + f.fix.unsafe))
    return "\n".join(out)


#: Plan node keys worth showing under a node (the rest of EXPLAIN's JSON is noise in a page).
PLAN_DETAIL_KEYS = (
    "Index Cond",
    "Recheck Cond",
    "Filter",
    "Rows Removed by Filter",
    "Hash Cond",
    "Merge Cond",
    "Join Filter",
    "Sort Key",
    "Group Key",
    "Heap Fetches",
)


def plan_rows(document: dict, findings: list[dict]) -> list[dict]:
    """One row per plan node, depth-first (the CLI's numbering), with the findings on that node.

    ``findings`` are the explain report's finding dicts; plan rules put the node number in
    ``evidence["node"]``, which is how the HTML tree highlights a diagnostic on its node.
    """
    from perfaudit import plantime

    by_node: dict[int, list[dict]] = {}
    for finding in findings:
        by_node.setdefault(finding["evidence"].get("node"), []).append(finding)
    times = plantime.node_times(document)
    rows = []
    for node in walk(document["Plan"]):
        n = node.node
        details = []
        for key in PLAN_DETAIL_KEYS:
            if key in n:
                value = n[key]
                details.append((key, ", ".join(value) if isinstance(value, list) else value))
        rows.append(
            {
                "number": node.number,
                "depth": node.depth,
                "label": node.label,
                "cost": n.get("Total Cost"),
                "plan_rows": n.get("Plan Rows"),
                "actual_rows": n.get("Actual Rows"),
                "loops": n.get("Actual Loops"),
                "actual_ms": n.get("Actual Total Time"),
                "details": details,
                "findings": by_node.get(node.number, []),
                # What the node itself did: own time (ANALYZE) or own cost, and its share.
                "own": times[node.number].own,
                "share": times[node.number].share,
                "basis": times[node.number].basis,
                "buffers": plantime.node_buffers(n),
                "hint": plantime.filter_hint(n),
            }
        )
    return rows


def written_fixes(written) -> str:
    """Where ``auditindexes --write-migration`` wrote, the model edits it asks for, and the
    fixes left for a person (never written: one failing operation would stop the others)."""
    lines = []
    if written.path is not None:
        lines.append(f"wrote {written.path} ({written.operations} operation(s))")
    else:
        lines.append("wrote no migration: no fix for this app can be applied by one")
    lines += [f"  model change needed: {change}" for change in written.model_changes]
    for finding, why in written.advice:
        where = f"{finding.table}.{finding.object}" if finding.object else finding.table
        lines.append(f"not written, {finding.kind} {where}: {why}")
        lines.append(block("  sql: ", finding.fix.sql, indent="    ", wrap=False))
    return "\n".join(lines)
