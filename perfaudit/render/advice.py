"""adviseindexes as text: the verified suggestions (the planner saw the cost fall), the
unverified candidates apart from them (never under a heading that promises a cost cut), each
with its SQL, migration and the statements it serves; the statements left without one, and
every other finding of the report."""

from __future__ import annotations

import textwrap

from perfaudit import render

MODES = {
    "hypopg": "verified with HypoPG (hypothetical indexes, nothing built)",
    "build": "verified by building each candidate in a rolled-back transaction",
    "auto": "no HypoPG: candidates on small tables (ADVISOR_BUILD_MAX_BYTES) verified by a "
    "rolled-back build, the others left unverified (--allow-build builds them too)",
    "unverified": "UNVERIFIED: no HypoPG in this database and no --allow-build",
}


def _rows(suggestions, numbers) -> list[tuple]:
    rows = []
    for number, sug in zip(numbers, suggestions, strict=True):
        before = f"{sug.cost_before:,.1f}" if sug.cost_before is not None else "-"
        index = f"{sug.using} ({', '.join(sug.columns)})"
        if sug.restore:
            index = f"restore {sug.restore}: {index}"
        row = [f"[{number}]", sug.table, index, sug.where or "", before]
        if sug.verified:
            row += [f"{sug.cost_after:,.1f}", f"-{sug.reduction:.0%}"]
        row += [len(sug.statements), render.human_bytes(sug.write_cost["estimated_bytes"])]
        rows.append(tuple(row))
    return rows


def _details(number: int, sug) -> list[str]:
    out = ["", f"[{number}] {sug.name}", "  " + sug.sql.replace("\n", "\n  ")]
    if sug.replaces:
        out.append(f"  makes redundant: {', '.join(sug.replaces)}")
    if sug.note:
        out.append(
            textwrap.fill(
                f"not verified: {sug.note}",
                render.WIDTH,
                subsequent_indent="    ",
                initial_indent="  ",
            )
        )
    wc = sug.write_cost
    out.append(
        f"  write cost: ~{render.human_bytes(wc['estimated_bytes'])}, indexes to update "
        f"per insert {wc['index_writes_per_insert']}, {wc['writes_since_reset']:,} "
        "row writes since the stats reset"
    )
    if sug.migration:
        if sug.migration["meta_index"]:
            out.append(f"  {sug.migration['model']}.Meta.indexes:")
            out.append("    " + sug.migration["meta_index"])
        out.append("  migration (atomic = False):")
        out.append(textwrap.indent(sug.migration["operation"], "    "))
    for stmt in sug.statements:
        text = textwrap.shorten(stmt.get("excerpt") or stmt["sql"], 86, placeholder=" …")
        out.append(f"  serves #{stmt['number']}: {text}")
        others = [t for t in stmt.get("tables", ()) if t != sug.table]
        if others:
            out.append(f"    (that statement also reads {', '.join(others)})")
    return out


def render_advice(report) -> str:
    out = [
        render.header(report, "Index advisor"),
        f"mode: {MODES[report.mode]}",
        "",
    ]
    verified = [s for s in report.suggestions if s.verified]
    unverified = [s for s in report.suggestions if not s.verified]
    if verified:
        out.append(
            f"Verified suggestions (the planner's cost falls by {report.min_cost_reduction:.0%} "
            "or more with the index):"
        )
        heads = ("", "table", "index", "where", "cost", "after", "change", "stmts", "size")
        out.append(render.table(heads, _rows(verified, range(1, len(verified) + 1))))
    if unverified:
        first = len(verified) + 1
        if verified:
            out.append("")
        out.append("Unverified candidates (the planner was not asked: no cost cut is claimed):")
        heads = ("", "table", "index", "where", "cost", "stmts", "size")
        out.append(render.table(heads, _rows(unverified, range(first, first + len(unverified)))))
    if not report.suggestions:
        out.append("No index to suggest.")
    for number, sug in enumerate([*verified, *unverified], 1):
        out += _details(number, sug)
    others = [s for s in report.statements if s.note]
    if others:
        out += ["", "Statements without a suggestion:"]
        for stmt in others:
            text = textwrap.shorten(" ".join(stmt.sql.split()), 70, placeholder=" …")
            out.append(f"  #{stmt.number} {text}")
            out.append(f"      {stmt.note}")
    rest = [f for f in report.findings if f.kind != "missing_index"]
    if rest:
        out += ["", render.findings_block(rest)]
    if report.written:
        out += ["", f"Wrote {report.written}"]
    return "\n".join(out)
