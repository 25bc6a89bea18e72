"""The async endpoints (served through Django's ASGI handler here) return exactly the sync
endpoints' JSON for the same data: same bytes for pages, stats, summaries, and errors. The one
intended difference: a page's ``next`` link points back at the endpoint that served it."""

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient

from tasks.models import Task
from tasks.tests.conftest import make_tasks, token_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(owner, other_user):
    make_tasks(owner, 30)
    make_tasks(other_user, 7, priority="high")
    Task.objects.filter(owner=owner, priority="low").update(
        completed=True, completed_at=Task.created_at.field.default()
    )


def pair(user, sync_client):
    headers = {"Authorization": f"Token {token_for(user)}"}
    asgi = AsyncClient()

    def get(path):
        sync = sync_client(user).get(path)
        async_ = async_to_sync(asgi.get)(path.replace("/api/", "/api/async/", 1), headers=headers)
        # The same bytes once the async next link is pointed back at the sync endpoint.
        async_.content = async_.content.replace(b'"next":"/api/async/', b'"next":"/api/')
        return sync, async_

    return get


@pytest.mark.parametrize(
    "path",
    [
        "/api/tasks/",
        "/api/tasks/?page_size=7",
        "/api/tasks/?completed=true&page_size=3",
        "/api/tasks/?priority=high",
        "/api/tasks/?due_after=2020-01-01T00:00:00Z",
        "/api/tasks/?scope=all&page_size=9",
        "/api/tasks/stats/",
        "/api/tasks/stats/?scope=global",
        "/api/users/{owner}/tasks/?page_size=5",
        "/api/users/{other}/tasks/",
        "/api/users/summaries/?ids={owner}&ids={other}&ids={staff}",
        "/api/tasks/?page_size=0",
        "/api/tasks/?bogus=1",
        "/api/tasks/stats/?scope=x",
        "/api/users/summaries/?ids=-1",
    ],
)
@pytest.mark.parametrize("role", ["owner", "staff"])
def test_same_json(api, data, owner, other_user, staff_user, role, path):
    user = {"owner": owner, "staff": staff_user}[role]
    path = path.format(owner=owner.pk, other=other_user.pk, staff=staff_user.pk)
    get = pair(user, api)
    sync, async_ = get(path)
    assert sync.status_code == async_.status_code
    assert sync["Content-Type"] == async_["Content-Type"] == "application/json"
    assert sync.content == async_.content


def test_next_pages_match_all_the_way(api, data, owner):
    get = pair(owner, api)
    path = "/api/tasks/?page_size=4"
    while path:
        sync, async_ = get(path)
        assert sync.content == async_.content
        path = sync.json()["next"]


def test_bulk_complete_same_json_and_effect(api, data, owner):
    ids = list(Task.objects.filter(owner=owner, completed=False).values_list("id", flat=True)[:5])
    client = api(owner)
    sync = client.post("/api/tasks/bulk-complete/", {"ids": ids}, format="json")
    client.post("/api/tasks/bulk-complete/", {"ids": ids, "completed": False}, format="json")
    async_ = async_to_sync(AsyncClient().post)(
        "/api/async/tasks/bulk-complete/",
        {"ids": ids},
        content_type="application/json",
        headers={"Authorization": f"Token {token_for(owner)}"},
    )
    assert sync.status_code == async_.status_code == 200
    assert sync.content == async_.content
    assert Task.objects.filter(pk__in=ids, completed=True).count() == 5


def test_method_not_allowed(api, owner):
    response = api(owner).delete("/api/async/tasks/")
    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "DELETE" not allowed.'}
