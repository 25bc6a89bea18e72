"""Each endpoint runs the same statements whatever the size: asserted at two sizes, with every
expected statement named (a fragment of its SQL) in order. Token authentication included."""

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient

from tasks.models import Task, User
from tasks.tests.conftest import make_tasks, token_for

# Committed data: the async endpoints read on their own connections (taskproject.asyncdb).
pytestmark = pytest.mark.django_db(transaction=True)

# Token + its user, one join; found by the secret's digest, live (not expired, not revoked).
TOKEN = 'FROM "tasks_apitoken" INNER JOIN "tasks_user"'
TASK_PAGE = 'FROM "tasks_task" WHERE'  # the keyset page, LIMIT page_size + 1
# A token request's page or own counter row: in the statement that finds the token.
TOKEN_PAGE = TOKEN + ' ON "tasks_user"."id" = "tasks_apitoken"."user_id" LEFT JOIN LATERAL'
TOKEN_COUNTER = (
    TOKEN + ' ON "tasks_user"."id" = "tasks_apitoken"."user_id" LEFT JOIN "tasks_taskcounter"'
)


def run(queries, client_call):
    with queries() as captured:
        response = client_call()
    assert response.status_code < 300, response.content
    return response, captured.statements


def assert_statements(statements, expected):
    assert len(statements) == len(expected), "\n".join(statements)
    for sql, fragment in zip(statements, expected, strict=True):
        assert fragment in sql, (fragment, sql)


@pytest.mark.parametrize("size", [1, 50])
def test_task_list(api, owner, queries, size):
    make_tasks(owner, size)
    client = api(owner)
    response, statements = run(queries, lambda c=client: c.get("/api/tasks/?page_size=50"))
    assert len(response.json()["results"]) == size
    assert_statements(statements, [TOKEN_PAGE])


@pytest.mark.parametrize("size", [1, 50])
def test_task_list_all_scope_joins_owner(api, owner, other_user, staff_user, queries, size):
    make_tasks(owner, size)
    make_tasks(other_user, size)
    client = api(staff_user)
    response, statements = run(queries, lambda c=client: c.get("/api/tasks/?scope=all"))
    assert len(response.json()["results"]) == min(2 * size, 50)
    # The owner's email / full name come from the same statement (no query per row).
    assert_statements(statements, [TOKEN, 'FROM "tasks_task" INNER JOIN "tasks_user"'])


@pytest.mark.parametrize("size", [1, 50])
def test_user_tasks(api, owner, staff_user, queries, size):
    make_tasks(owner, size)
    client = api(staff_user)
    _, statements = run(queries, lambda c=client: c.get(f"/api/users/{owner.pk}/tasks/"))
    assert_statements(statements, [TOKEN_PAGE])


@pytest.mark.parametrize("size", [1, 50])
def test_search(api, owner, queries, size):
    make_tasks(owner, size, title="Quarterly report", description="numbers")
    for mode in ("fulltext", "substring"):
        client = api(owner)
        response, statements = run(
            queries, lambda m=mode, c=client: c.get(f"/api/tasks/search/?q=report&mode={m}")
        )
        assert len(response.json()["results"]) == size
        assert_statements(statements, [TOKEN, TASK_PAGE])


@pytest.mark.parametrize("size", [1, 50])
def test_task_detail_read_write_delete(api, owner, queries, size):
    tasks = make_tasks(owner, size)
    task = tasks[-1]
    client = api(owner)
    _, statements = run(queries, lambda: client.get(f"/api/tasks/{task.pk}/"))
    assert_statements(statements, [TOKEN, 'FROM "tasks_task" WHERE'])
    for method in ("patch", "put"):
        _, statements = run(
            queries,
            lambda m=method: getattr(client, m)(
                f"/api/tasks/{task.pk}/", {"title": "t", "completed": True}, format="json"
            ),
        )
        # token; the scoped fetch; one UPDATE (counter triggers run inside it)
        assert_statements(statements, [TOKEN, 'FROM "tasks_task" WHERE', 'UPDATE "tasks_task"'])
    _, statements = run(queries, lambda: client.delete(f"/api/tasks/{task.pk}/"))
    # token; one DELETE scoped to the owner (no fetch first)
    assert_statements(statements, [TOKEN, 'DELETE FROM "tasks_task"'])


@pytest.mark.parametrize("size", [1, 50])
def test_create_and_bulk_create(api, owner, queries, size):
    client = api(owner)
    _, statements = run(queries, lambda: client.post("/api/tasks/", {"title": "a"}, format="json"))
    assert_statements(statements, [TOKEN, 'INSERT INTO "tasks_task"'])
    body = {"tasks": [{"title": f"t{n}"} for n in range(size)]}
    response, statements = run(
        queries, lambda: client.post("/api/tasks/bulk/", body, format="json")
    )
    assert response.json()["created"] == size
    # every row in one INSERT ... RETURNING
    assert_statements(statements, [TOKEN, 'INSERT INTO "tasks_task"'])


@pytest.mark.parametrize("size", [1, 50])
@pytest.mark.parametrize("url", ["/api/tasks/bulk-complete/", "/api/async/tasks/bulk-complete/"])
def test_bulk_complete(api, owner, queries, size, url):
    ids = [t.pk for t in make_tasks(owner, size)]
    client = api(owner)
    response, statements = run(queries, lambda c=client: c.post(url, {"ids": ids}, format="json"))
    assert response.json()["updated"] == size
    # token; one UPDATE ... RETURNING id
    assert_statements(statements, [TOKEN, 'UPDATE "tasks_task"'])


@pytest.mark.parametrize("size", [1, 50])
def test_stats(api, owner, staff_user, queries, size):
    make_tasks(owner, size)
    for url in ("/api/tasks/stats/", "/api/async/tasks/stats/"):
        client = api(owner)
        response, statements = run(queries, lambda u=url, c=client: c.get(u))
        assert response.json()["total_tasks"] == size
        # token and the caller's counter row by primary key (no scan of tasks)
        assert_statements(statements, [TOKEN_COUNTER])
    client = api(staff_user)
    response, statements = run(queries, lambda c=client: c.get("/api/tasks/stats/?scope=global"))
    assert response.json()["total_tasks"] == size
    # token; SUM over the counter rows (one per user, not per task)
    assert_statements(statements, [TOKEN, 'FROM "tasks_taskcounter"'])
    client = api(staff_user)
    _, statements = run(queries, lambda c=client: c.get("/api/async/tasks/stats/?scope=global"))
    assert_statements(statements, [TOKEN])  # served from the cache


@pytest.mark.parametrize("size", [1, 20])
def test_users_list_and_summaries(api, staff_user, queries, size):
    users = User.objects.bulk_create(
        [User(username=f"u{n}", email=f"u{n}@example.com") for n in range(size)]
    )
    for user in users:
        make_tasks(user, 2)
    client = api(staff_user)
    response, statements = run(queries, lambda: client.get("/api/users/"))
    assert len(response.json()["results"]) == size + 1
    # token; the page of users LEFT JOINed to their counter rows
    assert_statements(statements, [TOKEN, 'FROM "tasks_user" LEFT OUTER JOIN "tasks_taskcounter"'])
    query = "&".join(f"ids={u.pk}" for u in users)
    for prefix in ("/api/", "/api/async/"):
        response, statements = run(
            queries, lambda p=prefix: client.get(f"{p}users/summaries/?{query}")
        )
        assert len(response.json()["results"]) == size
        assert_statements(
            statements, [TOKEN, 'FROM "tasks_user" LEFT OUTER JOIN "tasks_taskcounter"']
        )


@pytest.mark.parametrize("size", [1, 50])
def test_dashboard(api, owner, queries, size):
    make_tasks(owner, size)
    client = api(owner)
    response, statements = run(queries, lambda c=client: c.get(f"/api/users/{owner.pk}/dashboard/"))
    assert response.json()["total_tasks"] == size
    # token; one statement: user + counter row + latest task date (index-top subquery)
    assert_statements(statements, [TOKEN, 'FROM "tasks_user" LEFT OUTER JOIN "tasks_taskcounter"'])


@pytest.mark.parametrize("size", [1, 50])
def test_async_lists_through_asgi(owner, queries, size):
    make_tasks(owner, size)
    client, auth = AsyncClient(), {"Authorization": f"Token {token_for(owner)}"}
    for url in ("/api/async/tasks/", f"/api/async/users/{owner.pk}/tasks/"):
        response, statements = run(
            queries, lambda u=url: async_to_sync(client.get)(u, headers=auth)
        )
        assert len(response.json()["results"]) == size
        assert_statements(statements, [TOKEN_PAGE])


def test_page_query_never_counts_or_offsets(api, owner, queries):
    make_tasks(owner, 30)
    client = api(owner)
    url, seen = "/api/tasks/?page_size=7", []
    while url:
        with queries() as captured:
            body = client.get(url).json()
        for sql in captured.statements:
            assert "COUNT(" not in sql.upper() and "OFFSET" not in sql.upper()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert seen == list(Task.objects.order_by("-created_at", "-id").values_list("id", flat=True))


def test_token_endpoints(client, owner, queries):
    body = {"username": "owner", "password": "pw-owner-1"}
    _response, statements = run(
        queries, lambda: client.post("/api/auth/token/", body, "application/json")
    )
    # the user by username (password check in Python); the new token's INSERT
    assert_statements(statements, ['FROM "tasks_user" WHERE', 'INSERT INTO "tasks_apitoken"'])
    for url in ("/api/auth/token/revoke/", "/api/auth/tokens/revoke-all/"):
        auth = {"Authorization": f"Token {token_for(owner)}"}
        _response, statements = run(queries, lambda u=url, a=auth: client.post(u, headers=a))
        # token + user; one UPDATE revoking the token(s)
        assert_statements(statements, [TOKEN, 'UPDATE "tasks_apitoken" SET "revoked_at"'])


def test_merged_page_statement_reads_nothing_it_may_not_show(owner, other_user, staff_user):
    # token_page_sql reads another user's page only for staff: a forbidden page (the view then
    # answers 403) never leaves the server, and the token's user comes in the first row only.
    from django.db import connection

    from tasks import selectors

    make_tasks(owner, 3)

    def rows(user, owner_id=None):
        sql, params, _names = selectors.token_page_sql(
            token_for(user), owner_id=owner_id, page_size=50
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    width = 5 + len(User._meta.concrete_fields)
    forbidden = rows(other_user, owner.pk)
    assert len(forbidden) == 1 and set(forbidden[0][width:]) == {None}
    assert forbidden[0][5] == other_user.pk  # the token's user, to answer 403 with
    allowed = rows(staff_user, owner.pk)
    assert [row[width] for row in allowed] == [t.pk for t in Task.objects.order_by("-created_at")]
    assert allowed[0][5] == staff_user.pk and {row[5] for row in allowed[1:]} == {None}
