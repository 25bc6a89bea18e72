"""Every statement an ordinary user's request runs on the task tables names the owner.

That is what keeps the Citus step open (docs/scaling.md, "Sharding by owner: Citus on paper"):
with ``tasks_task`` and ``tasks_taskcounter`` distributed by ``owner_id``, a statement whose
WHERE clause (or INSERT row) fixes ``owner_id`` is routed to one shard; one that does not fans
out to all of them. The hot endpoints' SQL is captured and checked here, so a new query that
forgets the owner fails this test rather than a future migration.
"""

import re

import pytest

from tasks.models import Task
from tasks.tests.conftest import make_tasks

pytestmark = pytest.mark.django_db

SHARDED = ('"tasks_task"', '"tasks_taskcounter"', " tasks_task ")
# Statements Django writes by primary key alone: UPDATE ... WHERE "id" = N from Model.save()
# (PATCH/PUT). With the composite primary key (owner_id, id) the Citus plan calls for, Django
# 5.2 writes the same save as WHERE ("owner_id", "id") = (...): single-shard. Listed, not hidden.
BY_PRIMARY_KEY_ONLY = re.compile(r'^UPDATE "tasks_task" SET .* WHERE "tasks_task"\."id" = \d+$')


def with_params(sql: str, params) -> str:
    """The statement with its parameters written in (the recorder keeps them apart)."""
    if not params:
        return sql
    pieces = sql.split("%s")
    assert len(pieces) == len(params) + 1, (sql, params)
    out = [pieces[0]]
    for value, piece in zip(params, pieces[1:], strict=True):
        out += [str(value) if isinstance(value, int) else repr(value), piece]
    return "".join(out)


def owner_filtered(sql: str, owner_id: int) -> bool:
    if sql.startswith("INSERT"):
        # One owner's rows: the distribution column is in every row.
        columns = sql.split("VALUES", 1)[0]
        return '"owner_id"' in columns
    where = sql.split(" WHERE ", 1)[1] if " WHERE " in sql else ""
    return bool(
        re.search(rf'(^|[ (."])owner_id"? = {owner_id}\b', where)
        # The dashboard: the user row by id, its tasks correlated on owner_id = that id.
        or (
            f'"tasks_user"."id" = {owner_id}' in where
            and '"tasks_task" U0 WHERE U0."owner_id" = ("tasks_user"."id")' in sql
        )
    )


# Committed data: the async endpoints read on their own connections (taskproject.asyncdb).
@pytest.mark.django_db(transaction=True)
def test_every_hot_statement_on_the_task_tables_filters_by_owner(api, owner, queries, settings):
    # A sharded deployment turns the merged token + page statements off (the token's user is
    # found by digest, so the lateral page names no owner the router could route on).
    settings.DB_MERGED_TOKEN_READS = False
    tasks = make_tasks(owner, 5, title="roadmap item")
    task = tasks[-1]
    client = api(owner)
    calls = [
        ("get", "/api/tasks/?page_size=50", None),
        ("get", "/api/tasks/?completed=false&priority=high", None),
        ("get", f"/api/tasks/{task.pk}/", None),
        ("patch", f"/api/tasks/{task.pk}/", {"title": "renamed"}),
        ("put", f"/api/tasks/{task.pk}/", {"title": "replaced", "completed": True}),
        ("get", "/api/tasks/search/?q=roadmap&mode=fulltext", None),
        ("get", "/api/tasks/search/?q=roadmap&mode=substring", None),
        ("get", "/api/tasks/stats/", None),
        ("get", f"/api/users/{owner.pk}/tasks/", None),
        ("get", f"/api/users/{owner.pk}/dashboard/", None),
        ("post", "/api/tasks/", {"title": "new"}),
        ("post", "/api/tasks/bulk/", {"tasks": [{"title": "a"}, {"title": "b"}]}),
        ("post", "/api/tasks/bulk-complete/", {"ids": [t.pk for t in tasks]}),
        ("delete", f"/api/tasks/{tasks[0].pk}/", None),
        ("get", "/api/async/tasks/", None),
        ("get", "/api/async/tasks/stats/", None),
        ("post", "/api/async/tasks/bulk-complete/", {"ids": [task.pk], "completed": False}),
        ("get", f"/api/async/users/{owner.pk}/tasks/", None),
    ]
    checked, by_pk = [], []
    for method, url, body in calls:
        with queries() as captured:
            response = (
                getattr(client, method)(url, body, format="json")
                if body
                else getattr(client, method)(url)
            )
        assert response.status_code < 300, (url, response.content)
        for query in captured.queries:
            if query.is_plumbing:
                continue
            sql = with_params(query.sql, None if query.many else query.params)
            if not any(table in sql for table in SHARDED):
                continue  # token + user lookups: tables that stay local / reference tables
            if BY_PRIMARY_KEY_ONLY.match(sql):
                by_pk.append((method, url))
                continue
            assert owner_filtered(sql, owner.pk), (method, url, sql)
            checked.append(sql)
    # Every endpoint above touched the task tables at least once, and only PATCH/PUT saved by
    # primary key alone.
    assert len(checked) >= len(calls) - 2
    assert by_pk == [("patch", f"/api/tasks/{task.pk}/"), ("put", f"/api/tasks/{task.pk}/")]
    assert Task.objects.filter(owner=owner).count() == 7  # 5 + 1 + 2 - 1
