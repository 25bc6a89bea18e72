"""Every endpoint x {anonymous, owner, other user, staff}: the status code, and for writes what
the database holds afterwards (the other users' rows never change)."""

import pytest
from rest_framework.test import APIClient

from tasks.models import Task
from tasks.tests.conftest import client_for

# Committed data: the async endpoints read on their own connections (taskproject.asyncdb).
pytestmark = pytest.mark.django_db(transaction=True)

ROLES = ("anonymous", "owner", "other", "staff")

# (method, url template, body, {role: status}, write?)  {t} = owner's task id, {u} = owner id.
MATRIX = [
    ("get", "/api/tasks/", None, (401, 200, 200, 200)),
    ("get", "/api/tasks/?scope=all", None, (401, 403, 403, 200)),
    ("post", "/api/tasks/", {"title": "new"}, (401, 201, 201, 201)),
    ("get", "/api/tasks/{t}/", None, (401, 200, 404, 200)),
    ("patch", "/api/tasks/{t}/", {"title": "changed"}, (401, 200, 404, 200)),
    ("put", "/api/tasks/{t}/", {"title": "changed", "completed": True}, (401, 200, 404, 200)),
    ("delete", "/api/tasks/{t}/", None, (401, 204, 404, 204)),
    ("post", "/api/tasks/bulk/", {"tasks": [{"title": "a"}, {"title": "b"}]}, (401, 201, 201, 201)),
    ("post", "/api/tasks/bulk-complete/", {"ids": ["{t}"]}, (401, 200, 200, 200)),
    ("get", "/api/tasks/search/?q=report", None, (401, 200, 200, 200)),
    ("get", "/api/tasks/search/?q=repo&mode=substring", None, (401, 200, 200, 200)),
    ("get", "/api/tasks/stats/", None, (401, 200, 200, 200)),
    ("get", "/api/tasks/stats/?scope=global", None, (401, 403, 403, 200)),
    ("get", "/api/users/", None, (401, 403, 403, 200)),
    ("get", "/api/users/{u}/dashboard/", None, (401, 200, 403, 200)),
    ("get", "/api/users/{u}/tasks/", None, (401, 200, 403, 200)),
    ("get", "/api/users/summaries/?ids={u}", None, (401, 403, 403, 200)),
    ("get", "/api/async/tasks/", None, (401, 200, 200, 200)),
    ("get", "/api/async/tasks/?scope=all", None, (401, 403, 403, 200)),
    ("get", "/api/async/tasks/stats/", None, (401, 200, 200, 200)),
    ("get", "/api/async/tasks/stats/?scope=global", None, (401, 403, 403, 200)),
    ("get", "/api/async/users/{u}/tasks/", None, (401, 200, 403, 200)),
    ("post", "/api/async/tasks/bulk-complete/", {"ids": ["{t}"]}, (401, 200, 200, 200)),
    ("get", "/api/async/users/summaries/?ids={u}", None, (401, 403, 403, 200)),
    # Tokens: anyone with the owner's password gets a token; revoking is for one's own tokens
    # (each role's client authenticates with a token of its own, revoked by these calls).
    (
        "post",
        "/api/auth/token/",
        {"username": "owner", "password": "pw-owner-1"},
        (200, 200, 200, 200),
    ),
    ("post", "/api/auth/token/revoke/", None, (401, 204, 204, 204)),
    ("post", "/api/auth/tokens/revoke-all/", None, (401, 200, 200, 200)),
    ("get", "/api/schema/", None, (200, 200, 200, 200)),
    ("get", "/api/docs/", None, (200, 200, 200, 200)),
    ("get", "/health/", None, (200, 200, 200, 200)),
]


def _fill(value, ids):
    if isinstance(value, str):
        filled = value.format(**ids)
        return int(filled) if value in ("{t}", "{u}") else filled
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


def _snapshot():
    return {
        t.pk: (t.owner_id, t.title, t.completed, t.completed_at is not None)
        for t in Task.objects.order_by("pk")
    }


@pytest.fixture
def world(owner, other_user, staff_user):
    mine = Task.objects.create(owner=owner, title="Quarterly report", description="numbers")
    theirs = Task.objects.create(owner=other_user, title="Their report", description="private")
    users = {"owner": owner, "other": other_user, "staff": staff_user}
    return mine, theirs, users


@pytest.mark.parametrize(("method", "url", "body", "expected"), MATRIX, ids=lambda v: str(v))
@pytest.mark.parametrize("role", ROLES)
def test_matrix(world, role, method, url, body, expected):
    mine, theirs, users = world
    ids = {"t": mine.pk, "u": mine.owner_id}
    client = APIClient() if role == "anonymous" else client_for(users[role])
    before = _snapshot()
    response = getattr(client, method)(_fill(url, ids), _fill(body, ids), format="json")
    want = expected[ROLES.index(role)]
    assert response.status_code == want, response.content

    after = _snapshot()
    # Nobody can change another user's task through the API: "theirs" belongs to other_user and
    # is only ever touched by other_user's own requests (or staff's, which target "mine" here).
    assert after[theirs.pk] == before[theirs.pk]
    if method == "get":
        assert after == before
        return
    changed_mine = after.get(mine.pk) != before[mine.pk]
    if role in ("anonymous", "other"):
        assert not changed_mine  # 401 / 404 / bulk-complete of a foreign id: untouched
    if role == "other" and "bulk-complete" in url:
        assert response.json() == {"updated": 0, "ids": []}
    if role in ("owner", "staff") and (url.startswith("/api/tasks/{t}") or "complete" in url):
        assert changed_mine  # the write happened
    if response.status_code == 201:
        created = set(after) - set(before)
        assert created and all(after[pk][0] == users[role].pk for pk in created)
    else:
        assert set(after) <= set(before)


@pytest.mark.parametrize("url", ["/api/auth/token/revoke/", "/api/auth/tokens/revoke-all/"])
def test_revoking_touches_only_the_callers_tokens(world, url):
    from tasks.models import ApiToken

    _mine, _theirs, users = world
    client_for(users["owner"])
    staff_client = client_for(users["staff"])
    assert staff_client.post(url).status_code in (200, 204)
    # The owner's token is untouched: revocation through the API is never for another user.
    assert ApiToken.objects.get(user=users["owner"]).revoked_at is None
    assert ApiToken.objects.get(user=users["staff"]).revoked_at is not None


def test_anonymous_401_says_how_to_authenticate(client):
    response = client.get("/api/tasks/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert client.get("/api/async/tasks/")["WWW-Authenticate"] == "Token"


def test_token_endpoint(client, owner):
    response = client.post(
        "/api/auth/token/", {"username": "owner", "password": "pw-owner-1"}, "application/json"
    )
    assert response.status_code == 200
    token = response.json()["token"]
    authed = client.get("/api/tasks/", headers={"Authorization": f"Token {token}"})
    assert authed.status_code == 200
    bad = client.post("/api/auth/token/", {"username": "owner", "password": "nope"})
    assert bad.status_code == 400
    assert "non_field_errors" in bad.json()
    assert client.post("/api/auth/token/", {}).json().keys() == {"username", "password"}


@pytest.mark.parametrize("url", ["/api/tasks/", "/api/async/tasks/"])
def test_bad_token_is_401(client, url):
    response = client.get(url, headers={"Authorization": "Token not-a-token"})
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}


def test_session_auth_works_and_needs_csrf_for_writes(owner):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert client.get("/api/tasks/").status_code == 200
    assert client.get("/api/async/tasks/").status_code == 200
    for url in ("/api/tasks/bulk-complete/", "/api/async/tasks/bulk-complete/"):
        response = client.post(url, {"ids": [1]}, "application/json")
        assert response.status_code == 403
        assert "CSRF" in response.json()["detail"]


def test_inactive_users_token_is_refused(owner):
    client = client_for(owner)
    owner.is_active = False
    owner.save()
    assert client.get("/api/tasks/").status_code == 401
    assert client.get("/api/async/tasks/").status_code == 401


def test_staff_sees_any_task_and_missing_ids_are_404(world, api):
    _mine, theirs, users = world
    staff = api(users["staff"])
    assert staff.get(f"/api/tasks/{theirs.pk}/").json()["owner_id"] == theirs.owner_id
    assert staff.get("/api/tasks/999999999/").status_code == 404
    assert staff.get("/api/users/999999999/dashboard/").status_code == 404
    # Beyond bigint: a 404 from the URL converter, not a database error.
    assert staff.get("/api/tasks/99999999999999999999/").status_code == 404


def test_root_redirects_to_docs(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/api/docs/"
