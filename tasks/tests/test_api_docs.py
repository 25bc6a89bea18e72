"""Schema and docs UI work offline; the browsable API renders for session users."""

import pytest

pytestmark = pytest.mark.django_db


def test_schema_lists_every_sync_endpoint(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = set(response.json()["paths"])
    assert {
        "/api/auth/token/",
        "/api/tasks/",
        "/api/tasks/{id}/",
        "/api/tasks/bulk/",
        "/api/tasks/bulk-complete/",
        "/api/tasks/search/",
        "/api/tasks/stats/",
        "/api/users/",
        "/api/users/{id}/dashboard/",
        "/api/users/{id}/tasks/",
        "/api/users/summaries/",
    } <= paths


def test_docs_ui_uses_bundled_assets_not_a_cdn(client):
    html = client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()


def test_browsable_api_renders_for_a_session_user(client, owner):
    client.force_login(owner)
    response = client.get("/api/tasks/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert b"<html" in response.content


def test_token_endpoint_query_count(client, owner, queries):
    body = {"username": "owner", "password": "pw-owner-1"}
    client.post("/api/auth/token/", body, "application/json")  # creates the token
    with queries() as captured:
        assert client.post("/api/auth/token/", body, "application/json").status_code == 200
    # the user by username; the existing token (get_or_create's SELECT)
    assert len(captured.statements) == 2, captured.statements
