"""adviseindexes as text: the suggestions table, each suggestion's SQL and migration, and the
statements left without one."""

from __future__ import annotations

import textwrap

from perfaudit import render


def render_advice(report) -> str:
    modes = {
        "hypopg": "verified with HypoPG (hypothetical indexes, nothing built)",
        "build": "verified by building each candidate in a rolled-back transaction",
        "unverified": "UNVERIFIED: no HypoPG in this database and no --allow-build",
    }
    out = [
        render.header(report, "Index advisor"),
        f"mode: {modes[report.mode]}; threshold: plan cost -{report.min_cost_reduction:.0%}",
        "",
    ]
    if report.suggestions:
        rows = []
        for number, sug in enumerate(report.suggestions, 1):
            before = f"{sug.cost_before:,.1f}" if sug.cost_before is not None else "-"
            after = f"{sug.cost_after:,.1f}" if sug.cost_after is not None else "?"
            rows.append(
                (
                    f"[{number}]",
                    sug.table,
                    f"{sug.using} ({', '.join(sug.columns)})",
                    sug.where or "",
                    before,
                    after,
                    f"-{sug.reduction:.0%}" if sug.reduction is not None else "unverified",
                    len(sug.statements),
                    render.human_bytes(sug.write_cost["estimated_bytes"]),
                )
            )
        out.append(
            render.table(
                ("", "table", "index", "where", "cost", "after", "change", "stmts", "size"), rows
            )
        )
        for number, sug in enumerate(report.suggestions, 1):
            out.append("")
            out.append(f"[{number}] {sug.name}")
            out.append("  " + sug.sql.replace("\n", "\n  "))
            if sug.replaces:
                out.append(f"  makes redundant: {', '.join(sug.replaces)}")
            if sug.note:
                out.append(f"  not verified: {sug.note}"[: render.WIDTH])
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
                out.append("    " + sug.migration["operation"])
            for stmt in sug.statements:
                text = textwrap.shorten(" ".join(stmt["sql"].split()), 86, placeholder=" …")
                out.append(f"  serves #{stmt['number']}: {text}")
    else:
        out.append("No index to suggest.")
    others = [s for s in report.statements if s.note]
    if others:
        out += ["", "Statements without a suggestion:"]
        for stmt in others:
            text = textwrap.shorten(" ".join(stmt.sql.split()), 70, placeholder=" …")
            out.append(f"  #{stmt.number} {text}")
            out.append(f"      {stmt.note}")
    if report.written:
        out += ["", f"Wrote {report.written}"]
    return "\n".join(out)
