"""django-silk is staff-only and records what requests really run; the debug toolbar exists
only with DEBUG."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from silk.config import SilkyConfig
from silk.models import Request

from taskproject.tests.test_settings import load_settings
from tasks.tests.conftest import client_for, make_tasks
from tasks.tests.test_api_queries import TOKEN, TOKEN_COUNTER, TOKEN_PAGE

pytestmark = pytest.mark.django_db


def test_silk_sends_anonymous_users_to_login(client):
    response = client.get("/silk/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_silk_refuses_non_staff(client, owner):
    client.force_login(owner)
    assert client.get("/silk/").status_code == 403
    assert client.get("/silk/requests/").status_code == 403


def test_silk_serves_staff(client, staff_user):
    client.force_login(staff_user)
    assert client.get("/silk/").status_code == 200


@pytest.fixture
def silk_recording():
    config = SilkyConfig()
    before = config.attrs["SILKY_INTERCEPT_PERCENT"]
    config.attrs["SILKY_INTERCEPT_PERCENT"] = 100
    yield
    config.attrs["SILKY_INTERCEPT_PERCENT"] = before


def test_silk_records_requests_when_sampling_is_on(client, staff_user, silk_recording):
    client.force_login(staff_user)
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/admin/").status_code == 200
    recorded = Request.objects.get(path="/admin/")
    statements = recorded_statements(recorded)
    # Exactly the statements the request sent, in order (the session row and its user first),
    # and none of silk's own (saving the request and its queries).
    sent = [
        q["sql"]
        for q in captured.captured_queries
        if '"silk_' not in q["sql"] and not q["sql"].startswith(("SAVEPOINT", "RELEASE"))
    ]
    assert len(statements) == recorded.num_sql_queries == len(sent)
    assert 'FROM "django_session"' in statements[0]
    assert 'FROM "tasks_user"' in statements[1]
    assert [s.split(" WHERE ")[0] for s in statements] == [s.split(" WHERE ")[0] for s in sent]


def recorded_statements(request_model) -> list[str]:
    return [q.query for q in request_model.queries.order_by("identifier")]


# transaction=True: no test transaction around the request, so atomic() blocks add no SAVEPOINT
# statements that a production request would not send either.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("method", "url", "expected"),
    [
        # docs/api.md, "Query counts": token+user+keyset page, one statement
        ("get", "/api/tasks/", [TOKEN_PAGE]),
        # token+user; the page with each task's owner joined in (staff only)
        ("get", "/api/tasks/?scope=all", [TOKEN, 'FROM "tasks_task" INNER JOIN "tasks_user"']),
        # token+user; one INSERT (the counter trigger runs inside it)
        ("post", "/api/tasks/", [TOKEN, 'INSERT INTO "tasks_task"']),
        # token+user+the caller's counter row, one statement
        (
            "get",
            "/api/tasks/stats/",
            [TOKEN_COUNTER],
        ),
    ],
)
def test_silk_records_every_statement_of_the_hot_paths(
    django_user_model, silk_recording, method, url, expected
):
    # These run fixed SQL through a cursor, which silk's own ORM hook never saw (it recorded
    # 0 queries for them); the documented counts are what silk must show.
    user = django_user_model.objects.create_user(username="silky", is_staff=True)
    make_tasks(user, 3)
    client = client_for(user)
    Request.objects.all().delete()
    body = {"title": "recorded"} if method == "post" else None
    response = getattr(client, method)(url, body, format="json")
    assert response.status_code < 300, response.content
    recorded = Request.objects.get(path=url.split("?")[0])
    statements = recorded_statements(recorded)
    assert recorded.num_sql_queries == len(expected), statements
    for sql, fragment in zip(statements, expected, strict=True):
        assert fragment in sql, (fragment, sql)
    # Silk's own INSERTs are its overhead, not the request's; and no EXPLAIN of its own.
    assert not any("silk_" in sql or sql.startswith("EXPLAIN") for sql in statements)
    assert recorded.meta_num_queries > 0


@pytest.mark.parametrize(
    "path",
    [
        "/static/admin/css/base.css",
        "/static/rest_framework/js/default.js",
        "/__debug__/render_panel/",
        "/favicon.ico",
        "/silk/",
    ],
)
def test_silk_never_records_static_toolbar_or_its_own_pages(
    client, staff_user, silk_recording, path
):
    client.force_login(staff_user)
    client.get(path)
    client.get("/health/")  # recorded: proves recording is on
    assert list(Request.objects.values_list("path", flat=True)) == ["/health/"]


def test_nothing_recorded_at_zero_percent(client):
    client.get("/health/")
    assert not Request.objects.exists()


TOOLBAR_SETTINGS = (
    "import json; from django.conf import settings; "
    "print(json.dumps({'apps': settings.INSTALLED_APPS, 'mw': settings.MIDDLEWARE, "
    "'ips': getattr(settings, 'INTERNAL_IPS', [])}))"
)


@pytest.mark.parametrize(
    ("env", "present"),
    [
        ({"DEBUG": "1"}, True),
        ({"DEBUG": "1", "DEBUG_TOOLBAR": "0"}, False),
        ({"DEBUG": "0", "SECRET_KEY": "k" * 30 + "abcdefghijklmnopqrstuvwxyz"}, False),
    ],
)
def test_debug_toolbar_only_with_debug(env, present):
    result = load_settings(TOOLBAR_SETTINGS, **env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert ("debug_toolbar" in data["apps"]) is present
    assert ("debug_toolbar.middleware.DebugToolbarMiddleware" in data["mw"]) is present
    if present:
        assert data["ips"] == ["127.0.0.1", "::1"]


TOOLBAR_PROBE = """
import json, os
import django
django.setup()
from django.test import Client
from debug_toolbar.store import get_store, serialize
secret, digest = os.environ["PROBE_SECRET"], os.environ["PROBE_DIGEST"]
auth = {"Authorization": f"Token {secret}"}
statuses = [
    Client().get("/api/tasks/", headers=auth).status_code,
    Client().get("/api/tasks/", headers={**auth, "Accept": "text/html"}).status_code,
]
store = get_store()
dump = "".join(serialize(dict(store.panels(rid))) for rid in store.request_ids())
print(json.dumps({"statuses": statuses, "secret": secret in dump, "digest": digest in dump,
                  "authorization": "Token ****" in dump, "sql": "tasks_apitoken" in dump}))
"""


@pytest.mark.django_db(transaction=True)
def test_debug_toolbar_keeps_no_token(owner):
    """DEBUG on, the toolbar recording (127.0.0.1): its panels (SQL and headers included) hold
    the token's digest, never the secret."""
    from taskproject.tests.deployment import test_database_url
    from tasks import services, tokens

    _token, secret = services.token_issue(user=owner)
    url = test_database_url()
    result = load_settings(
        TOOLBAR_PROBE,
        PROBE_SECRET=secret,
        PROBE_DIGEST=tokens.digest_of(secret),
        DATABASE_URL=url,
        ALLOWED_HOSTS="testserver",
        SILK_ENABLED="0",
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["statuses"] == [200, 200]
    assert found["sql"] and found["authorization"], found  # the toolbar recorded both panels
    assert found["digest"] and not found["secret"]


def test_explain_url_with_silk_recording_explains_only_the_application(staff_user, silk_recording):
    # With silk on, its own INSERTs used to be most of the plans `explain --url` printed.
    from perfaudit import services

    report = services.explain_url(url="/admin/", username=staff_user.username)
    assert report.request.status == 200
    assert report.request.tool_queries > 0  # silk's INSERTs into silk_* tables
    explained = [plan.sql for plan in report.plans]
    assert explained and not any("silk_" in sql for sql in explained)
    assert any('FROM "django_session"' in sql for sql in explained)
