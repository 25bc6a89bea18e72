"""The async endpoints (served through Django's ASGI handler here) return exactly the sync
endpoints' JSON for the same data: same bytes for pages, stats, summaries, and errors. The one
intended difference: a page's ``next`` link points back at the endpoint that served it."""

import functools
import inspect

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient

from tasks.models import Task
from tasks.tests.conftest import make_tasks, token_for

# Committed data: the async endpoints read it on their own connections (taskproject.asyncdb).
pytestmark = pytest.mark.django_db(transaction=True)


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


@pytest.fixture
def thread_hops(monkeypatch):
    """The functions the request ran through sync_to_async (each one a hop to a thread and
    back), by qualified name."""
    from asgiref.sync import SyncToAsync

    hops: list[str] = []
    original = SyncToAsync.__call__

    async def counting(self, *args, **kwargs):
        func = self.func.func if isinstance(self.func, functools.partial) else self.func
        # Never getattr() on the callable itself: a lazy object (request.user) would load.
        named = inspect.isfunction(func) or inspect.ismethod(func)
        hops.append(func.__qualname__ if named else type(func).__qualname__)
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(SyncToAsync, "__call__", counting)
    return hops


# Django's ASGI handler itself: request_started / request_finished sent to their (sync)
# receivers, and the response closed, through sync_to_async. No view or middleware avoids them.
HANDLER_HOPS = {"Signal.asend.<locals>.sync_send", "HttpResponseBase.close"}


@pytest.fixture
def without_silk(settings):
    # The tests install silk (sync-only middleware, a hop of its own when it is on); production
    # runs without it unless SILK_ENABLED.
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "silk" not in m.lower()]


@pytest.mark.parametrize(
    "path",
    [
        "/api/async/tasks/",
        "/api/async/tasks/?scope=all",
        "/api/async/tasks/stats/",
        "/api/async/tasks/stats/?scope=global",
        "/api/async/users/{staff}/tasks/",
        "/api/async/users/summaries/?ids={staff}",
    ],
)
def test_token_requests_hop_to_no_thread(staff_user, without_silk, thread_hops, path):
    # No middleware and no query runs on a thread: the token chain is inline
    # (TokenAPIMiddleware) and every statement is awaited on the loop (taskproject.asyncdb).
    headers = {"Authorization": f"Token {token_for(staff_user)}"}
    response = async_to_sync(AsyncClient().get)(path.format(staff=staff_user.pk), headers=headers)
    assert response.status_code == 200
    allowed = set(HANDLER_HOPS)
    if "global" in path:
        # The cached global figures: Django 5.2's cache API runs every backend on a thread.
        allowed |= {"LocMemCache.get", "LocMemCache.add", "LocMemCache.set"}
    assert set(thread_hops) <= allowed, thread_hops


def test_session_requests_take_the_full_chain(owner, without_silk, thread_hops):
    # The browser's path keeps Django's session / CSRF / auth / messages middleware, run on a
    # thread like any sync middleware under ASGI: the hops the token path does without.
    client = AsyncClient()
    client.force_login(owner)
    thread_hops.clear()
    assert async_to_sync(client.get)("/api/async/tasks/").status_code == 200
    assert {"SessionMiddleware.process_request", "AuthenticationMiddleware.process_request"} <= set(
        thread_hops
    )
