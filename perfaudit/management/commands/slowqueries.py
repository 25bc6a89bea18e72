from perfaudit import render, services
from perfaudit.errors import ServiceError
from perfaudit.management.base import PerfauditCommand


class Command(PerfauditCommand):
    help = "The most expensive statements from pg_stat_statements (current database)."

    def add_command_arguments(self, parser):
        parser.add_argument("--min-mean-ms", type=float, default=0.0)
        parser.add_argument("--min-calls", type=int, default=1)
        parser.add_argument("--order", choices=("total", "mean", "calls"), default="total")
        parser.add_argument("--limit", type=int, default=20)
        parser.add_argument("--reset", action="store_true", help="reset the statistics first")

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
                    q.mean_ms,
                    q.max_ms,
                    q.rows,
                    "-" if q.hit_ratio is None else f"{q.hit_ratio:.1%}",
                    q.query,
                )
                for q in report.queries
            ]
            out += [
                "",
                render.table(
                    ("calls", "total ms", "mean ms", "max ms", "rows", "hit", "query"), rows
                ),
            ]
        out += ["", render.findings_block(report.findings)]
        return "\n".join(out)
