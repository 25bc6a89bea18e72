from perfaudit import render
from perfaudit.management.base import PerfauditCommand
from perfaudit.services.indexes import audit_indexes


class Command(PerfauditCommand):
    help = "Audit indexes: unused, duplicate, redundant, missing FK index, invalid, drift, bloat."

    def add_command_arguments(self, parser):
        parser.add_argument("--table", help="only this table")
        parser.add_argument(
            "--min-size-mb",
            type=float,
            help="only indexes at least this big (errors are always shown)",
        )
        parser.add_argument(
            "--write-migration",
            metavar="APP",
            help="write every applicable fix for this app as one non-atomic migration file",
        )

    def build(self, options):
        report = audit_indexes(
            using=options["database"],
            table=options["table"],
            min_size_mb=options["min_size_mb"],
            write_migration=options["write_migration"],
        )
        if report.written:
            # stderr: stdout stays the report (JSON with --format json).
            self.stderr.write(render.written_fixes(report.written))
        return report

    def render_text(self, report, options):
        # Findings first: CI logs show what matters without scrolling past every index.
        out = [render.header(report, "Index audit"), "", render.findings_block(report.findings)]
        for entry in report.tables:
            out += ["", f"{entry.table}  (~{entry.rows:,} rows)"]
            rows = [
                (
                    i.name + ("" if i.valid else " (INVALID)"),
                    render.human_bytes(i.size_bytes),
                    i.scans,
                    _definition(i),
                )
                for i in entry.indexes
            ]
            out.append(render.table(("index", "size", "scans", "definition"), rows, wrap_last=True))
        return "\n".join(out)


def _definition(index) -> str:
    """The whole definition after USING (method, keys, opclasses, INCLUDE, WHERE), and what
    it enforces: pg_get_indexdef's "CREATE UNIQUE INDEX" prefix is dropped with the name."""
    body = index.definition.split(" USING ", 1)[-1]
    if index.primary:
        return "PRIMARY KEY " + body
    if index.unique:
        return "UNIQUE " + body
    return body
