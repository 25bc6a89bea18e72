"""TokenAPIMiddleware: token-authenticated API requests take the lean chain (no session, CSRF,
auth or messages middleware), everything else the full one; both end in the same views and
keep the security headers."""

import json

import pytest
from django.test import RequestFactory

from taskproject.middleware import TokenAPIMiddleware, is_token_api_request
from tasks.tests.conftest import make_tasks, token_for

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("path", "header", "lean"),
    [
        ("/api/tasks/", "Token abc", True),
        ("/api/tasks/", "token abc", True),
        ("/api/tasks/", "Token", True),  # DRF answers it (401), no session needed either
        ("/api/tasks/", "Tokens abc", False),
        ("/api/tasks/", "Bearer abc", False),
        ("/api/tasks/", None, False),
        ("/admin/", "Token abc", False),
    ],
)
def test_which_requests_take_the_lean_chain(path, header, lean):
    headers = {"HTTP_AUTHORIZATION": header} if header else {}
    assert is_token_api_request(RequestFactory().get(path, **headers)) is lean


def served(request):
    def outer(_request):  # the full chain: never reached for a token request
        outer.called = True
        from django.http import HttpResponse

        return HttpResponse("full chain")

    outer.called = False
    response = TokenAPIMiddleware(outer)(request)
    return response, outer.called


def test_a_token_request_is_served_without_the_browser_middleware(owner):
    make_tasks(owner, 2)
    request = RequestFactory().get(
        "/api/tasks/", HTTP_AUTHORIZATION=f"Token {token_for(owner)}", HTTP_HOST="127.0.0.1"
    )
    response, full_chain = served(request)
    assert not full_chain
    assert response.status_code == 200
    assert len(json.loads(response.content)["results"]) == 2
    # No session was loaded, no lazy user set, no message storage: those middleware never ran.
    assert not hasattr(request, "session") and not hasattr(request, "_messages")
    # What the lean chain keeps: Django's security and clickjacking headers.
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_other_requests_take_the_full_chain():
    request = RequestFactory().get("/api/tasks/", HTTP_HOST="127.0.0.1")
    response, full_chain = served(request)
    assert full_chain and response.content == b"full chain"
