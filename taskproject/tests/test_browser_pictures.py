"""The pictures in a real browser (issue 23): perfaudit's charts (charts.js over the vendored
uPlot) draw their points. Same Chromium and helpers as test_browser.py; UPDATE_SCREENSHOTS=1
rewrites docs/screenshots/*.png."""

import pytest
from django.urls import reverse

from taskproject.tests import chart_urls
from taskproject.tests.test_browser import browser, log_in, page_problems, pytestmark, screenshot

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
