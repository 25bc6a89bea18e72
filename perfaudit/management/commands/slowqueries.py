import textwrap

from perfaudit import render, services
from perfaudit.errors import ServiceError
from perfaudit.management.base import PerfauditCommand


class Command(PerfauditCommand):
    help = (
        "The most expensive statements from pg_stat_statements (current database): the "
        "application's; --all adds profiler, catalog, DDL/migration and transaction statements."
    )

    def add_command_arguments(self, parser):
        parser.add_argument(
            "--min-mean-ms", type=float, default=0.0, help="only statements this slow on average"
        )
        parser.add_argument(
            "--min-calls", type=int, default=1, help="only statements called this often"
        )
        parser.add_argument(
            "--order",
            choices=("total", "mean", "calls"),
            default="total",
            help="sort by total time, mean time or calls",
        )
        parser.add_argument("--limit", type=int, default=20, help="statements to show")
        parser.add_argument(
            "--reset",
            action="store_true",
            help="reset the statistics first (pg_stat_statements_reset(): every database of the "
            "server)",
        )
        parser.add_argument(
            "--all",
            action="store_true",
            dest="show_all",
            help="also list the tools' statements (silk's tables, EXPLAIN, catalog reads, DDL and "
            "migrations, BEGIN/SAVEPOINT/SET)",
        )

    def build(self, options):
        if options["limit"] < 1:
            raise ServiceError("--limit must be at least 1")
        return services.slow_queries(
            using=options["database"],
            min_mean_ms=options["min_mean_ms"],
            min_calls=options["min_calls"],
            order=options["order"],
            limit=options["limit"],
            reset=options["reset"],
            show_all=options["show_all"],
        )

    def render_text(self, report, options):
        status = report.status
        out = [render.header(report, "Slow queries")]
        if status.usable:
            out.append(
                f"pg_stat_statements since {render.cell(status.stats_reset)}, "
                f"deallocations: {render.cell(status.deallocations)}"
            )
            rows = [
                (
                    q.calls,
                    q.total_ms,
                    round(report.share(q), 1),
                    q.mean_ms,
                    q.rows,
                    "-" if q.hit_ratio is None else f"{q.hit_ratio:.0%}",
                    *([q.origin] if report.show_all else []),
                    q.query,
                )
                for q in report.queries
            ]
            headers = ("calls", "total ms", "% time", "mean ms", "rows", "hit")
            headers += ("origin", "query") if report.show_all else ("query",)
            out += ["", render.table(headers, rows)]
            out.append(
                f"% time: share of all statements' execution time ({report.total_ms:,.1f} ms)."
            )
            if report.hidden:
                parts = ", ".join(
                    f"{h.statements} {h.origin} ({h.total_ms:,.1f} ms)" for h in report.hidden
                )
                out.append(textwrap.fill(f"Not shown (--all lists them): {parts}.", render.WIDTH))
        out += ["", render.findings_block(report.findings)]
        return "\n".join(out)
