from perfaudit.errors import ServiceError
from perfaudit.management.base import PerfauditCommand
from perfaudit.render.advice import render_advice
from perfaudit.services.advisor.run import advise_indexes


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
        return advise_indexes(
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
