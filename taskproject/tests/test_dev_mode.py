"""`make run` serves with DEBUG on: the API's documented JSON errors must hold there too.

In-process tests flip settings.DEBUG (Django's debug pages depend on it per request); what
depends on DEBUG at import (the debug toolbar and the middleware order) runs in a subprocess
that imports the settings with DEBUG=1, like `make run`.
"""

import json

import pytest

from taskproject.tests.test_settings import load_settings

pytestmark = pytest.mark.django_db


@pytest.fixture(params=[True, False], ids=["debug", "production"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


def assert_json_error(response, status):
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json", response.content[:300]
    assert set(response.json()) == {"detail"}


@pytest.mark.parametrize(
    "url", ["/api/nothing/", "/api/tasks/0/", "/api/tasks/99999999999999999999/"]
)
def test_unknown_api_url_is_json_404(client, debug, url):
    assert_json_error(client.get(url), 404)


def test_other_paths_keep_django_pages(client, debug):
    response = client.get("/nothing/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.urls("taskproject.tests.boom_urls")
def test_api_server_error_is_json_500(debug, settings):
    from django.test import Client

    client = Client(raise_request_exception=False)
    response = client.get("/api/boom/")
    assert_json_error(response, 500)
    assert b"Traceback" not in response.content and b"boom" not in response.content
    # Non-API pages still get Django's (debug) page.
    assert client.get("/boom/")["Content-Type"].startswith("text/html")


def test_post_without_trailing_slash_is_json_404_naming_the_url(api_client, debug):
    # CommonMiddleware raises RuntimeError for this with DEBUG on (a 500 page) and redirects
    # (losing the body) with it off.
    response = api_client.post("/api/tasks", {"title": "x"}, format="json")
    assert_json_error(response, 404)
    assert "/api/tasks/" in response.json()["detail"]


def test_method_not_allowed_is_json_405(api_client, debug):
    response = api_client.delete("/api/tasks/stats/")
    assert_json_error(response, 405)
    assert "GET" in response["Allow"]


def test_browsable_api_error_pages_stay_html(client, owner, debug):
    # DRF's own HTML error pages (a browser on the browsable API) are not rewritten.
    client.force_login(owner)
    response = client.get("/api/tasks/999999/", HTTP_ACCEPT="text/html")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.fixture
def api_client(owner):
    from tasks.tests.conftest import client_for

    return client_for(owner)


DEV_REQUESTS = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client
client = Client(raise_request_exception=False)
out = {"middleware": settings.MIDDLEWARE, "toolbar": settings.DEBUG_TOOLBAR_CONFIG}
big = client.post("/api/tasks/", data=b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1),
                  content_type="application/json")
out["big"] = [big.status_code, big["Content-Type"], big.content.decode()[:300]]
missing = client.get("/api/nothing/")
out["missing"] = [missing.status_code, missing["Content-Type"], missing.content.decode()[:300]]
print(json.dumps(out))
"""


def test_make_run_settings_keep_the_body_limit_and_json_404():
    # DEBUG=1 and the toolbar on, as `make run` serves: the toolbar's History panel reads the
    # body, which used to turn the 413 JSON into Django's HTML 400 (RequestDataTooBig).
    result = load_settings(
        DEV_REQUESTS,
        DEBUG="1",
        DEBUG_TOOLBAR="1",
        SILK_ENABLED="1",
        SILK_SAMPLE_PERCENT="0",  # nothing recorded: no silk tables needed
        ALLOWED_HOSTS="testserver",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    middleware = out["middleware"]
    assert "debug_toolbar.middleware.DebugToolbarMiddleware" in middleware
    position = middleware.index
    assert position("taskproject.middleware.RequestBodyLimitMiddleware") < position(
        "debug_toolbar.middleware.DebugToolbarMiddleware"
    )
    # Static files are answered before the profilers see them.
    assert position("taskproject.middleware.StaticFilesMiddleware") < position(
        "taskproject.profiling.SilkMiddleware"
    )
    assert out["toolbar"]["SHOW_COLLAPSED"] is True
    status, content_type, body = out["big"]
    assert (status, content_type) == (413, "application/json"), body
    assert "limit" in json.loads(body)["detail"]
    status, content_type, body = out["missing"]
    assert (status, content_type) == (404, "application/json"), body
