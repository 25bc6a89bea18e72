"""perfaudit's history in a real browser (issue 23): after captures around a workload and a
dropped index, the History page's charts draw real points (charts.js over the vendored uPlot),
and the statement drill-down and the Changes page render. Same Chromium and helpers as
test_browser.py; UPDATE_SCREENSHOTS=1 rewrites docs/screenshots/*.png."""

import pytest
from django.db import connection
from django.urls import reverse

from perfaudit.services.history import capture_stats
from taskproject.tests.test_browser import browser, log_in, page_problems, pytestmark, screenshot
from taskproject.tests.test_browser_pictures import wait_drawn

__all__ = ["browser", "pytestmark"]  # the module's Chromium fixture and its opt-out


def run_sql(*statements):
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def hot_calls(times: int, start: int):
    with connection.cursor() as cursor:
        for n in range(start, start + times):
            cursor.execute("SELECT v FROM pa_hot WHERE k = %s", [n])
            cursor.fetchall()
        cursor.execute("SELECT pg_stat_force_next_flush()")


@pytest.fixture
def history(settings):
    from perfaudit.tests.conftest import statements_usable

    if not statements_usable():
        pytest.skip("pg_stat_statements is not preloaded on this server")
    settings.PERFAUDIT = {"HISTORY_RELATIONS_SECONDS": 0, "CHANGES_SLOWER_MIN_MS": 0.1}
    run_sql(
        "CREATE TABLE pa_hot (id bigserial PRIMARY KEY, k int NOT NULL, v text NOT NULL)",
        "INSERT INTO pa_hot (k, v) SELECT g, md5(g::text) FROM generate_series(1, 200000) g",
        "CREATE INDEX pa_hot_k ON pa_hot (k)",
        "ANALYZE pa_hot",
    )
    capture_stats()
    for round_ in range(3):
        hot_calls(30, start=round_ * 100)
        split = capture_stats()
    run_sql("DROP INDEX pa_hot_k")
    hot_calls(30, start=1000)
    capture_stats()
    yield split
    run_sql("DROP TABLE IF EXISTS pa_hot")


@pytest.mark.django_db(transaction=True)
def test_history_charts_drill_down_and_changes(browser, live_server, django_user_model, history):
    from selenium.webdriver.common.by import By

    base = live_server.url
    log_in(browser, base, django_user_model)
    browser.get(base + reverse("admin:perfaudit_history") + "?window=1h")
    drawn = dict(
        zip(
            browser.execute_script(
                "return [...document.querySelectorAll('figure.perfaudit-chart')]"
                ".map(f => f.dataset.chartJson)"
            ),
            wait_drawn(browser, "figure.perfaudit-chart"),
            strict=True,
        )
    )
    # Real points from the captures: 4 intervals of statements, 5 captures of sizes.
    assert int(drawn["chart-calls"]) >= 4
    assert int(drawn["chart-database-size"]) == 5
    assert int(drawn["chart-table-sizes"]) >= 5
    assert browser.find_elements(By.CSS_SELECTOR, "figure.perfaudit-chart-drawn canvas")
    assert not page_problems(browser, base)
    screenshot(browser, "perfaudit-history")

    browser.find_element(By.PARTIAL_LINK_TEXT, "pa_hot").click()
    assert int(max(wait_drawn(browser, "figure.perfaudit-chart"))) >= 4
    plans = browser.find_element(By.CSS_SELECTOR, "table.perfaudit-plan-changes").text
    assert "Index Scan using pa_hot_k on pa_hot" in plans and "Seq Scan on pa_hot" in plans
    assert not page_problems(browser, base)
    screenshot(browser, "perfaudit-history-statement")

    since = history.taken_at.isoformat().replace("+", "%2B")
    browser.get(base + reverse("admin:perfaudit_changes") + f"?since={since}")
    row = browser.find_element(By.CSS_SELECTOR, "tr.change-plan_changed").text
    assert "Seq Scan on pa_hot" in row and "pa_hot_k" in row
    assert browser.find_elements(By.CSS_SELECTOR, "tr.change-slower")
    assert not page_problems(browser, base)
    screenshot(browser, "perfaudit-changes")
