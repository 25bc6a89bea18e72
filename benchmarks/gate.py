"""perfaudit's SQL gate: what depth pglast survives, and what the gate costs (docs/operations.md,
"perfaudit security").

1. pglast turns a parse tree into Python objects with C recursion and no stack check: the
   deepest ``SELECT 1+1+...+1`` it parses without a SIGSEGV, on the main thread (8 MB stack)
   and on 1 MB and 512 KB thread stacks (each try in a subprocess).
2. The gate's cost on the development database (the embedded server, or DATABASE_URL): its one
   catalog query (cold), a check with the catalog cached (warm), and the admin EXPLAIN page
   with the gate and with it bypassed, interleaved in one run (medians, ratio).

    .venv/bin/python -m benchmarks.gate
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

CRASH_PROBE = """
import sys, threading
from pglast import parse_sql
n, stack_kb = int(sys.argv[1]), int(sys.argv[2])
sql = "SELECT " + "+".join(["1"] * n)
if stack_kb:
    threading.stack_size(stack_kb * 1024)
    t = threading.Thread(target=parse_sql, args=(sql,))
    t.start()
    t.join()
else:
    parse_sql(sql)
"""


def survives(terms: int, stack_kb: int) -> bool:
    result = subprocess.run(  # noqa: S603 - our own fixed script and integers
        [sys.executable, "-c", CRASH_PROBE, str(terms), str(stack_kb)],
        capture_output=True,
        timeout=120,
        check=False,
    )
    return result.returncode == 0


def deepest(stack_kb: int, low: int = 100, high: int = 60_000) -> int:
    """Binary search to within 1 %: the most terms that parse without a crash."""
    while high - low > max(50, low // 100):
        middle = (low + high) // 2
        if survives(middle, stack_kb):
            low = middle
        else:
            high = middle
    return low


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def gate_cost(rounds: int = 41) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taskproject.settings")
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.test import Client
    from django.test.utils import override_settings
    from django.urls import reverse

    from perfaudit import gate
    from tasks.management.commands.demouser import set_permissions

    sql = (
        'SELECT "tasks_task"."id", "tasks_task"."title" FROM "tasks_task" '
        'WHERE ("tasks_task"."owner_id" = 1 AND NOT "tasks_task"."completed") '
        'ORDER BY "tasks_task"."created_at" DESC, "tasks_task"."id" DESC LIMIT 21'
    )
    cold = []
    for _ in range(7):
        gate.clear_cache()
        start = time.perf_counter()
        gate.catalog_facts(connection)
        cold.append(time.perf_counter() - start)
    warm = []
    for _ in range(501):
        start = time.perf_counter()
        gate.check(connection, sql, allowed=gate.SELECT_ONLY)
        warm.append(time.perf_counter() - start)
    print(f"catalog query (cold, median of 7): {median_ms(cold):.1f} ms")
    print(f"gate check, catalog cached (median of 501): {median_ms(warm) * 1000:.0f} µs")

    real_check = gate.check
    with (
        transaction.atomic(),
        override_settings(
            ALLOWED_HOSTS=["testserver"],
            PERFAUDIT={"ADMIN_EXPLAIN_ANALYZE": True},
            STORAGES={
                "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
            },
        ),
    ):
        user = get_user_model().objects.create_user(username="bench-gate", is_staff=True)
        set_permissions(user)
        client = Client()
        client.force_login(user)
        url = reverse("admin:perfaudit_explain")
        timings = {"with the gate": [], "gate bypassed": []}
        for n in range(rounds * 2):
            bypass = n % 2 == 1
            gate.check = (lambda c, s, **kw: "SELECT") if bypass else real_check
            start = time.perf_counter()
            response = client.post(url, {"sql": sql})
            timings["gate bypassed" if bypass else "with the gate"].append(
                time.perf_counter() - start
            )
            assert response.status_code == 200, response.content.decode()[-3000:]
        gate.check = real_check
        transaction.set_rollback(True)
    with_gate, without = (median_ms(timings[k]) for k in ("with the gate", "gate bypassed"))
    print(
        f"EXPLAIN page POST (median of {rounds} each, interleaved): {with_gate:.2f} ms with the "
        f"gate, {without:.2f} ms bypassed, ratio {with_gate / without:.3f}"
    )


def main() -> None:
    for label, kb in (("main thread (8 MB)", 0), ("1 MB thread", 1024), ("512 KB thread", 512)):
        print(f"pglast parse_sql survives SELECT 1+...+1 up to ~{deepest(kb):,} terms: {label}")
    gate_cost()


if __name__ == "__main__":
    main()
