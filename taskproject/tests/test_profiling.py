"""django-silk is staff-only; the debug toolbar exists only with DEBUG."""

import json

import pytest
from silk.config import SilkyConfig
from silk.models import Request

from taskproject.tests.test_settings import load_settings

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
    assert client.get("/admin/").status_code == 200
    recorded = Request.objects.get(path="/admin/")
    # Silk hooks the ORM's compiler: at least the session and user lookups.
    assert recorded.num_sql_queries >= 2


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
    from urllib.parse import quote

    from django.db import connection

    from tasks import services, tokens

    _token, secret = services.token_issue(user=owner)
    s = connection.settings_dict
    host = quote(str(s.get("HOST") or "localhost"), safe="")
    password = f":{quote(s['PASSWORD'], safe='')}" if s.get("PASSWORD") else ""
    url = f"postgresql://{quote(s.get('USER') or 'postgres', safe='')}{password}@{host}:"
    url += f"{s.get('PORT') or 5432}/{s['NAME']}"
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
