"""Deterministic demo / scale data, loaded with COPY.

Rows are generated in Python from ``random.Random(seed)`` (same seed, same starting state, same
rows) and streamed to PostgreSQL with ``COPY ... FROM STDIN``: no model instances, no per-row
INSERT. When a load at least doubles the tasks table, the secondary indexes are dropped first and
rebuilt afterwards in one pass each (sorted builds, parallel workers), which is several times
faster than maintaining 8 indexes row by row. Everything happens in one transaction: a failed
load leaves the database as it was.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction

from tasks.cache import invalidate_stats
from tasks.models import Task, User

# Rows are dated in the year before END: fixed, so a seed gives the same rows on any day, and in
# the past, so a task created now sorts first (newest first) instead of below "future" tasks.
END = datetime(2026, 1, 1, tzinfo=UTC)
SPAN_SECONDS = 365 * 24 * 3600
EPOCH = END - timedelta(seconds=SPAN_SECONDS)

FIRST_NAMES = (
    "Ana Bruno Carla Diego Elena Fabio Gloria Hugo Irene Javier Karla Luis Marta Nora Oscar "
    "Paula Quique Rosa Sergio Tania Ulises Vera Walter Ximena Yago Zoe"
).split()
LAST_NAMES = (
    "Garcia Lopez Martinez Sanchez Perez Gomez Ruiz Diaz Moreno Alvarez Romero Navarro Torres "
    "Dominguez Vazquez Ramos Gil Serrano Blanco Molina Castro Ortiz Rubio Marin Sanz Iglesias"
).split()
VERBS = (
    "Review Write Fix Deploy Test Plan Refactor Document Benchmark Migrate Index Profile "
    "Design Update Clean Audit Measure Optimize Archive Prepare"
).split()
NOUNS = (
    "invoice report dashboard query index migration release backlog schema endpoint cache "
    "pipeline budget roadmap contract proposal newsletter onboarding database replica "
    "connection pool benchmark sprint meeting presentation"
).split()
WORDS = (
    "the a customer team weekly slow postgres django api before after urgent monthly "
    "quarterly review with for from about check latency throughput vacuum analyze plan "
    "explain partial composite trigram search ranking owner priority deadline notes"
).split()
PRIORITIES = ("low", "medium", "high")
PRIORITY_WEIGHTS = (3, 5, 2)


@dataclass(frozen=True)
class SeedResult:
    users: int
    tasks: int
    rebuilt_indexes: bool
    seconds: float


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _user_rows(rng: random.Random, start: int, count: int) -> Iterator[str]:
    for n in range(start, start + count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        created = EPOCH + timedelta(seconds=rng.randrange(SPAN_SECONDS))
        active = "t" if rng.random() < 0.95 else "f"
        # '!' marks an unusable password (Django's convention): demo users cannot log in.
        yield (
            f"!\tf\tuser{n:06d}\tf\t{active}\t{_iso(created)}\t{first} {last}\t"
            f"user{n:06d}@example.com\t{_iso(created)}\n"
        )


def _task_rows(rng: random.Random, owner_ids: list[int], count: int) -> Iterator[str]:
    owners = len(owner_ids)
    choices = rng.choices
    rand = rng.random
    randrange = rng.randrange
    for _ in range(count):
        # Skewed ownership (a few heavy users, a long tail), like real task apps.
        owner = owner_ids[int(owners * rand() ** 2)]
        created = EPOCH + timedelta(seconds=randrange(SPAN_SECONDS))
        title = f"{rng.choice(VERBS)} {rng.choice(NOUNS)} {rng.choice(NOUNS)}"
        description = " ".join(choices(WORDS, k=randrange(0, 16)))
        priority = choices(PRIORITIES, PRIORITY_WEIGHTS)[0]
        if rand() < 0.4:
            completed_at = min(created + timedelta(seconds=randrange(600, 30 * 24 * 3600)), END)
            completed, completed_text, updated = "t", _iso(completed_at), completed_at
        else:
            completed, completed_text, updated = "f", "\\N", created
        due = _iso(created + timedelta(days=randrange(1, 60))) if rand() < 0.3 else "\\N"
        yield (
            f"{owner}\t{title}\t{description}\t{completed}\t{completed_text}\t{priority}\t"
            f"{due}\t{_iso(created)}\t{_iso(updated)}\n"
        )


def _copy(cursor, table: str, columns: str, rows: Iterator[str], tick: Callable[[int], None]):
    batch: list[str] = []
    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            batch.append(row)
            if len(batch) == 10_000:
                copy.write("".join(batch))
                tick(len(batch))
                batch.clear()
        if batch:
            copy.write("".join(batch))
            tick(len(batch))


def _secondary_indexes(cursor, table: str) -> list[tuple[str, str]]:
    """Indexes not backing a constraint (those we may drop and rebuild)."""
    cursor.execute(
        """
        SELECT i.relname, pg_get_indexdef(x.indexrelid)
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        WHERE x.indrelid = %s::regclass
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
        ORDER BY i.relname
        """,
        [table],
    )
    return cursor.fetchall()


def _foreign_keys(cursor, table: str) -> list[tuple[str, str]]:
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname",
        [table],
    )
    return cursor.fetchall()


def load_owner_tasks(*, owner_id: int, tasks: int, seed: int) -> int:
    """Give one existing user ``tasks`` deterministic tasks (the demo login's own list)."""
    rng = random.Random(seed)
    columns = (
        "owner_id, title, description, completed, completed_at, priority, due_date, "
        "created_at, updated_at"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        _copy(
            cursor, Task._meta.db_table, columns, _task_rows(rng, [owner_id], tasks), lambda n: None
        )
    invalidate_stats()  # after COMMIT, as in load()
    return tasks


def database_is_empty() -> bool:
    return not (Task.objects.exists() or User.objects.filter(is_staff=False).exists())


def reset() -> None:
    """Remove all tasks and all non-staff users (staff accounts survive a reset)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {Task._meta.db_table} RESTART IDENTITY")
        User.objects.filter(is_staff=False).delete()
        invalidate_stats()


def load(
    *,
    users: int,
    tasks: int,
    seed: int,
    progress: Callable[[str, int], Callable[[int], None]] | None = None,
) -> SeedResult:
    """Load ``users`` users and ``tasks`` tasks, spread over the new users."""
    import time

    started = time.perf_counter()
    rng = random.Random(seed)
    progress = progress or (lambda label, total: lambda n: None)
    task_table = Task._meta.db_table
    user_table = User._meta.db_table
    user_columns = (
        "password, is_superuser, username, is_staff, is_active, date_joined, full_name, email, "
        "created_at"
    )
    task_columns = (
        "owner_id, title, description, completed, completed_at, priority, due_date, "
        "created_at, updated_at"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        # Fire any FK checks still deferred in this transaction (e.g. a reset's deletes): ALTER
        # TABLE below refuses to run while trigger events are pending.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"SELECT count(*) FROM {user_table}")
        first_user = cursor.fetchone()[0]
        cursor.execute(f"SELECT count(*) FROM {task_table}")
        existing_tasks = cursor.fetchone()[0]

        _copy(
            cursor,
            user_table,
            user_columns,
            _user_rows(rng, first_user, users),
            progress("users", users),
        )
        cursor.execute(
            f"SELECT id FROM {user_table} WHERE username BETWEEN %s AND %s ORDER BY username",
            [f"user{first_user:06d}", f"user{first_user + users - 1:06d}"],
        )
        owner_ids = [row[0] for row in cursor.fetchall()]
        if tasks and not owner_ids:
            raise ValueError("tasks need owners: pass --users N with N >= 1")

        rebuild = tasks >= max(existing_tasks, 1)
        indexes = _secondary_indexes(cursor, task_table) if rebuild else []
        # Deferred FK checks would run once per row at commit (and block CREATE INDEX);
        # re-adding the constraint afterwards validates all rows in one join instead.
        foreign_keys = _foreign_keys(cursor, task_table) if rebuild else []
        for name, _ in foreign_keys:
            cursor.execute(f'ALTER TABLE {task_table} DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        if rebuild:
            # The per-owner counter triggers (migration 0002) would fold a 1M-row transition
            # table at the end of COPY; one GROUP BY recount afterwards is cheaper.
            cursor.execute(f"ALTER TABLE {task_table} DISABLE TRIGGER USER")

        _copy(
            cursor,
            task_table,
            task_columns,
            _task_rows(rng, owner_ids, tasks),
            progress("tasks", tasks),
        )
        tick = progress("indexes", len(indexes))
        for _, definition in indexes:
            cursor.execute(definition)
            tick(1)
        for name, definition in foreign_keys:
            cursor.execute(f'ALTER TABLE {task_table} ADD CONSTRAINT "{name}" {definition}')
        if rebuild:
            cursor.execute(f"ALTER TABLE {task_table} ENABLE TRIGGER USER")
            cursor.execute("SELECT tasks_counter_rebuild()")
    # After COMMIT: cached statistics must not outlive the load (tasks.cache explains the
    # versioning); invalidating earlier would let a reader re-cache pre-load figures.
    invalidate_stats()
    # After COMMIT: an ANALYZE inside the loading transaction leaves n_mod_since_analyze at the
    # loaded row count (autovacuum would soon re-analyze, and perfaudit flags the table).
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {user_table}")
        cursor.execute(f"ANALYZE {task_table}")
    return SeedResult(
        users=users,
        tasks=tasks,
        rebuilt_indexes=bool(indexes),
        seconds=time.perf_counter() - started,
    )
