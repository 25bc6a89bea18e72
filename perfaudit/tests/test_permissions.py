"""Who may do what on perfaudit's pages: every page and form, for every kind of user.

The rules (perfaudit.models): the admin site lets only active staff in (others go to its login
form); then perfaudit.view_dashboard opens every page, plain EXPLAIN and the Advisor form;
perfaudit.explain_analyze adds ANALYZE (where PERFAUDIT['ADMIN_EXPLAIN_ANALYZE'] allows it at
all); perfaudit.reset_statistics the statistics reset; perfaudit.signal_backends cancelling or
terminating a session from the Sessions page. Superusers hold every permission.
"""

import pytest
from django.urls import reverse

from perfaudit.admin_base import TABS

from .conftest import PERFAUDIT_PERMISSIONS, grant

pytestmark = pytest.mark.django_db

LOGIN, DENIED, OK = "login", 403, 200

#: (name, method, url name, POST data): every page and form.
ACTIONS = [
    *[(tab, "get", tab, None) for tab, _title in TABS],
    ("explain-post", "post", "explain", {"sql": "SELECT 1"}),
    ("explain-analyze", "post", "explain", {"sql": "SELECT 1", "analyze": "on"}),
    ("advisor-post", "post", "advisor", {"sql": "SELECT * FROM tasks_task WHERE priority = 'x'"}),
    ("reset-get", "get", "queries_reset", None),
    ("reset-post", "post", "queries_reset", {}),
    # A session that is not there: allowed, it goes back to Sessions with a message.
    ("signal-get", "get", "sessions_signal", {"pid": 1, "started": 0, "action": "cancel"}),
    ("signal-post", "post", "sessions_signal", {"pid": 1, "started": 0, "action": "cancel"}),
    ("history-statement", "get", "history_statement", None),
]
#: URL arguments of the pages that take some.
ARGS = {"history_statement": ["1"]}
VIEW_ONLY = {
    "explain-analyze": DENIED,
    "reset-get": DENIED,
    "reset-post": DENIED,
    "signal-get": DENIED,
    "signal-post": DENIED,
}
#: user kind -> expected outcome per action (default for the kind, then exceptions).
EXPECTED = {
    "anonymous": (LOGIN, {}),
    "plain user": (LOGIN, {}),
    "staff without permissions": (DENIED, {}),
    "staff with view_dashboard": (OK, VIEW_ONLY),
    "staff with every permission": (OK, {}),
    "superuser": (OK, {}),
}


@pytest.fixture
def make_user(django_user_model):
    def make(kind):
        if kind == "anonymous":
            return None
        user = django_user_model.objects.create_user(
            username=kind.replace(" ", "-"),
            password="pw-matrix-1",
            is_staff=kind != "plain user",
            is_superuser=kind == "superuser",
        )
        if kind == "staff with view_dashboard":
            user = grant(user, "view_dashboard")
        elif kind == "staff with every permission":
            user = grant(user, *PERFAUDIT_PERMISSIONS)
        return user

    return make


def outcome(response) -> object:
    if response.status_code == 302 and reverse("admin:login") in response["Location"]:
        return LOGIN
    if response.status_code == 302 and response["Location"] in (
        reverse("admin:perfaudit_queries"),  # a reset POST that was allowed
        reverse("admin:perfaudit_sessions"),  # a signal that was allowed (and found nothing)
    ):
        return OK
    return response.status_code


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_permission_matrix(client, make_user, kind, analyze_on):
    user = make_user(kind)
    if user is not None:
        client.force_login(user)
    default, exceptions = EXPECTED[kind]
    seen, wanted = {}, {}
    for name, method, url_name, data in ACTIONS:
        url = reverse(f"admin:perfaudit_{url_name}", args=ARGS.get(url_name, ()))
        response = client.get(url, data) if method == "get" else client.post(url, data)
        seen[name] = outcome(response)
        wanted[name] = exceptions.get(name, default)
    assert seen == wanted


@pytest.mark.parametrize("kind", ["staff with every permission", "superuser"])
def test_analyze_is_off_outside_debug_even_for_superusers(client, make_user, kind, settings):
    settings.DEBUG = False
    client.force_login(make_user(kind))
    url = reverse("admin:perfaudit_explain")
    page = client.get(url).content.decode()
    assert "ADMIN_EXPLAIN_ANALYZE" in page  # the disabled checkbox says why
    response = client.post(url, {"sql": "SELECT 1", "analyze": "on"})
    assert response.status_code == 403
    assert "ANALYZE is turned off" in response.content.decode()
    assert "Execution Time" not in response.content.decode()
    assert client.post(url, {"sql": "SELECT 1"}).status_code == 200  # plain EXPLAIN still works


def test_analyze_follows_debug_by_default(client, make_user, settings):
    settings.DEBUG = True
    client.force_login(make_user("staff with every permission"))
    response = client.post(reverse("admin:perfaudit_explain"), {"sql": "SELECT 1", "analyze": "on"})
    assert response.status_code == 200
    assert response.context["timing"]["execution_ms"] is not None  # it ran


def test_analyze_without_the_permission_says_which(client, make_user, analyze_on):
    client.force_login(make_user("staff with view_dashboard"))
    url = reverse("admin:perfaudit_explain")
    assert 'name="analyze"' in client.get(url).content.decode()
    response = client.post(url, {"sql": "SELECT 1", "analyze": "on"})
    assert response.status_code == 403
    assert "perfaudit.explain_analyze" in response.content.decode()


def test_the_reset_link_shows_only_with_the_permission(client, make_user):
    client.force_login(make_user("staff with view_dashboard"))
    assert "perfaudit-reset" not in client.get(reverse("admin:perfaudit_queries")).content.decode()


@pytest.mark.parametrize(
    ("kind", "listed"),
    [
        ("staff without permissions", False),
        ("staff with view_dashboard", True),
        ("superuser", True),
    ],
)
def test_admin_index_lists_the_dashboard_only_to_those_who_may_open_it(
    client, make_user, kind, listed
):
    client.force_login(make_user(kind))
    body = client.get(reverse("admin:index")).content.decode()
    assert (reverse("admin:perfaudit_overview") in body) is listed
