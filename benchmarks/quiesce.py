"""Between two timed runs, the servers are quiet: the sides of a scenario never overlap.

When wrk stops, the requests it had in flight do not: a sync gunicorn worker finishes the one
it is running, then accepts the connections still queued in the listen backlog (up to one per
wrk connection, 64 in the high-concurrency scenarios) and serves them too, to clients that are
gone; the database keeps running their statements (a seed baseline's full scan takes seconds).
Timing the other side then would charge it with that work, in its throughput and in its tails.

``settle`` returns only once every server process of the scenario has stopped using CPU (no
request being parsed, served or written) and the benchmark database runs no client statement
(no worker waits on one); a statement still running after ``grace`` seconds is cancelled
(``pg_cancel_backend``). Linux only (``/proc``), like the rest of the runner.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
# Client statements of this database still running, except the one asking.
ACTIVE_SQL = (
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
    "AND backend_type = 'client backend' AND state = 'active' AND pid <> pg_backend_pid()"
)


@dataclass(frozen=True)
class Settled:
    waited_s: float
    cancelled: int  # statements cancelled after the grace period


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except OSError:  # the process is gone
        return None
    # The command name is in parentheses and may hold spaces: split after its closing one.
    return raw[raw.rindex(")") + 2 :].split()


def process_tree(root: int) -> list[int]:
    """``root`` and its descendants (gunicorn's master and its workers)."""
    parents: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None:
                parents.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(parents.get(pid, []))
    return tree


def cpu_ticks(pids: Iterable[int]) -> int:
    """User + system CPU ticks of these processes (the ones that exited count 0)."""
    total = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is not None:
            total += int(fields[11]) + int(fields[12])  # utime, stime (stat fields 14, 15)
    return total


def active_statements(connection) -> list[int]:
    with connection.cursor() as cursor:
        # Inside a transaction the activity view would show the first snapshot taken in it.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(ACTIVE_SQL)
        return [pid for (pid,) in cursor.fetchall()]


def cancel(connection, pids: list[int]) -> None:
    with connection.cursor() as cursor:
        for pid in pids:
            cursor.execute("SELECT pg_cancel_backend(%s)", [pid])


def settle(
    server_pids: Iterable[int],
    connection,
    *,
    grace: float = 5.0,
    limit: float = 60.0,
    poll: float = 0.05,
    quiet_polls: int = 2,
    sleep: Callable[[float], None] = time.sleep,
) -> Settled:
    """Wait until the servers (gunicorn masters, with their workers) use no CPU and the database
    (``connection``: the benchmark one) runs no client statement, for ``quiet_polls``
    consecutive polls; cancel statements still running after ``grace`` seconds. RuntimeError
    when not quiet after ``limit`` seconds."""
    started = time.monotonic()
    roots = list(server_pids)
    pids = [pid for root in roots for pid in process_tree(root)]
    # One tick (1/CLK_TCK s) per poll is a timer or heartbeat, not a request.
    allowance = 1
    previous, quiet, cancelled = cpu_ticks(pids), 0, 0
    while True:
        sleep(poll)
        ticks = cpu_ticks(pids)
        busy_cpu, previous = ticks - previous > allowance, ticks
        active = active_statements(connection)
        waited = time.monotonic() - started
        if active and waited >= grace:
            cancel(connection, active)
            cancelled += len(active)
        if busy_cpu or active:
            quiet = 0
        else:
            quiet += 1
            if quiet >= quiet_polls:
                return Settled(waited, cancelled)
        if waited > limit:
            raise RuntimeError(
                f"servers still busy after {limit:g} s (CPU: {busy_cpu}, statements: {active})"
            )
