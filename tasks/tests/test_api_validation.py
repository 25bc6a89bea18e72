"""Bad input: 400 naming the field, nothing written, never a 500."""

import pytest

from tasks.models import Task

# Committed data: the async endpoints read on their own connections (taskproject.asyncdb).
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def mine(owner):
    return Task.objects.create(owner=owner, title="Keep me", priority="low")


def _state():
    return list(Task.objects.order_by("pk").values_list("pk", "title", "completed", "priority"))


BAD_TASK_BODIES = [
    ({}, "title"),
    ({"title": ""}, "title"),
    ({"title": "   "}, "title"),
    ({"title": "x" * 201}, "title"),
    ({"title": 5 * [1]}, "title"),
    ({"title": "ok", "priority": "urgent"}, "priority"),
    ({"title": "ok", "due_date": "next tuesday"}, "due_date"),
    ({"title": "ok", "completed": "yes"}, "completed"),
    ({"title": "ok", "owner": 2}, "owner"),
    ({"title": "ok", "complete": True}, "complete"),
    ({"title": "ok", "description": "d" * 10_001}, "description"),
]


@pytest.mark.parametrize(("body", "field"), BAD_TASK_BODIES)
def test_create_rejects(api, owner, mine, body, field):
    before = _state()
    response = api(owner).post("/api/tasks/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert _state() == before


@pytest.mark.parametrize(("body", "field"), [b for b in BAD_TASK_BODIES if b[0]])
@pytest.mark.parametrize("method", ["patch", "put"])
def test_update_rejects(api, owner, mine, method, body, field):
    before = _state()
    response = getattr(api(owner), method)(f"/api/tasks/{mine.pk}/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert _state() == before


def test_malformed_json_is_400(api, owner, mine):
    for url in ("/api/tasks/", "/api/tasks/bulk-complete/", "/api/async/tasks/bulk-complete/"):
        response = api(owner).post(url, b"{not json", content_type="application/json")
        assert response.status_code == 400
        assert "JSON parse error" in response.json()["detail"]


def test_bulk_create_is_all_or_nothing(api, owner, mine):
    before = _state()
    body = {"tasks": [{"title": "fine"}, {"title": "also fine"}, {"title": "", "x": 1}]}
    response = api(owner).post("/api/tasks/bulk/", body, format="json")
    assert response.status_code == 400
    # Errors are keyed by the failing item's position (DRF's ListSerializer shape).
    assert response.json()["tasks"] == {"2": {"x": ["Unknown field."]}}
    assert _state() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"tasks": []}, "tasks"),
        ({"tasks": [{"title": "t"}] * 1001}, "tasks"),
        ({"tasks": "nope"}, "tasks"),
        ({}, "tasks"),
        ({"tasks": [{"title": "t"}], "extra": 1}, "extra"),
    ],
)
def test_bulk_create_shape(api, owner, body, field):
    response = api(owner).post("/api/tasks/bulk/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Task.objects.exists()


@pytest.mark.parametrize("url", ["/api/tasks/bulk-complete/", "/api/async/tasks/bulk-complete/"])
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "ids"),
        ({"ids": []}, "ids"),
        ({"ids": [0]}, "ids"),
        ({"ids": [-3]}, "ids"),
        ({"ids": ["abc"]}, "ids"),
        ({"ids": [2**63]}, "ids"),
        ({"ids": list(range(1, 1002))}, "ids"),
        ({"ids": [1], "completed": "true"}, "completed"),
        ({"ids": [1], "complete": True}, "complete"),
    ],
)
def test_bulk_complete_rejects(api, owner, mine, url, body, field):
    before = _state()
    response = api(owner).post(url, body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert _state() == before


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/tasks/?page_size=0", "page_size"),
        ("/api/tasks/?page_size=1001", "page_size"),
        ("/api/tasks/?page_size=ten", "page_size"),
        ("/api/tasks/?completed=maybe", "completed"),
        ("/api/tasks/?priority=urgent", "priority"),
        ("/api/tasks/?due_before=yesterday", "due_before"),
        ("/api/tasks/?due_after=2026-13-01", "due_after"),
        ("/api/tasks/?cursor=garbage!!", "cursor"),
        ("/api/tasks/?scope=everyone", "scope"),
        ("/api/tasks/?colour=red", "colour"),
        ("/api/async/tasks/?page_size=0", "page_size"),
        ("/api/async/tasks/?cursor=Zm9v", "cursor"),
        ("/api/tasks/search/", "q"),
        ("/api/tasks/search/?q=", "q"),
        ("/api/tasks/search/?q=" + "x" * 201, "q"),
        ("/api/tasks/search/?q=a&mode=regex", "mode"),
        ("/api/tasks/stats/?scope=planet", "scope"),
        ("/api/async/tasks/stats/?scope=planet", "scope"),
        ("/api/users/{u}/tasks/?scope=all", "scope"),
        ("/api/users/{u}/tasks/?page_size=-1", "page_size"),
    ],
)
def test_query_params_rejected(api, owner, url, field):
    response = api(owner).get(url.format(u=owner.pk))
    assert response.status_code == 400, response.content
    assert field in response.json()


@pytest.mark.parametrize("prefix", ["/api/", "/api/async/"])
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "ids"),
        ("?ids=0", "ids"),
        ("?ids=x", "ids"),
        ("?ids=1&bogus=2", "bogus"),
        ("?" + "&".join(f"ids={n}" for n in range(1, 1002)), "ids"),
    ],
)
def test_summaries_rejects(api, staff_user, prefix, query, field):
    response = api(staff_user).get(f"{prefix}users/summaries/{query}")
    assert response.status_code == 400
    assert field in response.json()


def test_valid_create_normalises(api, owner):
    response = api(owner).post(
        "/api/tasks/",
        {"title": "Ship it", "priority": "high", "due_date": "2026-05-01T10:00:00Z"},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["priority"] == "high" and body["due_date"] == "2026-05-01T10:00:00Z"
    assert body["completed"] is False and body["completed_at"] is None


@pytest.mark.parametrize(
    ("method", "url", "body", "field"),
    [
        ("get", "/api/tasks/search/?q=ab%00cd", None, "q"),
        ("get", "/api/tasks/search/?q=ab%00cd&mode=substring", None, "q"),
        ("post", "/api/tasks/", {"title": "a\u0000b"}, "title"),
        ("post", "/api/tasks/bulk-complete/", [1, 2], "non_field_errors"),
        ("post", "/api/async/tasks/bulk-complete/", [1, 2], "non_field_errors"),
    ],
)
def test_inputs_postgres_would_reject_are_400_not_500(api, owner, method, url, body, field):
    # PostgreSQL refuses NUL characters in text: they must be caught before the query.
    response = getattr(api(owner), method)(url, body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Task.objects.exists()
