from perfaudit import render, services
from perfaudit.management.base import PerfauditCommand


class Command(PerfauditCommand):
    help = "Audit indexes: unused, duplicate, redundant, missing FK index, invalid, drift, bloat."

    def add_command_arguments(self, parser):
        parser.add_argument("--table", help="only this table")
        parser.add_argument("--min-size-mb", type=float, help="only indexes at least this big")

    def build(self, options):
        return services.audit_indexes(
            using=options["database"], table=options["table"], min_size_mb=options["min_size_mb"]
        )

    def render_text(self, report, options):
        out = [render.header(report, "Index audit"), ""]
        for entry in report.tables:
            out.append(f"{entry.table}  (~{entry.rows:,} rows)")
            rows = [
                (
                    i.name + ("" if i.valid else " (INVALID)"),
                    render.human_bytes(i.size_bytes),
                    i.scans,
                    i.definition.split(" USING ", 1)[-1],
                )
                for i in entry.indexes
            ]
            out.append(render.table(("index", "size", "scans", "definition"), rows))
            out.append("")
        out.append(render.findings_block(report.findings))
        return "\n".join(out)
