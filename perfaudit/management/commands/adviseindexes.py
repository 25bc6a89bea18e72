import textwrap

from perfaudit import render
from perfaudit.errors import ServiceError
from perfaudit.management.base import PerfauditCommand
from perfaudit.services import advisor


def _fraction(value: str) -> float:
    number = float(value)
    if not 0 < number < 1:
        raise ValueError(value)
    return number


_fraction.__name__ = "fraction between 0 and 1"


def _count(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError(value)
    return number


_count.__name__ = "count (0 or more)"


class Command(PerfauditCommand):
    help = (
        "Suggest missing indexes for the top pg_stat_statements queries, --sql statements or the "
        "queries of --url, verified by the planner: hypothetical indexes with HypoPG when the "
        "extension is installed in the database; otherwise, with --allow-build, real indexes "
        "built inside a transaction that is always rolled back (it TAKES LOCKS AND TIME: "
        "CREATE INDEX reads the whole table and blocks writes to it while it builds; for "
        "development and staging databases only); otherwise the candidates are printed, marked "
        "unverified. Nothing survives the run."
    )

    def add_command_arguments(self, parser):
        parser.add_argument(
            "--sql", action="append", default=[], help="a statement to advise on (repeatable)"
        )
        parser.add_argument(
            "--url",
            action="append",
            default=[],
            help="GET this path with the test client and advise on its queries (repeatable)",
        )
        parser.add_argument("--user", help="log in as this username for --url")
        parser.add_argument(
            "--top",
            type=_count,
            help="pg_stat_statements entries to read, top by total time (default: "
            "PERFAUDIT['ADVISOR_TOP_STATEMENTS'], or 0 when --sql/--url are given)",
        )
        parser.add_argument(
            "--min-calls", type=_count, default=1, help="ignore entries called fewer times"
        )
        parser.add_argument(
            "--min-cost-reduction",
            type=_fraction,
            help="suggest only when the plan cost falls by at least this share (default "
            "PERFAUDIT['ADVISOR_MIN_COST_REDUCTION'], 0.5)",
        )
        parser.add_argument(
            "--allow-build",
            action="store_true",
            help="build candidates for real in a rolled-back transaction: all of them without "
            "HypoPG, the GIN ones HypoPG cannot plan with it (takes a SHARE lock on the table "
            "and the time of a full build; dev/staging only)",
        )
        parser.add_argument(
            "--write-migration",
            metavar="APP",
            help="write the suggestions for APP's models as APP's next migration (atomic = False)",
        )

    def build(self, options):
        if options["user"] and not options["url"]:
            raise ServiceError("--user only applies to --url")
        return advisor.advise_indexes(
            using=options["database"],
            sqls=options["sql"],
            urls=options["url"],
            username=options["user"],
            top=options["top"],
            min_calls=options["min_calls"],
            allow_build=options["allow_build"],
            min_cost_reduction=options["min_cost_reduction"],
            write_migration=options["write_migration"],
        )

    def render_text(self, report, options):
        text = render_advice(report)
        if options["write_migration"] and not report.written:
            app = options["write_migration"]
            text += f"\n\nNo suggestion for a model of {app}: no migration written."
        return text


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
