"""Plan shapes of the hot statements: each can be served by the index it was designed for, and
the keyset condition is an index *seek* (Index Cond), not a filter over a scan.

The test tables are tiny, so sequential scans are switched off to ask the planner what it does
when scanning is expensive (as at 1M rows, where docs/api.md records the same plans)."""

import json
from datetime import UTC, datetime

import pytest
from django.db import connection, transaction

from tasks import selectors
from tasks.models import Task, User

pytestmark = pytest.mark.django_db
CURSOR = (datetime(2026, 6, 1, tzinfo=UTC), 10**6)


@pytest.fixture(autouse=True)
def _realistic_statistics(owner, other_user):
    # 6k tasks over 20 owners, analysed, so the planner sees selectivities like the real ones.
    owners = [owner.pk, other_user.pk] + [
        u.pk for u in User.objects.bulk_create(User(username=f"p{n}") for n in range(18))
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO tasks_task (owner_id, title, description, completed, completed_at,
                                    priority, created_at, updated_at)
            SELECT (%s::bigint[])[1 + n %% 20], 'task ' || n, 'quarterly report', n %% 3 = 0,
                   CASE WHEN n %% 3 = 0 THEN now() END,
                   (ARRAY['low', 'medium', 'high'])[1 + n %% 3],
                   timestamptz '2026-01-01' + n * interval '1 minute', now()
            FROM generate_series(1, 6000) AS n
            """,
            [owners],
        )
        cursor.execute("ANALYZE tasks_task")
        cursor.execute("ANALYZE tasks_user")


def plan(sql, params) -> list[dict]:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        root = cursor.fetchone()[0]
    root = json.loads(root) if isinstance(root, str) else root
    nodes, todo = [], [root[0]["Plan"]]
    while todo:
        node = todo.pop()
        nodes.append(node)
        todo += node.get("Plans", [])
    return nodes


def scans(nodes):
    return {n.get("Index Name"): n for n in nodes if "Index Name" in n}


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        ({}, "task_owner_created_idx"),
        ({"completed": False}, "task_owner_done_created_idx"),
        ({"priority": "high"}, "task_owner_prio_created_idx"),
    ],
)
def test_own_pages_seek_on_the_owner_composites(owner, filters, index):
    sql, params = selectors.task_page_sql(
        owner_id=owner.pk, with_owner=False, page_size=50, cursor=CURSOR, **filters
    )
    found = scans(plan(sql, params))
    assert index in found, found.keys()
    cond = found[index]["Index Cond"]
    assert "owner_id" in cond and "ROW(created_at, id) <" in cond
    assert not any(n["Node Type"] == "Sort" for n in plan(sql, params))  # index gives the order


def test_all_scope_page_seeks_on_the_global_index_and_joins_owner():
    sql, params = selectors.task_page_sql(
        owner_id=None, with_owner=True, page_size=50, cursor=CURSOR
    )
    nodes = plan(sql, params)
    found = scans(nodes)
    assert "ROW(created_at, id) <" in found["task_created_idx"]["Index Cond"]
    assert "tasks_user_pkey" in found


def test_orm_page_query_is_the_same_statement_shape(owner):
    # The async path runs the queryset; it must reach the same index seek.
    qs = selectors._task_page_query(
        owner_id=owner.pk, with_owner=False, page_size=50, cursor=CURSOR
    )
    sql, params = qs.query.sql_with_params()
    assert (
        "ROW(created_at, id) <" in scans(plan(sql, params))["task_owner_created_idx"]["Index Cond"]
    )


def test_users_page_seeks_on_the_partial_index():
    qs = User.objects.filter(is_active=True)
    from tasks.querysets import keyset_before

    qs = qs.filter(keyset_before("tasks_user", *CURSOR)).order_by("-created_at", "-id")
    sql, params = qs.values("id")[:51].query.sql_with_params()
    found = scans(plan(sql, params))
    assert "ROW(created_at, id) <" in found["user_active_created_idx"]["Index Cond"]


def test_search_expressions_match_their_gin_indexes(owner):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")  # leave the bitmap (GIN) paths
        for qs, index in (
            (Task.objects.search("report"), "task_search_fts_idx"),
            (Task.objects.contains_text("quarterly"), "task_search_trgm_idx"),
        ):
            sql, params = qs.values("id").query.sql_with_params()
            cursor.execute(f"EXPLAIN {sql}", params)
            text = "\n".join(row[0] for row in cursor.fetchall())
            assert index in text, text
