from perfaudit import render, services
from perfaudit.management.base import PerfauditCommand


class Command(PerfauditCommand):
    help = "Table statistics: writes, live/dead tuples, vacuum/analyze, size, scan mix."

    def add_command_arguments(self, parser):
        parser.add_argument("--table", help="only this table")

    def build(self, options):
        return services.table_stats(using=options["database"], table=options["table"])

    def render_text(self, report, options):
        t = report.tables
        sizes = [
            (
                r.table,
                render.human_bytes(r.total_bytes),
                r.live_tuples,
                r.dead_tuples,
                f"{round(r.dead_ratio, 4):.1%}",
                r.seq_scans,
                r.index_scans,
            )
            for r in t
        ]
        writes = [
            (
                r.table,
                r.inserts,
                r.updates,
                r.deletes,
                _short(r.last_vacuumed),
                _short(r.last_analyzed),
                r.modified_since_analyze,
            )
            for r in t
        ]
        return "\n".join(
            [
                render.header(report, "Table statistics"),
                "",
                render.table(
                    ("table", "size", "live", "dead", "dead %", "seq scans", "idx scans"), sizes
                ),
                "",
                render.table(
                    (
                        "table",
                        "inserts",
                        "updates",
                        "deletes",
                        "vacuumed",
                        "analyzed",
                        "changed since",
                    ),
                    writes,
                ),
                "",
                render.findings_block(report.findings),
            ]
        )


def _short(moment):
    # Month-day and time: the year would push this table past 100 columns.
    return moment.strftime("%m-%d %H:%M") if moment else None
