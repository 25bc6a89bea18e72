"""What the endpoints return: ordering, filters, keyset pages, search, stats, dashboard,
summaries, users list, and a global-stats cache that never serves the writer stale data."""

from datetime import timedelta

import pytest
from django.core.management import call_command

from tasks.models import Task, User
from tasks.tests.conftest import T0, make_tasks

pytestmark = pytest.mark.django_db


def walk(client, url):
    ids = []
    while url:
        body = client.get(url).json()
        ids += [row["id"] for row in body["results"]]
        url = body["next"]
    return ids


def test_list_is_newest_first_own_only_and_pages_cover_everything(api, owner, other_user):
    mine = make_tasks(owner, 23)
    make_tasks(other_user, 5)
    # Two tasks with the same created_at: the id tie-breaker keeps the order total.
    twin = Task.objects.create(owner=owner, title="twin", created_at=mine[10].created_at)
    expected = sorted([*mine, twin], key=lambda t: (t.created_at, t.pk), reverse=True)
    assert walk(api(owner), "/api/tasks/?page_size=4") == [t.pk for t in expected]
    first = api(owner).get("/api/tasks/?page_size=100").json()
    assert first["next"] is None and first["next_cursor"] is None
    assert set(first["results"][0]) == {
        "id",
        "owner_id",
        "title",
        "description",
        "completed",
        "completed_at",
        "priority",
        "due_date",
        "created_at",
        "updated_at",
    }


def test_filters(api, owner):
    tasks = make_tasks(owner, 12)
    Task.objects.filter(pk__in=[t.pk for t in tasks[:4]]).update(
        completed=True, completed_at=T0 + timedelta(days=2)
    )
    Task.objects.filter(pk=tasks[5].pk).update(due_date=T0 + timedelta(days=3))
    Task.objects.filter(pk=tasks[6].pk).update(due_date=T0 + timedelta(days=10))
    client = api(owner)

    def ids(query):
        return {row["id"] for row in client.get(f"/api/tasks/?{query}").json()["results"]}

    assert ids("completed=true") == {t.pk for t in tasks[:4]}
    assert ids("completed=false") == {t.pk for t in tasks[4:]}
    assert ids("priority=high") == {t.pk for t in tasks if t.priority == "high"}
    assert ids("completed=false&priority=high") == {t.pk for t in tasks[4:] if t.priority == "high"}
    assert ids("due_before=2026-03-05T00:00:00Z") == {tasks[5].pk}
    assert ids("due_after=2026-03-05T00:00:00Z") == {tasks[6].pk}
    # next links keep the filters
    body = client.get("/api/tasks/?completed=false&page_size=2").json()
    assert "completed=false" in body["next"] and "cursor=" in body["next"]


def test_scope_all_embeds_the_owner(api, owner, other_user, staff_user):
    make_tasks(owner, 1)
    make_tasks(other_user, 1)
    rows = api(staff_user).get("/api/tasks/?scope=all").json()["results"]
    owners = {row["owner"]["id"]: row["owner"] for row in rows}
    assert owners[owner.pk] == {"id": owner.pk, "email": owner.email, "full_name": "Olga Owner"}
    assert set(owners) == {owner.pk, other_user.pk}


def test_search_modes(api, owner, other_user):
    Task.objects.create(owner=owner, title="Write quarterly report", description="numbers")
    Task.objects.create(owner=owner, title="Reports archive", description="old reporting")
    Task.objects.create(owner=owner, title="Fix login", description="")
    Task.objects.create(owner=other_user, title="Report of someone else")
    client = api(owner)
    full = client.get("/api/tasks/search/?q=report").json()
    # English stemming: report / reports / reporting all match; other users' tasks never do.
    assert [r["title"] for r in full["results"]] == ["Reports archive", "Write quarterly report"]
    assert full["results"][0]["rank"] >= full["results"][1]["rank"]
    sub = client.get("/api/tasks/search/?q=UARTERL&mode=substring").json()
    assert [r["title"] for r in sub["results"]] == ["Write quarterly report"]
    odd = client.get("/api/tasks/search/", {"q": "100% _x' OR 1=1 --", "mode": "substring"})
    assert odd.status_code == 200 and odd.json()["results"] == []
    assert client.get("/api/tasks/search/", {"q": "!!! & |"}).status_code == 200


def test_stats_dashboard_and_summaries_are_exact(api, owner, other_user, staff_user):
    make_tasks(owner, 9)  # priorities cycle low, medium, high
    Task.objects.create(
        owner=owner,
        title="done",
        priority="high",
        completed=True,
        created_at=T0,
        completed_at=T0 + timedelta(hours=2),
    )
    make_tasks(other_user, 3)
    own = api(owner).get("/api/tasks/stats/").json()
    assert own == {
        "scope": "own",
        "total_tasks": 10,
        "completed_tasks": 1,
        "pending_tasks": 9,
        "high_priority_tasks": 4,
        "medium_priority_tasks": 3,
        "low_priority_tasks": 3,
        "avg_completion_time_seconds": 7200.0,
    }
    everything = api(staff_user).get("/api/tasks/stats/?scope=global").json()
    assert everything["total_tasks"] == 13 and everything["active_users"] == 2
    assert api(other_user).get("/api/tasks/stats/").json()["avg_completion_time_seconds"] is None

    dash = api(owner).get(f"/api/users/{owner.pk}/dashboard/").json()
    assert dash == {
        "id": owner.pk,
        "email": "owner@example.com",
        "full_name": "Olga Owner",
        "total_tasks": 10,
        "completed_tasks": 1,
        "pending_tasks": 9,
        "urgent_tasks": 3,
        "latest_task_date": "2026-03-01T00:08:00Z",
    }
    empty = api(staff_user).get(f"/api/users/{staff_user.pk}/dashboard/").json()
    assert (empty["total_tasks"], empty["latest_task_date"]) == (0, None)

    query = f"ids={other_user.pk}&ids={owner.pk}&ids={staff_user.pk}&ids=987654"
    summaries = api(staff_user).get(f"/api/users/summaries/?{query}").json()["results"]
    assert summaries == [
        {"user_id": owner.pk, "total_tasks": 10, "completed_tasks": 1, "high_priority_tasks": 4},
        {
            "user_id": other_user.pk,
            "total_tasks": 3,
            "completed_tasks": 0,
            "high_priority_tasks": 1,
        },
        {
            "user_id": staff_user.pk,
            "total_tasks": 0,
            "completed_tasks": 0,
            "high_priority_tasks": 0,
        },
    ]


def test_users_list_counts_and_pages(api, owner, other_user, staff_user):
    make_tasks(owner, 4)
    User.objects.create_user(username="gone", is_active=False)
    client = api(staff_user)
    body = client.get("/api/users/?page_size=2").json()
    assert len(body["results"]) == 2 and body["next"]
    ids = walk(client, "/api/users/?page_size=2")
    assert ids == list(
        User.objects.filter(is_active=True)
        .order_by("-created_at", "-id")
        .values_list("id", flat=True)
    )
    counts = {row["id"]: row["task_count"] for row in client.get("/api/users/").json()["results"]}
    assert counts == {owner.pk: 4, other_user.pk: 0, staff_user.pk: 0}


def test_bulk_complete_touches_only_own_tasks_and_reports_changes(api, owner, other_user):
    mine = make_tasks(owner, 3)
    theirs = make_tasks(other_user, 2)
    ids = [mine[0].pk, mine[1].pk, theirs[0].pk, 10**12]
    body = api(owner).post("/api/tasks/bulk-complete/", {"ids": ids}, format="json").json()
    assert body == {"updated": 2, "ids": sorted([mine[0].pk, mine[1].pk])}
    assert not Task.objects.filter(owner=other_user, completed=True).exists()
    done = Task.objects.get(pk=mine[0].pk)
    assert done.completed_at is not None and done.updated_at > done.created_at
    again = api(owner).post("/api/tasks/bulk-complete/", {"ids": ids}, format="json").json()
    assert again == {"updated": 0, "ids": []}  # already completed: nothing changed
    reopen = {"ids": [mine[0].pk], "completed": False}
    assert (
        api(owner).post("/api/tasks/bulk-complete/", reopen, format="json").json()["updated"] == 1
    )
    assert Task.objects.get(pk=mine[0].pk).completed_at is None


def test_put_resets_omitted_fields_patch_keeps_them(api, owner):
    task = Task.objects.create(owner=owner, title="t", description="d", priority="high")
    client = api(owner)
    patched = client.patch(f"/api/tasks/{task.pk}/", {"completed": True}, format="json").json()
    assert patched["description"] == "d" and patched["completed_at"] is not None
    put = client.put(f"/api/tasks/{task.pk}/", {"title": "new"}, format="json").json()
    assert put["description"] == "" and put["priority"] == "medium" and put["completed"] is False
    assert put["completed_at"] is None


def test_global_stats_cache_is_never_stale_after_a_write(api, owner, staff_user):
    staff = api(staff_user)

    def total():
        return staff.get("/api/tasks/stats/?scope=global").json()["total_tasks"]

    assert total() == 0
    task = api(owner).post("/api/tasks/", {"title": "one"}, format="json").json()
    assert total() == 1
    api(owner).post("/api/tasks/bulk/", {"tasks": [{"title": "a"}, {"title": "b"}]}, format="json")
    assert total() == 3
    api(owner).post("/api/tasks/bulk-complete/", {"ids": [task["id"]]}, format="json")
    assert staff.get("/api/tasks/stats/?scope=global").json()["completed_tasks"] == 1
    api(owner).patch(f"/api/tasks/{task['id']}/", {"completed": False}, format="json")
    assert staff.get("/api/tasks/stats/?scope=global").json()["completed_tasks"] == 0
    api(owner).delete(f"/api/tasks/{task['id']}/")
    assert total() == 2
    call_command("seeddata", "--no-progress", "--users", "2", "--tasks", "10", "--append")
    assert total() == 12


def test_admin_writes_invalidate_the_cache(client, api, owner, staff_user):
    staff_user.is_superuser = True
    staff_user.save()
    staff = api(staff_user)
    make_tasks(owner, 2)
    assert staff.get("/api/tasks/stats/?scope=global").json()["total_tasks"] == 2
    client.force_login(staff_user)
    task = Task.objects.filter(owner=owner).first()
    response = client.post(f"/admin/tasks/task/{task.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert staff.get("/api/tasks/stats/?scope=global").json()["total_tasks"] == 1


def test_without_a_shared_cache_global_stats_are_computed_each_time(
    api, owner, staff_user, settings, queries
):
    settings.API_STATS_CACHE = False
    make_tasks(owner, 3)
    staff = api(staff_user)
    for _ in range(2):
        with queries() as captured:
            assert staff.get("/api/tasks/stats/?scope=global").json()["total_tasks"] == 3
        assert len(captured.statements) == 2  # token; SUM over counter rows


def _redis_url():
    import redis

    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except redis.RedisError:
        return None
    return url


# Committed data: the async endpoints read on their own connections (taskproject.asyncdb).
@pytest.mark.django_db(transaction=True)
def test_never_stale_with_redis(api, owner, staff_user, monkeypatch):
    url = _redis_url()
    if url is None:
        pytest.skip("no Redis at 127.0.0.1:6379")
    import uuid

    from taskproject.rediscache import RedisCache  # the backend REDIS_URL configures
    from tasks import cache as stats_cache

    # A private key prefix, and cleanup by key: never flush a Redis others may use.
    redis_cache = RedisCache(url, {"KEY_PREFIX": f"taskproject-test-{uuid.uuid4().hex}"})
    monkeypatch.setattr(stats_cache, "cache", redis_cache)
    staff = api(staff_user)

    def total():
        return staff.get("/api/tasks/stats/?scope=global").json()["total_tasks"]

    try:
        assert total() == 0
        api(owner).post("/api/tasks/bulk/", {"tasks": [{"title": "a"}] * 3}, format="json")
        assert total() == 3
        asynchronous = staff.get("/api/async/tasks/stats/?scope=global").json()
        assert asynchronous["total_tasks"] == 3
    finally:
        version = redis_cache.get(stats_cache.VERSION_KEY)
        redis_cache.delete_many([stats_cache.VERSION_KEY, f"tasks:stats:global:{version}"])
