"""django-debug-toolbar shows no secret: with DEBUG on, log in to the admin and take API tokens
(JSON, form and browsable API), use them, change the password, then read every panel of every
recorded request the way a browser on 127.0.0.1 can without logging in
(/__debug__/render_panel/, the History sidebar): no password (or its hash), no token, no session
key (or the session's auth hash), no CSRF secret anywhere.

The toolbar only exists with DEBUG, which settings read at import: the requests run in a fresh
interpreter (like test_profiling's toolbar test) against the test database.
"""

import json
import secrets

import pytest

from taskproject.tests.deployment import test_database_url
from taskproject.tests.test_settings import load_settings

PROBE = """
import json, os, re
import django
django.setup()
from django.conf import settings
from django.test import Client
from django.test.utils import override_settings
override_settings(STORAGES={**settings.STORAGES, "staticfiles": {
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}).enable()
from debug_toolbar.store import get_store
from debug_toolbar.toolbar import DebugToolbar

username, password = os.environ["PROBE_USERNAME"], os.environ["PROBE_PASSWORD"]
pages = []
browser = Client()
pages.append(browser.get("/admin/login/"))
pages.append(browser.post("/admin/login/?next=/admin/",
                          {"username": username, "password": password, "next": "/admin/"}))
session_key = browser.cookies["sessionid"].value
pages.append(browser.get("/admin/"))
pages.append(browser.get("/api/tasks/", headers={"Accept": "text/html"}))
api = Client()
tokens = []
reply = api.post("/api/auth/token/", {"username": username, "password": password},
                 content_type="application/json")
tokens.append(reply.json()["token"])
reply = api.post("/api/auth/token/", {"username": username, "password": password})
tokens.append(reply.json()["token"])
reply = api.post("/api/auth/token/", {"username": username, "password": password},
                 headers={"Accept": "text/html"})
tokens += re.findall(r"&quot;token&quot;: &quot;([^&]+)&quot;", reply.content.decode())
for token in tokens:
    pages.append(api.get("/api/tasks/", headers={"Authorization": f"Token {token}",
                                                  "Accept": "text/html"}))
new_password = password + "-changed"
pages.append(browser.post("/admin/password_change/", {
    "old_password": password, "new_password1": new_password, "new_password2": new_password}))
assert pages[-1].status_code == 302, pages[-1].status_code  # changed
pages.append(browser.post("/admin/logout/"))

anyone = Client()  # not logged in: the toolbar's views only check the address (127.0.0.1)
store = get_store()
panel_ids = [cls.panel_id for cls in DebugToolbar.get_panel_classes()]
seen, dump = {}, []
for request_id in store.request_ids():
    for panel_id in panel_ids:
        reply = anyone.get("/__debug__/render_panel/",
                           {"request_id": request_id, "panel_id": panel_id})
        assert reply.status_code == 200, (panel_id, reply.status_code)
        content = reply.json()["content"] or ""  # panels without content give None
        seen[panel_id] = seen.get(panel_id, 0) + len(content)
        dump.append(content)
    reply = anyone.get("/__debug__/history_sidebar/", {"request_id": request_id})
    dump.append(reply.content.decode())
dump += [page.content.decode(errors="replace") for page in pages]
text = "\\n".join(dump)
from django.contrib.auth import get_user_model
user = get_user_model().objects.get(username=username)
secrets = {"password": password, "new password": new_password, "session key": session_key,
           "session auth hash": user.get_session_auth_hash(), "password hash": user.password,
           "csrf cookie": browser.cookies["csrftoken"].value}
secrets.update({f"token {n}": token for n, token in enumerate(tokens)})
print(json.dumps({
    "tokens": len(tokens),
    "requests": len(store.request_ids()),
    "panels": seen,
    "leaked": sorted(name for name, value in secrets.items() if value in text),
    "history_has_login": "/admin/login/" in text and "username" in text,
}))
"""


@pytest.mark.django_db(transaction=True)  # the subprocess must see the user
def test_no_panel_shows_a_password_token_or_session_key(django_user_model):
    password = f"pw-{secrets.token_urlsafe(12)}"
    django_user_model.objects.create_user(
        username="toolbar-staff", password=password, is_staff=True
    )
    result = load_settings(
        PROBE,
        PROBE_USERNAME="toolbar-staff",
        PROBE_PASSWORD=password,
        DATABASE_URL=test_database_url(),
        ALLOWED_HOSTS="testserver",
        SILK_ENABLED="0",
        SECURE_COOKIES="0",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["tokens"] == 3  # JSON, form and browsable API logins all worked
    assert found["requests"] >= 8
    # The panels that hold request data rendered real content (the test reads what they show).
    for panel in ("HistoryPanel", "RequestPanel", "SQLPanel", "HeadersPanel", "TemplatesPanel"):
        assert found["panels"][panel] > 1000, found["panels"]
    assert found["history_has_login"]  # History lists the login POST ...
    assert found["leaked"] == []  # ... and no panel holds a secret
