from perfaudit import render, services
from perfaudit.management.base import PerfauditCommand


class Command(PerfauditCommand):
    help = (
        "Database health: NOT VALID constraints, sequences near their maximum, "
        "transaction-ID wraparound danger, autovacuum off, queries blocked by a lock."
    )

    def add_command_arguments(self, parser):
        parser.add_argument("--table", help="only this table")

    def build(self, options):
        return services.db_health(using=options["database"], table=options["table"])

    def render_text(self, report, options):
        data = report.data
        wrap = data["wraparound"]
        out = [
            render.header(report, "Database health"),
            "",
            render.findings_block(report.findings),
            "",
            f"Wraparound: database {wrap['database']} xid age {wrap['database_xid_age']:,} "
            f"({wrap['database_xids_left']:,} left), multixact age "
            f"{wrap['database_mxid_age']:,}; autovacuum_freeze_max_age "
            f"{wrap['autovacuum_freeze_max_age']:,}; autovacuum "
            f"{'on' if wrap['autovacuum'] else 'OFF'}",
        ]
        if wrap["xmin_holders"]:
            out += [
                "",
                render.table(
                    ("holds xmin", "name", "age", "detail"),
                    [
                        (h["kind"], h["name"], h["xmin_age"], h["detail"])
                        for h in wrap["xmin_holders"]
                    ],
                ),
            ]
        used = [s for s in data["sequences"] if s["used_ratio"] is not None]
        used.sort(key=lambda s: -s["used_ratio"])
        if used:
            out += [
                "",
                render.table(
                    ("sequence", "column", "last value", "limit", "used"),
                    [
                        (
                            s["name"],
                            f"{s['table']}.{s['column']} ({s['column_type']})"
                            if s["table"]
                            else "-",
                            s["last_value"],
                            s["limit"],
                            f"{s['used_ratio']:.2%}",
                        )
                        for s in used[:20]
                    ],
                ),
            ]
        blocked = data["blocked_queries"]
        out += ["", f"Blocked queries: {len(blocked) or 'none'} (waiting for a lock now)"]
        if data["not_valid_constraints"]:
            out += [
                "",
                render.table(
                    ("table", "constraint", "definition"),
                    [
                        (c["table"], c["name"], c["definition"])
                        for c in data["not_valid_constraints"]
                    ],
                ),
            ]
        return "\n".join(out)
