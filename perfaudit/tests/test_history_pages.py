"""The History, drill-down and Changes pages on real captures: status, permission, content.
Chart data is checked as the page sends it (the JSON the chart partial embeds)."""

import json
import re

import pytest
from django.urls import reverse

from perfaudit.models import CapturedStatement
from perfaudit.render import charts
from perfaudit.services.history import capture_stats

from .conftest import grant, run_sql
from .test_history_capture import hot_queryid, hot_table, planted_hot, workload

__all__ = ["hot_table", "planted_hot"]  # fixtures

pytestmark = pytest.mark.django_db(transaction=True)

#: Tables and indexes sampled by every capture (by default: every 300 s), so that captures a
#: second apart see sizes, scans and growth.
EVERY_CAPTURE = {"HISTORY_RELATIONS_SECONDS": 0}


@pytest.fixture(autouse=True)
def relations_every_capture(settings):
    settings.PERFAUDIT = EVERY_CAPTURE


def chart_data(body: str) -> dict[str, dict]:
    found = re.findall(r'<script id="(chart-[^"]+)" type="application/json">(.*?)</script>', body)
    return {chart_id: json.loads(data) for chart_id, data in found}


@pytest.fixture
def history(hot_table, settings):
    settings.PERFAUDIT = {**EVERY_CAPTURE, "CHANGES_SLOWER_MIN_MS": 0.1}
    capture_stats()
    workload(30)
    capture_stats()
    workload(30, start=50)
    split = capture_stats()
    run_sql("DROP INDEX pa_hot_k")
    workload(30, start=100)
    capture_stats()
    return split


@pytest.fixture
def viewer(client, django_user_model):
    user = django_user_model.objects.create_user(username="v", password="pw-v-1", is_staff=True)
    client.force_login(grant(user, "view_dashboard"))
    return client


def test_history_page_charts_have_real_points(history, viewer):
    response = viewer.get(reverse("admin:perfaudit_history") + "?window=1h")
    assert response.status_code == 200
    body = response.content.decode()
    data = chart_data(body)
    assert {"chart-calls", "chart-mean", "chart-share", "chart-database-size"} <= set(data)
    assert {"chart-connections", "chart-cache-hit", "chart-table-sizes"} <= set(data)
    [hot] = [s for s in data["chart-calls"]["series"] if "pa_hot" in s["name"]]
    assert len(hot["points"]) == 3 and all(value > 0 for _at, value in hot["points"])
    sizes = {s["name"]: s for s in data["chart-table-sizes"]["series"]}
    assert sizes["pa_hot"]["points"][-1][1] > 10_000_000
    # The drill-down link of the hot statement.
    url = reverse("admin:perfaudit_history_statement", args=[hot_queryid()])
    assert url in body


def test_history_page_hides_perfaudits_own_statements(history, viewer):
    own = CapturedStatement.objects.filter(query__contains="perfaudit_statementsample")
    assert own.exists() and {s.origin for s in own} == {"profiler"}

    def statements(query):
        body = viewer.get(reverse("admin:perfaudit_history") + query).content.decode()
        names = [s["name"] for s in chart_data(body)["chart-calls"]["series"]]
        return body.split("<h2>Top statements</h2>")[1].split("<figure")[0] + "".join(names)

    assert "perfaudit_statementsample" not in statements("?window=1h")
    assert "pa_hot" in statements("?window=1h")
    assert "perfaudit_" in statements("?window=1h&all=1")


def test_drill_down_shows_chart_plan_and_plan_change(history, viewer):
    url = reverse("admin:perfaudit_history_statement", args=[hot_queryid()])
    response = viewer.get(url)
    assert response.status_code == 200
    body = response.content.decode()
    assert "SELECT v FROM pa_hot" in body
    assert set(chart_data(body)) == {
        "chart-statement-calls",
        "chart-statement-mean",
        "chart-statement-share",
    }
    current = body.split("<h2>Current plan</h2>")[1].split("<h2>")[0]
    assert "Seq Scan on pa_hot" in current
    changes = body.split("<h2>Plan changes</h2>")[1].split("<h2>")[0]
    assert "Index Scan using pa_hot_k on pa_hot" in changes or "pa_hot_k" in changes
    assert "Ask the index advisor" in body


def test_drill_down_asks_the_advisor(history, viewer):
    url = reverse("admin:perfaudit_history_statement", args=[hot_queryid()])
    body = viewer.get(url + "?advise=1").content.decode()
    advisor = body.split("<h2>Index advisor</h2>")[1]
    assert "pa_hot" in advisor and "CREATE INDEX" in advisor


def test_drill_down_of_an_unknown_statement(viewer):
    response = viewer.get(reverse("admin:perfaudit_history_statement", args=["-42"]))
    assert response.status_code == 200 and "no statement -42" in response.content.decode()
    assert viewer.get("/admin/perfaudit/dashboard/history/statement/x/").status_code == 404


def test_changes_page_shows_both_plans_side_by_side(history, viewer):
    response = viewer.get(
        reverse("admin:perfaudit_changes"), {"since": history.taken_at.isoformat()}
    )
    assert response.status_code == 200
    body = response.content.decode()
    row = body.split('class="change-plan_changed"')[1].split("</tr>")[0]
    assert "Index Scan using pa_hot_k on pa_hot" in row and "Seq Scan on pa_hot" in row
    assert 'class="change-slower"' in body


def test_changes_page_bad_since_is_400_naming_the_field(viewer):
    response = viewer.get(reverse("admin:perfaudit_changes"), {"since": "last tuesday"})
    assert response.status_code == 400
    assert "since:" in response.content.decode()
    too_long = viewer.get(reverse("admin:perfaudit_changes"), {"since": "99999999999w"})
    assert too_long.status_code == 400 and "longer than 100 years" in too_long.content.decode()


@pytest.mark.parametrize(
    ("name", "args"), [("perfaudit_history", []), ("perfaudit_history_statement", ["-42"])]
)
def test_history_pages_bad_window_is_400_naming_the_field(viewer, name, args):
    url = reverse(f"admin:{name}", args=args)
    response = viewer.get(url, {"window": "3 weeks"})
    assert response.status_code == 400
    assert "window: &#x27;3 weeks&#x27; is not one of 6h, 1h" in response.content.decode()
    assert viewer.get(url, {"window": "24h"}).status_code == 200


def test_chart_builders_are_pure():
    import datetime as dt

    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    points = [
        charts.CapturePoint(1, t0, None, 100, 0, 0, {"idle": 2}),
        charts.CapturePoint(
            2, t0 + dt.timedelta(minutes=1), 60.0, 200, 90, 10, {"active": 1}, 10.0
        ),
    ]
    calls, mean, share = charts.statement_charts(
        points, {7: [charts.StatementPoint(2, 120, 5.0)]}, {7: "q"}
    )
    assert calls["series"] == [{"name": "q", "points": [[points[1].at, 2.0]]}]
    assert mean["series"][0]["points"] == [[points[1].at, round(5.0 / 120, 3)]]
    assert share["series"][0]["points"] == [[points[1].at, 50.0]]
    size, connections, hit = charts.database_charts(points)
    assert [s["name"] for s in connections["series"]] == ["active", "idle"]
    assert connections["series"][0]["points"] == [[points[0].at, 0], [points[1].at, 1]]
    assert hit["series"][0]["points"] == [[points[1].at, 90.0]]
    assert size["unit"] == "bytes" and size["series"][0]["points"][1][1] == 200
