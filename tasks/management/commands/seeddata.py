"""manage.py seeddata --users N --tasks M [--seed S] [--append | --reset | --if-empty]"""

import sys

from django.core.management.base import BaseCommand, CommandError

from perfaudit.management.base import ShowDefaultsMixin
from tasks import seeding


def _non_negative(value: str) -> int:
    import argparse

    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {number}")
    return number


class Command(ShowDefaultsMixin, BaseCommand):
    help = (
        "Load deterministic demo/scale data with COPY: N users and M tasks spread over them. "
        "Refuses a non-empty database unless --append or --reset is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("--users", type=_non_negative, default=50, help="users to create")
        parser.add_argument("--tasks", type=_non_negative, default=5000, help="tasks to create")
        parser.add_argument(
            "--seed", type=int, default=42, help="random seed: same seed, same data"
        )
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--append", action="store_true", help="add to existing data")
        mode.add_argument(
            "--reset",
            action="store_true",
            help="delete all tasks and non-staff users first (staff accounts are kept)",
        )
        mode.add_argument(
            "--if-empty",
            action="store_true",
            help="load only when the database holds no data yet; otherwise do nothing (exit 0)",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, users, tasks, seed, append, reset, if_empty, no_progress, **options):
        if tasks and not users:
            raise CommandError("--tasks needs owners: pass --users N with N >= 1", returncode=2)
        if reset:
            seeding.reset()
        elif not seeding.database_is_empty():
            if if_empty:
                self.stdout.write("seeddata: the database already has data; nothing loaded.")
                return
            if not append:
                raise CommandError(
                    "the database already has tasks or users; pass --append to add to them or "
                    "--reset to replace them",
                    returncode=2,
                )

        result = seeding.load(
            users=users, tasks=tasks, seed=seed, progress=None if no_progress else _tqdm_progress
        )
        self.stdout.write(
            f"seeddata: loaded {result.users} users and {result.tasks} tasks in "
            f"{result.seconds:.1f} s (seed {seed}"
            f"{', indexes rebuilt' if result.rebuilt_indexes else ''})"
        )


def _tqdm_progress(label: str, total: int):
    from tqdm import tqdm

    bar = tqdm(
        total=total,
        desc=f"{label:>8}",
        unit=" rows" if label != "indexes" else " idx",
        file=sys.stderr,
        disable=None,
        leave=True,
        unit_scale=True,
    )

    def tick(n: int) -> None:
        bar.update(n)
        if bar.n >= total:
            bar.close()

    if total == 0:
        bar.close()
    return tick
