"""One declaration per route (tasks/routes.py), two servers: a change made in the declaration
alone shows on the sync server (DRF, through Django's test client as under WSGI) and on the
native async one (Django's ASGI request path, through AsyncClient)."""

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient

from tasks import routes
from tasks.tests.conftest import client_for, make_tasks, token_for

# Committed data: the async views read it on their own connections (taskproject.asyncdb).
pytestmark = pytest.mark.django_db(transaction=True)


def both(user, path: str, method: str = "get", body=None):
    """The sync and the async answer to the same request of ``user``."""
    headers = {"Authorization": f"Token {token_for(user)}"}
    client = AsyncClient()
    if body is None:
        async_ = async_to_sync(getattr(client, method))(f"/api/async/{path}", headers=headers)
    else:
        async_ = async_to_sync(getattr(client, method))(
            f"/api/async/{path}", body, content_type="application/json", headers=headers
        )
    sync = getattr(client_for(user), method)(f"/api/{path}", body, format="json")
    return sync, async_


@pytest.mark.parametrize(
    ("route", "path", "staff"),
    [
        (routes.TASK_LIST, "tasks/?page_size=2", False),
        (routes.TASK_LIST, "tasks/?scope=all", True),  # the non-merged path
        (routes.TASK_STATS, "tasks/stats/", False),
        (routes.TASK_STATS, "tasks/stats/?scope=global", True),
        (routes.USER_TASKS, "users/{user}/tasks/", False),
        (routes.USER_SUMMARIES, "users/summaries/?ids={user}", True),
    ],
)
def test_a_field_added_in_the_declaration_shows_on_both_servers(
    monkeypatch, owner, staff_user, route, path, staff
):
    make_tasks(owner, 3)
    user = staff_user if staff else owner
    original = route.handle

    def with_field(call):
        data = yield from original(call)
        return {**data, "served_to": call.user.username}

    monkeypatch.setattr(route, "handle", with_field)
    sync, async_ = both(user, path.format(user=user.pk))
    assert sync.status_code == async_.status_code == 200
    assert sync.json()["served_to"] == async_.json()["served_to"] == user.username
    monkeypatch.undo()
    sync, async_ = both(user, path.format(user=user.pk))
    assert "served_to" not in sync.json() and "served_to" not in async_.json()


def test_a_field_added_to_a_write_shows_on_both_servers(monkeypatch, owner):
    ids = [task.pk for task in make_tasks(owner, 2)]
    original = routes.BULK_COMPLETE.handle

    def with_field(call):
        data = yield from original(call)
        return {**data, "count_again": len(data["ids"])}

    monkeypatch.setattr(routes.BULK_COMPLETE, "handle", with_field)
    sync, async_ = both(owner, "tasks/bulk-complete/", "post", {"ids": ids})
    assert sync.status_code == async_.status_code == 200
    # The async request (sent first) completed both; the sync one then found none to complete.
    assert async_.json()["count_again"] == 2 and async_.json()["ids"] == sorted(ids)
    assert sync.json()["count_again"] == 0 and sync.json()["ids"] == []


def test_an_endpoint_declared_once_is_served_by_both(settings, owner):
    settings.ROOT_URLCONF = "tasks.tests.route_urls"
    make_tasks(owner, 4)
    sync, async_ = both(owner, "tasks/open-count/")
    assert sync.status_code == async_.status_code == 200
    assert sync.content == async_.content == b'{"open":4}'
    # Authentication and its errors come with it, on both.
    anonymous = AsyncClient()
    async_ = async_to_sync(anonymous.get)("/api/async/tasks/open-count/")
    sync = client_for(None).get("/api/tasks/open-count/")
    assert sync.status_code == async_.status_code == 401
    assert sync.content == async_.content
    assert sync["WWW-Authenticate"] == async_["WWW-Authenticate"] == "Token"


def test_the_page_schema_lists_the_fields_the_page_statement_reads():
    # A task field is added to the page statement (selectors.TASK_FIELDS); the OpenAPI shape of
    # a task must follow, or the schema (and clients generated from it) would miss it.
    from tasks.selectors import TASK_FIELDS
    from tasks.serializers import TaskOutSerializer

    assert tuple(TaskOutSerializer().fields) == TASK_FIELDS
