"""capturestats: one history capture (docs/perfaudit.md, "History": scheduling it)."""

import json
import os
import time

from django.core.management.base import CommandError
from django.db import close_old_connections

from perfaudit.errors import ServiceError
from perfaudit.history.windows import parse_duration
from perfaudit.management.base import PerfauditCommand
from perfaudit.services.history import capture_stats


class Command(PerfauditCommand):
    help = (
        "Capture the database's statistics into perfaudit's history (statement deltas since "
        "the previous capture, table and index sizes, connections, top plans), then prune "
        "captures older than --keep. Run it every minute or so (cron, a systemd timer, a "
        "CronJob, Celery beat)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--database", default="default", help="database alias to capture")
        parser.add_argument(
            "--format", choices=("text", "json"), default="text", help="a line of text or JSON"
        )
        parser.add_argument(
            "--keep",
            help="prune captures older than this (24h, 14d; default: "
            "PERFAUDIT['HISTORY_KEEP_DAYS'], 14 days)",
        )
        parser.add_argument(
            "--every",
            type=float,
            metavar="SECONDS",
            help="keep capturing, every SECONDS, until stopped (or until the process that "
            "started it is gone: `make run` uses this); a failed capture is one line on stderr "
            "and the loop goes on",
        )
        parser.add_argument(
            "--plans",
            type=int,
            help="plan shapes of this many top statements (default: "
            "PERFAUDIT['HISTORY_PLAN_STATEMENTS'], 10; 0: none)",
        )

    def handle(self, *args, **options):
        try:
            keep = None
            if options["keep"]:
                keep = parse_duration(options["keep"]).total_seconds() / 86400
            if options["plans"] is not None and options["plans"] < 0:
                raise ValueError("--plans must be 0 or more")
            if options["every"] is not None and options["every"] < 1:
                raise ValueError("--every must be at least 1 second")
        except ValueError as exc:
            raise CommandError(str(exc), returncode=2) from None
        kwargs = {
            "using": options["database"],
            "keep_days": keep,
            "plan_statements": options["plans"],
        }
        if options["every"] is not None:
            self._loop(options["every"], kwargs, options)
            return
        try:
            result = capture_stats(**kwargs)
        except ServiceError as exc:
            raise CommandError(str(exc), returncode=2) from None
        self._print(result, options)

    def _loop(self, every: float, kwargs: dict, options) -> None:
        parent = os.getppid()
        while os.getppid() == parent:  # the parent gone (make run stopped): stop too
            started = time.monotonic()
            try:
                self._print(capture_stats(**kwargs), options)
            except ServiceError as exc:
                self.stderr.write(f"capturestats: {exc}")
            finally:
                close_old_connections()  # a restarted server: reconnect on the next round
            time.sleep(max(every - (time.monotonic() - started), 0.5))

    def _print(self, result, options) -> None:
        if options["format"] == "json":
            self.stdout.write(json.dumps(result.to_dict()))
            return
        note = " (first capture: deltas start with the next)" if result.first else ""
        if result.restarted:
            note = " (counters restarted since the previous capture: deltas count from then)"
        self.stdout.write(
            f"capture {result.capture_id} of {result.database} into {result.history_database!r}: "
            f"{result.statements} statements, {result.relations} tables and indexes, "
            f"{result.plans} plans, {result.pruned} old captures pruned, "
            f"{result.duration_ms:.0f} ms{note}"
        )
