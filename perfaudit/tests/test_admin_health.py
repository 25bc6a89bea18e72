"""The Health page (dbhealth in the admin), the overview that counts every report and leads
with what to act on, and info findings on installed packages' tables grouped by app."""

import pytest
from django.urls import reverse

from .conftest import run_sql

pytestmark = pytest.mark.django_db


@pytest.fixture
def unhealthy(parent_child):
    """A NOT VALID constraint (warning) and a sequence at 95 % of its maximum (error)."""
    run_sql(
        "ALTER TABLE pa_child ADD CONSTRAINT pa_note_short CHECK (length(note) < 5) NOT VALID",
        "CREATE SEQUENCE pa_seq AS integer MAXVALUE 100",
        "SELECT setval('pa_seq', 95)",
    )


def test_the_health_page_shows_every_check(client, staff_user, unhealthy):
    client.force_login(staff_user)
    response = client.get(reverse("admin:perfaudit_health"))
    assert response.status_code == 200
    body = response.content.decode()
    kinds = {(row["finding"].kind, row["finding"].object) for row in response.context["findings"]}
    assert {("not_valid_constraint", "pa_note_short"), ("sequence_near_max", "pa_seq")} <= kinds
    # Each check has its own section: the constraint and the sequence listed with their data.
    assert '<h2 id="constraints">NOT VALID constraints</h2>' in body
    assert "<code>pa_note_short</code>" in body
    assert "CHECK ((length(note) &lt; 5)) NOT VALID" in body
    assert '<h2 id="sequences">Sequences</h2>' in body
    [seq] = [s for s in response.context["sequences"] if s.name == "pa_seq"]
    assert (seq.last_value, seq.limit) == (95, 100)
    assert '<h2 id="blocked">Blocked queries</h2>' in body
    assert "No query is waiting for a lock right now." in body
    assert 'href="/admin/perfaudit/dashboard/health/"' in body  # its tab


def test_the_overview_counts_health_and_leads_with_errors(client, staff_user, unhealthy):
    client.force_login(staff_user)
    response = client.get(reverse("admin:perfaudit_overview"))
    sections = response.context["sections"]
    health = next(s for s in sections if s["title"] == "Health")
    assert health["counts"][0][:2] == ("error", 1)
    # Reports with errors come first in the counts table.
    assert sections[0]["counts"][0][1] >= 1
    actions = response.context["actions"]
    severities = [a["finding"].severity for a in actions]
    assert severities == sorted(severities, key=["error", "warning"].index)
    first = actions[0]
    assert (first["title"], first["finding"].kind, first["finding"].object) == (
        "Health",
        "sequence_near_max",
        "pa_seq",
    )
    assert first["url"] == "/admin/perfaudit/dashboard/health/?severity=error"
    assert ("Health", "not_valid_constraint") in {(a["title"], a["finding"].kind) for a in actions}
    body = response.content.decode()
    assert body.index('id="act"') < body.index("Findings by severity")


def test_package_tables_info_is_grouped_under_its_app(client, staff_user):
    client.force_login(staff_user)
    response = client.get(reverse("admin:perfaudit_indexes"))
    groups = dict(response.context["package_groups"])
    # Django's contrib apps own auth_* and django_session: their info findings sit apart.
    assert {"auth", "sessions"} <= set(groups)
    for app, rows in groups.items():
        assert all(r["finding"].severity == "info" for r in rows), app
    packaged = {r["finding"].table for rows in groups.values() for r in rows}
    main = {r["finding"].table for r in response.context["findings"]}
    assert not packaged & main
    body = response.content.decode()
    assert '<details class="perfaudit-package" id="package-auth">' in body
    assert body.index('id="findings"') < body.index('id="package-auth"')
