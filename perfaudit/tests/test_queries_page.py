"""The Queries page and `slowqueries`: the application's statements by default, the tools'
behind a visible toggle (--all), a share of the total time, and a confirmed, staff-only reset."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from .conftest import run_sql, statements_usable

pytestmark = pytest.mark.django_db

# Planted statements, recognisable by their column alias (pg_stat_statements keeps the text);
# slow enough (pg_sleep) to be among the page's top 50 by mean time whatever else ran before.
SILK = 'SELECT pg_sleep(0.3), count(*) AS planted_silk_marker FROM "silk_request"'
CATALOG = "SELECT pg_sleep(0.3), count(*) AS planted_catalog_marker FROM pg_class"
APP = "SELECT pg_sleep(0.3), count(*) AS planted_app_marker FROM django_content_type"
PLANTED = {"planted_silk_marker": SILK, "planted_catalog_marker": CATALOG}


@pytest.fixture
def planted():
    if not statements_usable():
        pytest.skip("pg_stat_statements is not collecting on this server (not preloaded)")
    # silk's table, where silk is not installed (the standalone suite): the origin is read from
    # the statement's text, so an empty stand-in (rolled back with the test) is enough.
    run_sql('CREATE TABLE IF NOT EXISTS "silk_request" (id integer)', SILK, CATALOG, APP)


def listed(*args) -> str:
    out = StringIO()
    call_command("slowqueries", "--format", "json", "--limit", "5000", *args, stdout=out)
    document = json.loads(out.getvalue())
    return " ".join(q["query"] for q in document["queries"]), document


def test_slowqueries_hides_tool_statements_unless_all(planted):
    text, document = listed()
    assert "planted_app_marker" in text
    for marker in PLANTED:
        assert marker not in text
    hidden = {h["origin"]: h["statements"] for h in document["hidden"]}
    assert hidden["profiler"] >= 1 and hidden["catalog"] >= 1
    assert {q["origin"] for q in document["queries"]} == {"app"}
    text, document = listed("--all")
    for marker in (*PLANTED, "planted_app_marker"):
        assert marker in text
    origins = {q["origin"] for q in document["queries"] if "planted_" in q["query"]}
    assert origins == {"app", "profiler", "catalog"}
    assert document["hidden"] == []


def test_share_of_total_time(planted):
    _, document = listed("--all")
    shares = [q["share_of_total"] for q in document["queries"]]
    assert all(0 <= s <= 100 for s in shares)
    # Every statement of the database is listed with --all and a big limit: shares sum to 100.
    assert sum(shares) == pytest.approx(100, abs=0.5)


def test_page_default_hides_and_toggle_shows(client, staff_user, planted):
    client.force_login(staff_user)
    page = client.get(reverse("admin:perfaudit_queries") + "?order=mean").content.decode()
    assert "planted_app_marker" in page
    for marker in PLANTED:
        assert marker not in page
    assert 'id="perfaudit-toggle"' in page and "Show all statements" in page
    assert "% of total time" in page and 'class="perfaudit-bar"' in page
    page = client.get(reverse("admin:perfaudit_queries") + "?order=mean&all=1").content.decode()
    for marker in PLANTED:
        assert marker in page
    assert "Show the application's only" in page


def reset_url():
    return reverse("admin:perfaudit_queries_reset")


def app_statement_listed() -> bool:
    text, _ = listed()
    return "planted_app_marker" in text


def test_reset_asks_first_and_only_a_post_resets(client, staff_user, planted):
    client.force_login(staff_user)
    page = client.get(reset_url())
    assert page.status_code == 200
    assert "pg_stat_statements_reset()" in page.content.decode()
    assert app_statement_listed()  # GET changed nothing
    response = client.post(reset_url())
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:perfaudit_queries")
    assert not app_statement_listed()
    page = client.get(reverse("admin:perfaudit_queries")).content.decode()
    assert "Statement statistics reset at" in page


def test_reset_is_staff_only(client, owner, planted):
    client.post(reset_url())  # anonymous
    client.force_login(owner)
    response = client.post(reset_url())
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert app_statement_listed()


def test_reset_needs_the_csrf_token(staff_user, planted):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    assert client.post(reset_url()).status_code == 403
    assert app_statement_listed()
