from perfaudit import render, services
from perfaudit.management.base import PerfauditCommand


class Command(PerfauditCommand):
    help = "Run a read-only statement N times (rolled back) and report its timing distribution."

    def add_command_arguments(self, parser):
        parser.add_argument("sql", help="one SELECT statement")
        parser.add_argument("--iterations", type=int, default=10)

    def build(self, options):
        return services.profile_query(
            using=options["database"], sql=options["sql"], iterations=options["iterations"]
        )

    def render_text(self, report, options):
        p = report.profile.summary()
        return "\n".join(
            [
                render.header(report, "Profile"),
                " ".join(report.sql.split())[:300],
                "",
                render.table(
                    ("iterations", "rows", "min ms", "median ms", "p95 ms", "max ms", "mean ms"),
                    [
                        (
                            p["iterations"],
                            p["rows"],
                            p["min_ms"],
                            p["median_ms"],
                            p["p95_ms"],
                            p["max_ms"],
                            p["mean_ms"],
                        )
                    ],
                ),
                "",
                render.findings_block(report.findings),
            ]
        )
