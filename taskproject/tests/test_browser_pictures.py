"""The pictures in a real browser (issue 23): perfaudit's charts (charts.js over the vendored
uPlot) draw their points. Same Chromium and helpers as test_browser.py; UPDATE_SCREENSHOTS=1
rewrites docs/screenshots/*.png."""

import pytest
from django.urls import reverse

from taskproject.tests import chart_urls
from taskproject.tests.test_browser import (
    browser,
    log_in,
    page_problems,
    pytestmark,
    screenshot,
    submit,
)

__all__ = ["browser", "pytestmark"]  # the module's Chromium fixture and its opt-out


def wait_drawn(driver, selector: str):
    from selenium.webdriver.support.wait import WebDriverWait

    script = "return [...document.querySelectorAll(arguments[0])].map(f => f.dataset.drawnPoints)"
    WebDriverWait(driver, 20).until(lambda d: all(d.execute_script(script, selector) or [None]))
    return driver.execute_script(script, selector)


@pytest.mark.django_db(transaction=True)
def test_charts_draw_every_point(browser, live_server, django_user_model, settings, monkeypatch):
    from selenium.webdriver.common.by import By

    settings.ROOT_URLCONF = "taskproject.tests.chart_urls"
    start = 1_764_000_000
    monkeypatch.setattr(
        chart_urls,
        "CHARTS",
        [
            {
                "id": "chart-mean",
                "title": "Mean time",
                "unit": "ms",
                "series": [
                    # Two series on different timestamps, one gap: 12 + 7 points with a value.
                    {
                        "name": "SELECT ... tasks",
                        "points": [[start + 60 * i, i * 1.5] for i in range(12)],
                    },
                    {
                        "name": "UPDATE ... tasks",
                        "points": [[start + 90 * i, None if i == 3 else 20 - i] for i in range(8)],
                    },
                ],
            },
            {"id": "chart-empty", "title": "Nothing yet", "unit": "bytes", "series": []},
        ],
    )
    base = live_server.url
    log_in(browser, base, django_user_model)
    browser.get(base + reverse("chart-test"))
    drawn = wait_drawn(browser, "figure.perfaudit-chart")
    assert drawn == ["19", "0"]
    assert browser.find_elements(By.CSS_SELECTOR, "figure.perfaudit-chart-drawn canvas")
    legend = browser.find_element(By.CSS_SELECTOR, "figure.perfaudit-chart-drawn .u-legend").text
    assert "SELECT ... tasks" in legend and "UPDATE ... tasks" in legend
    # The empty chart keeps its table (the no-JavaScript view); the drawn one hides it.
    tables = browser.find_elements(By.CSS_SELECTOR, "table.perfaudit-chart-table")
    assert [t.is_displayed() for t in tables] == [False, True]
    assert not page_problems(browser, base)
    screenshot(browser, "perfaudit-chart")


def wait_attribute(driver, selector: str, attribute: str):
    """The first element's ``attribute`` once set (or its error attribute), within 20 s."""
    from selenium.webdriver.support.wait import WebDriverWait

    script = (
        "const e = document.querySelector(arguments[0]);"
        "return e && (e.getAttribute(arguments[1]) || e.getAttribute('data-plan-error'));"
    )
    WebDriverWait(driver, 20).until(lambda d: d.execute_script(script, selector, attribute))
    return driver.execute_script(script, selector, attribute)


@pytest.mark.django_db(transaction=True)
def test_explain_page_draws_the_plan_picture(browser, live_server, django_user_model):
    from selenium.webdriver.common.by import By

    base = live_server.url
    log_in(browser, base, django_user_model)
    browser.get(base + reverse("admin:perfaudit_explain"))
    browser.find_element(By.NAME, "sql").send_keys(
        # Not the user table: the gate protects it (password hashes).
        "SELECT t.owner_id, count(t.id) FROM tasks_task t "
        "GROUP BY t.owner_id ORDER BY 2 DESC LIMIT 5"
    )
    submit(browser)
    nodes = browser.find_elements(By.CSS_SELECTOR, "#perfaudit-main li.node")
    assert nodes  # the text plan stays
    drawn = wait_attribute(browser, "div.perfaudit-plan-picture", "data-plan-nodes")
    # pev2 draws one box per plan node, as many as the text plan lists.
    assert drawn == str(len(nodes))
    texts = browser.execute_script(
        "return [...document.querySelector('div.perfaudit-plan-picture').shadowRoot"
        ".querySelectorAll('.plan-node')].map(n => n.textContent)"
    )
    assert any("Limit" in t for t in texts)
    assert not page_problems(browser, base)
    picture = browser.find_element(By.ID, "perfaudit-plan-picture-title")
    browser.execute_script("arguments[0].scrollIntoView()", picture)
    screenshot(browser, "perfaudit-explain-picture")


@pytest.fixture
def adv_table(django_db_blocker):
    """A table with no index on customer_id: the advisor verifies one by a rolled-back build.
    Committed (the live server's thread must see it), dropped afterwards."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE pa_adv (id bigserial PRIMARY KEY, customer_id int NOT NULL);"
            "INSERT INTO pa_adv (customer_id) SELECT g % 1000 FROM generate_series(1, 20000) g;"
            "ANALYZE pa_adv"
        )
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS pa_adv")


@pytest.mark.django_db(transaction=True)
def test_advisor_draws_plans_before_and_after(browser, live_server, django_user_model, adv_table):
    from selenium.webdriver.common.by import By

    base = live_server.url
    log_in(browser, base, django_user_model)
    browser.get(base + reverse("admin:perfaudit_advisor"))
    browser.find_element(By.NAME, "sql").send_keys("SELECT * FROM pa_adv WHERE customer_id = 4")
    submit(browser)
    details = browser.find_element(By.CSS_SELECTOR, "details.perfaudit-compare")
    pictures = "details.perfaudit-compare .perfaudit-{} div.perfaudit-plan-picture"
    # Closed, nothing drawn yet; opened, both plans are drawn.
    assert (
        browser.find_element(By.CSS_SELECTOR, pictures.format("before")).get_attribute(
            "data-plan-nodes"
        )
        is None
    )
    browser.execute_script("arguments[0].open = true; arguments[0].scrollIntoView()", details)
    before = wait_attribute(browser, pictures.format("before"), "data-plan-nodes")
    after = wait_attribute(browser, pictures.format("after"), "data-plan-nodes")
    assert before == "1"  # Seq Scan
    assert after in ("1", "2")  # Index Scan, or Bitmap Heap Scan over a Bitmap Index Scan
    assert not page_problems(browser, base)
    screenshot(browser, "perfaudit-advisor-plans")


@pytest.mark.django_db(transaction=True)
def test_sessions_page_highlights_the_blocker_and_cancels_the_waiter(
    browser, live_server, django_user_model
):
    from django.contrib.auth.models import Permission
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait

    from perfaudit.tests.test_sessions import Blocked

    base = live_server.url
    log_in(browser, base, django_user_model)
    django_user_model.objects.get(username="browser-staff").user_permissions.add(
        Permission.objects.get(content_type__app_label="perfaudit", codename="signal_backends")
    )
    blocked = Blocked()
    try:
        browser.get(base + reverse("admin:perfaudit_sessions"))
        holder = browser.find_element(By.CSS_SELECTOR, f'tr[data-pid="{blocked.holder_pid}"]')
        waiter = browser.find_element(By.CSS_SELECTOR, f'tr[data-pid="{blocked.waiter_pid}"]')
        assert "perfaudit-blocking" in holder.get_attribute("class")
        assert "perfaudit-blocked" in waiter.get_attribute("class")
        assert f"waits for pid {blocked.holder_pid}" in waiter.text
        assert not page_problems(browser, base)
        fit = browser.execute_script(
            "return [document.documentElement.scrollWidth, window.innerWidth]"
        )
        assert fit[0] <= fit[1], f"the page is wider than the window: {fit}"
        browser.execute_script(
            "arguments[0].scrollIntoView()", browser.find_element(By.CSS_SELECTOR, "h2 + p")
        )
        screenshot(browser, "perfaudit-sessions")
        link = waiter.find_element(By.LINK_TEXT, "cancel")
        link.click()
        WebDriverWait(browser, 20).until(expected_conditions.staleness_of(link))
        confirm = browser.find_element(By.ID, "perfaudit-confirm-signal")
        screenshot(browser, "perfaudit-sessions-cancel")
        confirm.click()
        WebDriverWait(browser, 20).until(expected_conditions.staleness_of(confirm))
        assert browser.current_url == base + reverse("admin:perfaudit_sessions")
        assert (
            f"cancelled the query of pid {blocked.waiter_pid}"
            in browser.find_element(By.CSS_SELECTOR, ".messagelist").text
        )
        blocked.thread.join(10)
        assert blocked.outcome == "cancelled"
    finally:
        blocked.close()
