"""The admin's Advisor page: staff only, the top-query suggestions, the one-statement form."""

import pytest
from django.urls import reverse

from .conftest import run_sql

pytestmark = pytest.mark.django_db

URL = "admin:perfaudit_advisor"


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse(URL))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.parametrize("method", ["get", "post"])
def test_ordinary_user_is_sent_to_login(client, owner, method):
    client.force_login(owner)
    response = getattr(client, method)(reverse(URL), {"sql": "SELECT 1"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_staff_sees_top_query_suggestions(client, staff_user):
    client.force_login(staff_user)
    response = client.get(reverse(URL))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Advise on one statement" in body
    assert 'class="perfaudit-tabs"' in body and ">Advisor</a>" in body


@pytest.mark.parametrize("build_max_bytes", [0, None])
def test_staff_advises_on_one_statement(client, staff_user, settings, build_max_bytes):
    if build_max_bytes is not None:
        settings.PERFAUDIT = {"ADVISOR_BUILD_MAX_BYTES": build_max_bytes}
    run_sql(
        "CREATE TABLE pa_adv (id bigserial PRIMARY KEY, customer_id int NOT NULL, "
        "created_at timestamptz NOT NULL)",
        "INSERT INTO pa_adv (customer_id, created_at) SELECT g % 1000, now() - g * interval '1 s' "
        "FROM generate_series(1, 20000) g",
        "ANALYZE pa_adv",
    )
    client.force_login(staff_user)
    sql = "SELECT * FROM pa_adv WHERE customer_id = 4 ORDER BY created_at DESC LIMIT 5"
    response = client.post(reverse(URL), {"sql": sql})
    assert response.status_code == 200
    body = response.content.decode()
    assert "btree (customer_id, -created_at)" in body
    assert "CREATE INDEX CONCURRENTLY" in body
    with_hypopg = "Verified with HypoPG" in body
    if build_max_bytes == 0:
        # No build from this web request: with no HypoPG the suggestion says it is unverified,
        # under a heading that claims no cost cut.
        assert with_hypopg or "unverified" in body
        assert with_hypopg or (
            "<h2>Unverified candidates</h2>" in body and "Verified suggestions" not in body
        )
    else:
        # pa_adv (~1 MB) is under ADVISOR_BUILD_MAX_BYTES: verified by a rolled-back build.
        assert "<h2>Verified suggestions</h2>" in body and "Unverified candidates" not in body
        assert with_hypopg or "verified by building them in a transaction" in body


def test_form_refuses_writes_and_bad_sql(client, staff_user):
    client.force_login(staff_user)
    response = client.post(reverse(URL), {"sql": "DELETE FROM tasks_task"})
    assert response.status_code == 400
    assert "cannot be explained here" in response.content.decode()
    response = client.post(reverse(URL), {"sql": ""})
    assert response.status_code == 400
