"""Plan pictures (issue 23): the EXPLAIN page hands its JSON plan to pev2 and keeps the text
plan; the Advisor page shows each verified suggestion's plans without and with the index.
The pictures themselves are drawn in a real browser (taskproject/tests/test_browser_pictures.py).
"""

import json

import pytest
from django.urls import reverse

from perfaudit.render.plans import plan_text

from .conftest import run_sql

pytestmark = pytest.mark.django_db


def picture_data(response, element_id):
    page = response.content.decode()
    start = page.index(f'<script id="{element_id}" type="application/json">')
    text = page[start:].split(">", 1)[1].split("</script>", 1)[0]
    return json.loads(text)


@pytest.fixture
def adv_table():
    run_sql(
        "CREATE TABLE pa_adv (id bigserial PRIMARY KEY, customer_id int NOT NULL, note text)",
        "INSERT INTO pa_adv (customer_id, note) "
        "SELECT g % 1000, 'n' FROM generate_series(1, 20000) g",
        "ANALYZE pa_adv",
    )


def test_explain_page_carries_the_json_plan_for_pev2(client, staff_user, adv_table):
    client.force_login(staff_user)
    sql = "SELECT * FROM pa_adv WHERE customer_id = 4 AND note <> '</script><b>x'"
    response = client.post(reverse("admin:perfaudit_explain"), {"sql": sql})
    assert response.status_code == 200
    page = response.content.decode()
    data = picture_data(response, "perfaudit-plan-json")
    (document,) = json.loads(data["plan"])
    assert document["Plan"]["Relation Name"] == "pa_adv"
    assert data["query"] == sql
    assert "<b>x" not in page  # json_script escapes the statement's text
    assert "perfaudit/vendor/pev2/pev2.umd.js" in page and "perfaudit/plan.js" in page
    assert 'class="node' in page  # the text plan stays


def test_pev2_is_loaded_only_where_there_is_a_plan(client, staff_user):
    client.force_login(staff_user)
    page = client.get(reverse("admin:perfaudit_explain")).content.decode()
    assert "pev2" not in page


def test_advisor_shows_plans_before_and_after_the_index(client, staff_user, adv_table):
    # pa_adv (~1 MB) is under ADVISOR_BUILD_MAX_BYTES: verified (HypoPG or a rolled-back build).
    client.force_login(staff_user)
    sql = "SELECT * FROM pa_adv WHERE customer_id = 4"
    response = client.post(reverse("admin:perfaudit_advisor"), {"sql": sql})
    assert response.status_code == 200
    (comparison,) = response.context["comparisons"]
    (statement,) = comparison["statements"]
    assert "Seq Scan on pa_adv" in statement["before"]["text"]
    # With the index (a build names it as suggested; HypoPG names its own): no sequential scan.
    assert "Index Scan using" in statement["after"]["text"]
    assert "Seq Scan" not in statement["after"]["text"]
    assert statement["after"]["cost"] < statement["before"]["cost"]
    page = response.content.decode()
    assert 'id="perfaudit-plans"' in page and "perfaudit/plan.js" in page
    for side in ("before", "after"):
        data = picture_data(response, statement[side]["picture"]["id"])
        assert json.loads(data["plan"])[0]["Plan"]["Total Cost"] == statement[side]["cost"]
    # Plans stay out of the JSON contract (adviseindexes --format json): they are large.
    assert "plans" not in response.context["report"].suggestions[0].to_dict()


def test_plan_text_indents_children_and_shows_conditions():
    document = {
        "Plan": {
            "Node Type": "Limit",
            "Total Cost": 9.5,
            "Plan Rows": 5,
            "Plans": [
                {
                    "Node Type": "Index Scan",
                    "Index Name": "pa_i",
                    "Relation Name": "pa_t",
                    "Total Cost": 9.0,
                    "Plan Rows": 5,
                    "Index Cond": "(a = 1)",
                }
            ],
        }
    }
    assert plan_text(document).splitlines() == [
        "Limit  (cost=9.5 rows=5)",
        "  Index Scan using pa_i on pa_t  (cost=9.0 rows=5)",
        "    Index Cond: (a = 1)",
    ]
