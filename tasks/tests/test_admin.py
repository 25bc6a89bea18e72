"""The admin stays cheap at scale: no COUNT(*) for big change lists, indexed search."""

import pytest
from django.db import connection
from django.utils import timezone

from perfaudit.paginator import EstimatedCountPaginator
from perfaudit.rules.plans import walk
from perfaudit.services import explain_url
from perfaudit.testing import capture_queries
from tasks.models import Task

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, django_user_model):
    admin = django_user_model.objects.create_superuser(
        username="root", email="root@example.com", password="pw-root-1"
    )
    client.force_login(admin)
    return client


@pytest.fixture
def tasks(owner):
    return Task.objects.bulk_create(
        [
            Task(owner=owner, title=f"Write report {n}", description="quarterly numbers")
            for n in range(30)
        ]
    )


def test_task_changelist_joins_owner_and_counts_nothing_big(staff_client, tasks, monkeypatch):
    # Pretend every estimate is "big" so the paginator must not fall back to COUNT(*).
    monkeypatch.setattr(EstimatedCountPaginator, "exact_below", 0)
    with capture_queries() as ctx:
        response = staff_client.get("/admin/tasks/task/")
    assert response.status_code == 200
    sqls = [q.sql for q in ctx.queries]
    assert not [s for s in sqls if "COUNT(*)" in s.upper() and "tasks_task" in s]
    assert any(s.startswith("EXPLAIN (FORMAT JSON)") for s in sqls)
    page = [s for s in sqls if s.startswith("SELECT") and 'INNER JOIN "tasks_user"' in s]
    assert len(page) == 1  # owner joined in the page query: no N+1 over 30 rows


def test_small_result_sets_are_counted_exactly(staff_client, tasks):
    response = staff_client.get("/admin/tasks/task/?q=report")
    assert response.status_code == 200
    assert response.context["cl"].result_count == 30


def test_task_search_uses_the_trigram_expression(staff_client, tasks):
    with capture_queries() as ctx:
        response = staff_client.get("/admin/tasks/task/", {"q": "numbers"})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 30
    assert any("UPPER((COALESCE" in q.sql and "LIKE UPPER" in q.sql for q in ctx.queries)


def test_task_search_by_id(staff_client, tasks):
    response = staff_client.get("/admin/tasks/task/", {"q": f"#{tasks[3].pk}"})
    assert [t.pk for t in response.context["cl"].result_list] == [tasks[3].pk]


def test_admin_toggle_completed_keeps_the_invariant(staff_client, tasks):
    task = tasks[0]
    response = staff_client.post(
        f"/admin/tasks/task/{task.pk}/change/",
        {
            "owner": task.owner_id,
            "title": task.title,
            "description": task.description,
            "completed": "on",
            "priority": "high",
            "due_date_0": "",
            "due_date_1": "",
        },
    )
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.completed and task.completed_at is not None


def test_user_changelist_and_add_form_render(staff_client):
    assert staff_client.get("/admin/tasks/user/").status_code == 200
    assert staff_client.get("/admin/tasks/user/add/").status_code == 200


def test_anonymous_is_sent_to_login(client):
    response = client.get("/admin/tasks/task/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


@pytest.mark.parametrize(
    "filters",
    [
        {"completed__exact": "0"},
        {"priority__exact": "high"},
        {"completed__exact": "1", "priority__exact": "low"},
        {"owner__id__exact": "1"},
    ],
)
def test_task_filters_read_an_index_in_page_order(staff_client, tasks, filters):
    """The filtered change list is an index scan in the page's order, never a sort of all tasks.

    The test table is tiny, so the planner would rightly pick a sequential scan; with seq scans
    and sorts priced out (SET LOCAL, this test's transaction) it shows the plan it has at scale.
    """
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
    query = "&".join(f"{k}={v}" for k, v in filters.items())
    report = explain_url(url=f"/admin/tasks/task/?{query}", username="root")
    assert report.data["request"]["status"] == 200
    (page,) = [
        p for p in report.data["plans"] if "ORDER BY" in p["sql"] and "tasks_task" in p["sql"]
    ]
    nodes = [n.node for n in walk(page["plan"]["Plan"])]
    assert not [n for n in nodes if n["Node Type"] in {"Sort", "Seq Scan"}]
    assert any(n.get("Index Name", "").startswith("task_") for n in nodes)


def test_task_facets_are_never_counted(staff_client, tasks, monkeypatch):
    monkeypatch.setattr(EstimatedCountPaginator, "exact_below", 0)  # the paginator counts not
    with capture_queries() as ctx:
        response = staff_client.get("/admin/tasks/task/", {"_facets": "1"})
    assert response.status_code == 200
    # Facets are COUNT(...) FILTER (WHERE ...) per filter value; none may run.
    assert not [q for q in ctx.queries if "COUNT(" in q.sql.upper()]


def _user_changelist(client):
    with capture_queries() as ctx:
        response = client.get("/admin/tasks/user/")
    assert response.status_code == 200
    return response, [q.sql for q in ctx.queries]


def test_user_list_task_counts_from_counters_without_n_plus_1(
    staff_client, owner, other_user, django_user_model, monkeypatch
):
    monkeypatch.setattr(EstimatedCountPaginator, "exact_below", 0)  # as on a big table
    now = timezone.now()
    Task.objects.bulk_create(
        [
            Task(
                owner=owner,
                title=f"t{n}",
                completed=n < 2,
                completed_at=now if n < 2 else None,
                priority="high",
            )
            for n in range(5)
        ]
    )
    _, few = _user_changelist(staff_client)
    django_user_model.objects.bulk_create(
        [django_user_model(username=f"extra{n}", email=f"extra{n}@example.com") for n in range(20)]
    )
    response, many = _user_changelist(staff_client)
    assert len(many) == len(few)  # constant: no query per listed user
    counts = {
        u.username: (u.task_total, u.task_completed, u.task_urgent)
        for u in response.context["cl"].result_list
    }
    assert counts["owner"] == (5, 2, 3)
    assert counts["other"] == (0, 0, 0)  # no counter row yet
    assert not [s for s in many if '"tasks_task"' in s]  # never reads the tasks table
    page = [s for s in many if s.startswith("SELECT") and "tasks_taskcounter" in s]
    assert len(page) == 1 and "LEFT OUTER JOIN" in page[0]


def test_user_list_sorts_by_task_count(staff_client, owner, other_user):
    Task.objects.create(owner=owner, title="one")
    response = staff_client.get("/admin/tasks/user/", {"o": "-7"})  # 7th column: tasks
    names = [u.username for u in response.context["cl"].result_list]
    assert names[0] == "owner"


def test_user_bulk_delete_action_still_works(staff_client, other_user):
    response = staff_client.post(
        "/admin/tasks/user/",
        {"action": "delete_selected", "_selected_action": [other_user.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not type(other_user).objects.filter(pk=other_user.pk).exists()
