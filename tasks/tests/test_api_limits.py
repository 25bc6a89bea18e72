"""Input limits (docs/api.md "Limits") and throttling: 400/413/429 JSON, nothing written."""

import json

import pytest
from django.test import Client

from tasks.models import Task

# Committed data: the async endpoints read on their own connections (taskproject.asyncdb).
pytestmark = pytest.mark.django_db(transaction=True)


def _count():
    return Task.objects.count()


# --- one test per documented limit: just over it is refused, naming the field --------------

OVER_LIMIT_GETS = [
    ("/api/tasks/?page_size=1001", "page_size"),
    ("/api/tasks/?page_size=0", "page_size"),
    ("/api/tasks/?cursor=" + "A" * 201, "cursor"),
    ("/api/tasks/search/?q=" + "x" * 201, "q"),
    ("/api/tasks/search/?q=ok&page_size=1001", "page_size"),
]


@pytest.mark.parametrize(("url", "field"), OVER_LIMIT_GETS)
def test_query_limits(api, owner, url, field):
    response = api(owner).get(url)
    assert response.status_code == 400
    assert field in response.json()


def test_summary_ids_limit(api, staff_user):
    query = "&".join(f"ids={n}" for n in range(1, 1002))
    response = api(staff_user).get(f"/api/users/summaries/?{query}")
    assert response.status_code == 400
    assert "ids" in response.json()


def test_at_the_limits_is_fine(api, owner, staff_user):
    assert api(owner).get("/api/tasks/?page_size=1000").status_code == 200
    assert api(owner).get("/api/tasks/search/?q=" + "x" * 200).status_code == 200
    query = "&".join(f"ids={n}" for n in range(1, 1001))
    assert api(staff_user).get(f"/api/users/summaries/?{query}").status_code == 200


def test_bulk_create_limit(api, owner):
    response = api(owner).post(
        "/api/tasks/bulk/", {"tasks": [{"title": "t"}] * 1001}, format="json"
    )
    assert response.status_code == 400
    assert "tasks" in response.json()
    assert _count() == 0


def test_bulk_complete_ids_limit(api, owner):
    response = api(owner).post(
        "/api/tasks/bulk-complete/", {"ids": list(range(1, 1002))}, format="json"
    )
    assert response.status_code == 400
    assert "ids" in response.json()


@pytest.mark.parametrize("path", ["/api/tasks/bulk/", "/api/async/tasks/bulk-complete/"])
def test_body_too_large_is_413_json(api, owner, settings, path):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = {"tasks": [{"title": "t", "description": "d" * 5000}] * 3}
    response = api(owner).post(path, body, format="json")
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert "too large" in response.json()["detail"]
    assert _count() == 0


def test_body_too_large_for_forms_is_413(owner, settings):
    # A non-API path reading a form body (the admin login) gets the same JSON 413.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = Client().post("/admin/login/", {"username": "x" * 5000, "password": "y"})
    assert response.status_code == 413
    assert "too large" in response.json()["detail"]


def test_body_under_the_limit_is_served(api, owner, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    response = api(owner).post("/api/tasks/", {"title": "small"}, format="json")
    assert response.status_code == 201


# --- throttling ----------------------------------------------------------------------------


@pytest.fixture
def small_rates(settings):
    settings.API_THROTTLE_RATES = {"auth": "3/min", "bulk": "2/min"}


def _assert_throttled(response):
    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    assert "throttled" in response.json()["detail"]
    assert int(response["Retry-After"]) >= 1


def test_token_endpoint_throttled_per_client(owner, small_rates):
    client = Client()
    body = {"username": "owner", "password": "wrong"}
    for _ in range(3):
        assert client.post("/api/auth/token/", body).status_code == 400
    _assert_throttled(client.post("/api/auth/token/", body))
    # Even the right password: the budget is per client address, not per outcome.
    _assert_throttled(client.post("/api/auth/token/", {**body, "password": "pw-owner-1"}))
    # Another address has its own budget; a forged X-Forwarded-For does not (NUM_PROXIES=0).
    other = Client(REMOTE_ADDR="10.0.0.2")
    assert other.post("/api/auth/token/", {**body, "password": "pw-owner-1"}).status_code == 200
    _assert_throttled(client.post("/api/auth/token/", body, HTTP_X_FORWARDED_FOR="10.9.9.9"))


def test_bulk_endpoints_share_one_budget_per_user(api, owner, other_user, small_rates):
    mine = Task.objects.create(owner=owner, title="t")
    client = api(owner)
    assert (
        client.post("/api/tasks/bulk/", {"tasks": [{"title": "a"}]}, format="json").status_code
        == 201
    )
    assert (
        client.post("/api/tasks/bulk-complete/", {"ids": [mine.pk]}, format="json").status_code
        == 200
    )
    before = _count()
    _assert_throttled(client.post("/api/tasks/bulk/", {"tasks": [{"title": "b"}]}, format="json"))
    _assert_throttled(client.post("/api/tasks/bulk-complete/", {"ids": [mine.pk]}, format="json"))
    _assert_throttled(
        client.post("/api/async/tasks/bulk-complete/", {"ids": [mine.pk]}, format="json")
    )
    assert _count() == before  # a throttled request writes nothing
    # Other users and the non-bulk endpoints are unaffected.
    assert (
        api(other_user)
        .post("/api/tasks/bulk/", {"tasks": [{"title": "c"}]}, format="json")
        .status_code
        == 201
    )
    assert client.post("/api/tasks/", {"title": "single"}, format="json").status_code == 201


def test_async_bulk_complete_throttled_first(api, owner, small_rates):
    client = api(owner)
    for _ in range(2):
        response = client.post("/api/async/tasks/bulk-complete/", {"ids": [1]}, format="json")
        assert response.status_code == 200
    _assert_throttled(client.post("/api/tasks/bulk-complete/", {"ids": [1]}, format="json"))


def test_rate_off_disables(api, owner, settings):
    settings.API_THROTTLE_RATES = {"auth": None, "bulk": None}
    client = api(owner)
    for _ in range(5):
        assert (
            client.post("/api/tasks/bulk-complete/", {"ids": [1]}, format="json").status_code == 200
        )


def test_throttle_is_json_for_body_errors_too(api, owner, small_rates):
    # Throttling is checked before the body is parsed: a flood of malformed bodies is limited.
    client = api(owner)
    for _ in range(2):
        response = client.post("/api/tasks/bulk/", data="{", content_type="application/json")
        assert response.status_code == 400
        json.loads(response.content)
    _assert_throttled(client.post("/api/tasks/bulk/", data="{", content_type="application/json"))


def test_invalid_content_length_is_a_json_400(api, owner):
    response = api(owner).post(
        "/api/tasks/", data="{}", content_type="application/json", CONTENT_LENGTH="lots"
    )
    assert response.status_code == 400
    assert "Content-Length" in response.json()["detail"]
