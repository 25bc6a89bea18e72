"""perfaudit's history capture (issue 23): what one ``capturestats`` costs with a 1M-row table
and 5,000 distinct statements, and how much the history tables grow per day at the default
interval (one capture a minute).

On the benchmark database (benchmarks.run's: var/bench-pg-<profile>, or BENCH_DATABASE_URL),
in tables of its own (``bench_history_rows``, 1M rows; 20k with --quick), with perfaudit's
history tables emptied first. Figures:

* first capture (every statement text read and classified once) and steady captures (medians),
  with every statement called between two captures (the worst case: all 5,000 have a delta),
  and with only 50 called (a typical minute);
* whether a capture statement tops the Queries page (it must not: perfaudit.origin);
* history bytes per capture, and per day at 1,440 captures a day, for both cases.

    .venv/bin/python -m benchmarks.history [--quick] [--statements 5000] [--captures 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

HISTORY_TABLES = (
    "perfaudit_capture",
    "perfaudit_capturedstatement",
    "perfaudit_capturedplan",
    "perfaudit_statementsample",
    "perfaudit_relationsample",
)


def log(message: str) -> None:
    print(f"[history {time.strftime('%H:%M:%S')}] {message}", flush=True)


def distinct_statement(n: int) -> str:
    """Statement ``n``: a different tree of + and - for each n (pg_stat_statements replaces
    the constants, so only the shape makes a distinct entry)."""
    ops = "".join(" + 1" if n >> bit & 1 else " - 1" for bit in range(13))
    return f"SELECT id{ops} FROM bench_history_rows WHERE id = {n + 1}"


def prepare(cursor, rows: int) -> None:
    cursor.execute("SELECT count(*) FROM pg_class WHERE relname = 'bench_history_rows'")
    if cursor.fetchone()[0]:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE relname = 'bench_history_rows'"
        )
        if cursor.fetchone()[0] >= rows * 0.9:
            return
        cursor.execute("DROP TABLE bench_history_rows")
    log(f"creating bench_history_rows with {rows:,} rows")
    cursor.execute(
        "CREATE TABLE bench_history_rows (id bigint PRIMARY KEY, owner int NOT NULL, "
        "note text NOT NULL)"
    )
    cursor.execute(
        "INSERT INTO bench_history_rows SELECT g, g %% 1000, md5(g::text) "
        "FROM generate_series(1, %s) g",
        [rows],
    )
    cursor.execute("CREATE INDEX bench_history_rows_owner ON bench_history_rows (owner)")
    cursor.execute("ANALYZE bench_history_rows")


def workload(cursor, statements: int) -> None:
    for n in range(statements):
        cursor.execute(distinct_statement(n))
        cursor.fetchall()


def history_bytes(cursor) -> int:
    """Live bytes of the history tables and their indexes: VACUUM FULL first, so the baseline
    a capture keeps and the next one clears (dead rows autovacuum reclaims in time) does not
    count as growth."""
    for table in HISTORY_TABLES:
        cursor.execute(f"VACUUM FULL {table}")
    cursor.execute(
        "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c WHERE c.relname = ANY(%s)",
        [list(HISTORY_TABLES)],
    )
    return int(cursor.fetchone()[0] or 0)


def timed_captures(cursor, capture_stats, *, captures: int, statements: int) -> tuple[list, int]:
    """(milliseconds of each capture, history bytes added), ``statements`` called before each."""
    before = history_bytes(cursor)
    timings = []
    for _ in range(captures):
        workload(cursor, statements)
        started = time.perf_counter()
        capture_stats()
        timings.append((time.perf_counter() - started) * 1000)
    return timings, history_bytes(cursor) - before


def pending_texts(cursor) -> int:
    cursor.execute("SELECT count(*) FROM perfaudit_capturedstatement WHERE origin = ''")
    return cursor.fetchone()[0]


def top_of_queries_page() -> str:
    from perfaudit.services import slow_queries

    report = slow_queries(order="total", limit=1)
    return report.queries[0].query if report.queries else ""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20k rows, 500 statements")
    parser.add_argument("--statements", type=int, help="distinct statements (default 5,000)")
    parser.add_argument("--captures", type=int, default=10, help="steady captures to time")
    args = parser.parse_args(argv)
    from benchmarks.run import FULL, QUICK, ROOT, bench_environment

    profile = QUICK if args.quick else FULL
    rows = 20_000 if args.quick else 1_000_000
    statements = args.statements or (500 if args.quick else 5_000)
    os.environ.update(bench_environment(profile))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taskproject.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from perfaudit.services.history import capture_stats

    call_command("migrate", "--noinput", verbosity=0)
    with connection.cursor() as cursor:
        prepare(cursor, rows)
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        cursor.execute("SHOW pg_stat_statements.max")
        log(f"pg_stat_statements.max = {cursor.fetchone()[0]}")
        cursor.execute(f"TRUNCATE {', '.join(HISTORY_TABLES)} CASCADE")
        cursor.execute("SELECT pg_stat_statements_reset()")
        workload(cursor, statements)
        started = time.perf_counter()
        capture_stats()
        first_ms = (time.perf_counter() - started) * 1000
        cursor.execute("SELECT count(*) FROM pg_stat_statements")
        entries = cursor.fetchone()[0]
        log(f"first capture: {first_ms:.0f} ms ({entries:,} pg_stat_statements entries)")
        # The texts the first capture left unclassified (HISTORY_CLASSIFY_PER_CAPTURE) are
        # classified by the next ones: capture until none is left, then measure steady ones.
        warmup = []
        while pending_texts(cursor):
            started = time.perf_counter()
            capture_stats()
            warmup.append((time.perf_counter() - started) * 1000)
        log(f"{len(warmup)} more captures classified the remaining texts")
        busy, busy_bytes = timed_captures(
            cursor, capture_stats, captures=args.captures, statements=statements
        )
        quiet, quiet_bytes = timed_captures(
            cursor, capture_stats, captures=args.captures, statements=50
        )
    top = top_of_queries_page()
    per_day = 24 * 60
    print()
    print(f"history capture, {rows:,}-row table, {entries:,} pg_stat_statements entries")
    print(f"  load average (2-core machine shared with other work): {os.getloadavg()[0]:.1f}")
    print(f"  first capture (every text read, some classified): {first_ms:8.0f} ms")
    if warmup:
        print(
            f"  then {len(warmup)} captures classifying the other texts: median "
            f"{statistics.median(warmup):.0f} ms"
        )
    for label, timings, grown in (
        (f"every statement called ({statements:,})", busy, busy_bytes),
        ("50 statements called", quiet, quiet_bytes),
    ):
        each = grown / len(timings)
        median, worst = statistics.median(timings), max(timings)
        print(
            f"  {label:<34} median {median:6.0f} ms, max {worst:6.0f} ms;"
            f" {each / 1024:7.1f} KiB a capture = {each * per_day / 2**20:7.1f} MiB a day at 60 s"
        )
    print(f"  top statement on the Queries page: {' '.join(top.split())[:90]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
