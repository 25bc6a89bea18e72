"""Queries per request, and EXPLAIN of every query our endpoints run on the benchmark table."""

from __future__ import annotations

import json

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext


def _walk(node):
    yield node
    for child in node.get("Plans", []):
        yield from _walk(child)


def seq_scans_on_tasks(sql: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return [
        f"Seq Scan on {n['Relation Name']}"
        for n in _walk(plan[0]["Plan"])
        if n.get("Node Type") == "Seq Scan" and n.get("Relation Name") == "tasks_task"
    ]


def capture(path: str, token: str):
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    return response.status_code, [q["sql"] for q in ctx.captured_queries]


def check(scenarios, info, *, log) -> list[str]:
    failures = []
    for scenario in scenarios:
        for role, side in (("baseline", scenario.baseline), ("ours", scenario.ours)):
            if not side.in_process:
                continue
            status, sqls = capture(side.path, info.tokens[side.user])
            if status != 200:
                failures.append(f"{scenario.name}/{role}: GET {side.path} answered {status}")
                continue
            scenario.queries[role] = len(sqls)
            if role != "ours":
                continue  # baselines are slow on purpose
            for sql in sqls:
                if not sql.lstrip().upper().startswith("SELECT"):
                    continue
                for problem in seq_scans_on_tasks(sql):
                    failures.append(f"{scenario.name}: {problem} in {sql[:160]}")
        log(
            f"  {scenario.name}: queries/request baseline {scenario.queries.get('baseline')} "
            f"vs ours {scenario.queries.get('ours')}"
        )
    return failures
