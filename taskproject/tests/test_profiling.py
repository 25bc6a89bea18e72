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
