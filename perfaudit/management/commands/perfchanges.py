"""perfchanges: what changed in the stored history (docs/perfaudit.md, "History")."""

import json

from django.core.management.base import CommandError

from perfaudit import render
from perfaudit.errors import ServiceError
from perfaudit.findings import json_default
from perfaudit.management.base import PerfauditCommand
from perfaudit.rules.changes import KINDS
from perfaudit.services.history import perf_changes


class Command(PerfauditCommand):
    help = (
        "What changed after a moment, from the history capturestats stored: statements "
        "slower, new or gone, plans that changed shape, indexes no longer used, growth, "
        "connection peaks. The captures after the moment are compared with those before it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--database", default="default", help="database alias captured")
        parser.add_argument(
            "--format", choices=("text", "json"), default="text", help="human table or JSON"
        )
        window = parser.add_mutually_exclusive_group()
        window.add_argument(
            "--since", help="the moment: a duration ago (24h, 7d) or an ISO date/time (default 24h)"
        )
        window.add_argument(
            "--between",
            nargs=2,
            metavar=("A", "B"),
            help="the captures in (A, B] against those before A",
        )
        parser.add_argument(
            "--fail-on",
            metavar="KINDS",
            help=f"exit 1 if a change of these kinds (comma-separated: {', '.join(KINDS)}) exists",
        )

    def handle(self, *args, **options):
        fail_on = set()
        if options["fail_on"]:
            fail_on = {k.strip() for k in options["fail_on"].split(",") if k.strip()}
            unknown = sorted(fail_on - set(KINDS))
            if unknown:
                raise CommandError(
                    f"--fail-on: unknown kind {', '.join(unknown)} (known: {', '.join(KINDS)})",
                    returncode=2,
                )
        try:
            report = perf_changes(
                using=options["database"], since=options["since"], between=options["between"]
            )
        except ServiceError as exc:
            raise CommandError(str(exc), returncode=2) from None
        if options["format"] == "json":
            self.stdout.write(json.dumps(report.to_dict(), indent=2, default=json_default))
        else:
            self.stdout.write(self._text(report))
        failing = report.of_kinds(fail_on)
        if failing:
            raise CommandError(
                f"{len(failing)} change(s) of kinds {options['fail_on']}", returncode=1
            )

    def _text(self, report) -> str:
        head = (
            f"Changes in {report.database or '(no captures)'} after "
            f"{report.selection.split:%Y-%m-%d %H:%M} ({report.captures_after} captures, against "
            f"{report.captures_before} before)"
        )
        if not report.captures_before or not report.captures_after:
            head += "\nNot enough history on both sides: run capturestats regularly (docs)."
        rows = [(c.kind, c.severity, _short(c.query), c.message) for c in report.changes]
        table = (
            render.table(("kind", "severity", "statement / object", "what"), rows)
            if rows
            else "No changes."
        )
        return f"{head}\n\n{table}"


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 60 else text[:57] + "..."
