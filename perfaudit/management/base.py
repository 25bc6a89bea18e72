"""The base of every perfaudit command: shared options, rendering, exit codes.

Exit codes: 0 ran fine; 1 findings at or above ``--fail-on``; 2 bad arguments or an
unreachable database (one line on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import sys

from django.core.management.base import BaseCommand, CommandError, DjangoHelpFormatter

from perfaudit.errors import ServiceError
from perfaudit.findings import SEVERITIES, Report


def _no_default(value) -> bool:
    # Identity, not ==: a default of 0 or 0.0 is a real default worth showing.
    return value is None or value is False or value is argparse.SUPPRESS


class DefaultsHelpFormatter(DjangoHelpFormatter):
    """``--help`` names each option's default: "(default: 20)". Options whose default is
    None/False (flags, "not given") or whose help already says it are left as they are."""

    def _get_help_string(self, action):
        text = (action.help or "").strip()
        default = action.default
        if _no_default(default) or "default" in text.lower() or not action.option_strings:
            return text
        return f"{text} (default: %(default)s)" if text else "(default: %(default)s)"

    def _format_action(self, action):
        # argparse skips _get_help_string for options without help: give them one.
        if (
            action.help is None
            and action.option_strings
            and action.default
            not in (
                None,
                False,
                argparse.SUPPRESS,
            )
        ):
            action.help = " "  # non-empty, so argparse asks _get_help_string
        return super()._format_action(action)


class ShowDefaultsMixin:
    """For any BaseCommand: its ``--help`` shows the defaults (DefaultsHelpFormatter)."""

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.formatter_class = DefaultsHelpFormatter
        return parser


class PerfauditCommand(ShowDefaultsMixin, BaseCommand):
    #: No system checks before an audit: their warnings would land on stderr, which CI reads as
    #: "one line on error"; ``manage.py check --deploy`` runs them (W001 included).
    requires_system_checks = []

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)

        def error(message):
            # argparse prints the whole usage block before the error; CI logs want one line.
            if parser.called_from_command_line:
                sys.stderr.write(f"{parser.prog}: error: {message}\n")
                sys.exit(2)
            raise CommandError(f"Error: {message}", returncode=2)

        parser.error = error
        return parser

    def add_arguments(self, parser):
        parser.add_argument("--database", default="default", help="database alias")
        parser.add_argument(
            "--format", choices=("text", "json"), default="text", help="human tables or JSON"
        )
        parser.add_argument(
            "--fail-on",
            choices=SEVERITIES,
            help="exit 1 if a finding at or above this exists (acknowledged findings and "
            "those hidden by --kind/--severity do not count)",
        )
        parser.add_argument(
            "--kind",
            action="append",
            metavar="KIND",
            help="only findings of this kind (repeat, or comma-separate, for several)",
        )
        parser.add_argument(
            "--severity", choices=SEVERITIES, help="only findings at or above this severity"
        )
        self.add_command_arguments(parser)

    def add_command_arguments(self, parser):
        pass

    def build(self, options) -> Report:
        raise NotImplementedError

    def render_text(self, report: Report, options) -> str:
        raise NotImplementedError

    def handle(self, *args, **options):
        try:
            report = self.build(options)
        except ServiceError as exc:
            raise CommandError(str(exc), returncode=2) from None
        kinds = {k.strip() for arg in options.get("kind") or () for k in arg.split(",") if k}
        if kinds or options.get("severity"):
            report = report.filtered(kinds=kinds, severity=options.get("severity"))
        if options["format"] == "json":
            self.stdout.write(report.to_json())
        else:
            self.stdout.write(self.render_text(report, options))
        if options["fail_on"]:
            failing = report.worst_at_least(options["fail_on"])
            if failing:
                raise CommandError(
                    f"{len(failing)} finding(s) at or above {options['fail_on']}", returncode=1
                )
