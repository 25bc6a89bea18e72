"""A real browser over the admin: headless Chromium (Debian's package) driven by Selenium.

Logs in as staff through the admin login form, opens every perfaudit page and silk's summary,
and checks each renders its main table, without an error box, a server error, a JavaScript
error, or any resource loaded from another host (no CDN: the machines have no network).

`make test` installs chromium + chromium-driver first when they are missing; this test never
installs anything, and fails (does not skip) when the browser is missing, unless
SKIP_BROWSER_TESTS=1 opts out. UPDATE_SCREENSHOTS=1 rewrites docs/screenshots/*.png.
"""

import contextlib
import io
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from perfaudit.catalog.statements import statements_status

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SCREENSHOTS = Path(settings.BASE_DIR) / "docs" / "screenshots"
WINDOW = (1280, 800)

pytestmark = pytest.mark.skipif(
    os.environ.get("SKIP_BROWSER_TESTS") == "1", reason="SKIP_BROWSER_TESTS=1 (opt-out)"
)


@pytest.fixture(scope="module")
def browser():
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not Path(path).is_file()]
    if missing:
        pytest.fail(
            f"browser test: {', '.join(missing)} not installed. `make test` installs them "
            "(apt-get install -y chromium chromium-driver, as root); set SKIP_BROWSER_TESTS=1 "
            "to opt out.",
            pytrace=False,
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="taskproject-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",  # running as root in CI containers
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path: Selenium Manager (which would download a driver) never runs.
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def silk_recording():
    # Record the browser's requests, so silk's summary has rows (tests default to 0 %).
    from silk.config import SilkyConfig

    config = SilkyConfig()
    before = config.attrs["SILKY_INTERCEPT_PERCENT"]
    config.attrs["SILKY_INTERCEPT_PERCENT"] = 100
    yield
    config.attrs["SILKY_INTERCEPT_PERCENT"] = before


def page_problems(driver, base_url: str) -> list[str]:
    from selenium.webdriver.common.by import By

    problems = []
    if driver.find_elements(By.CSS_SELECTOR, ".perfaudit-error, .errornote"):
        problems.append("error box: " + driver.find_element(By.TAG_NAME, "body").text[:300])
    if "Server Error" in driver.title or "Traceback (most recent call last)" in driver.page_source:
        problems.append("server error")
    for entry in driver.get_log("browser"):
        # Chrome asks every host for /favicon.ico; the admin has none.
        if entry["level"] == "SEVERE" and "favicon.ico" not in entry["message"]:
            problems.append("console: " + entry["message"])
    resources = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    problems += [f"off-site resource: {r}" for r in resources if not r.startswith(base_url)]
    return problems


def submit(driver):
    """Click the form's submit button and wait for the next page (a click does not wait)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait

    button = driver.find_element(By.CSS_SELECTOR, "input[type=submit]")
    button.click()
    WebDriverWait(driver, 20).until(expected_conditions.staleness_of(button))


def screenshot(driver, name: str):
    """Rewrite docs/screenshots/<name>.png only when asked, so test runs leave the tree clean."""
    if os.environ.get("UPDATE_SCREENSHOTS") != "1":
        return
    from PIL import Image  # Pillow comes with matplotlib (requirements-dev.txt)

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    image = Image.open(io.BytesIO(driver.get_screenshot_as_png()))
    # 256 colours: admin pages are flat colours, and the committed PNGs stay ~3x smaller.
    image.convert("RGB").quantize(colors=256).save(SCREENSHOTS / f"{name}.png", optimize=True)


@pytest.mark.django_db(transaction=True)  # the live server thread must see the rows
def test_staff_browses_perfaudit_pages_and_silk(
    browser, live_server, django_user_model, silk_recording, settings
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait

    # A small demo data set (under a second), so pages have real rows; with the sequential
    # scan threshold lowered to match, the EXPLAIN below has a diagnostic to highlight.
    call_command("seeddata", users=20, tasks=2000, no_progress=True, stdout=io.StringIO())
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tasks_task")
    settings.PERFAUDIT = {
        **settings.PERFAUDIT,
        "SEQ_SCAN_MIN_ROWS": 1000,
        "ADMIN_EXPLAIN_ANALYZE": True,  # as under `make run` (DEBUG)
    }
    base = live_server.url
    log_in(browser, base, django_user_model)
    screenshot(browser, "admin-index")
    # The admin index links to the dashboard.
    link = browser.find_element(By.LINK_TEXT, "Performance dashboard")
    link.click()
    WebDriverWait(browser, 20).until(expected_conditions.staleness_of(link))
    assert browser.current_url == base + reverse("admin:perfaudit_overview")

    failures = {}
    # Without pg_stat_statements collecting (CI's PostgreSQL 15 does not preload it) the Queries
    # page says how to enable it, and has no statements, bars, toggle or reset to check.
    collecting = statements_status(connection).usable
    for page in ("overview", "queries", "indexes", "tables", "connections"):
        browser.get(base + reverse(f"admin:perfaudit_{page}"))
        rows = browser.find_elements(By.CSS_SELECTOR, "#perfaudit-main tbody tr")
        problems = page_problems(browser, base)
        if not rows:
            problems.append("main table has no rows")
        barred = ("queries", "indexes", "tables") if collecting else ("indexes", "tables")
        if page in barred and not browser.find_elements(
            By.CSS_SELECTOR, "#perfaudit-main .perfaudit-bar > span"
        ):
            problems.append("no bars")
        if problems:
            failures[page] = problems
        screenshot(browser, f"perfaudit-{page}")

    # Health: wraparound and autovacuum cards, then its checks, each in its own section.
    browser.get(base + reverse("admin:perfaudit_health"))
    problems = page_problems(browser, base)
    cards = browser.find_elements(By.CSS_SELECTOR, "#perfaudit-main .perfaudit-card")
    if len(cards) != 4:
        problems.append(f"{len(cards)} health cards, not 4")
    for section in ("findings", "blocked", "sequences", "constraints"):
        if not browser.find_elements(By.ID, section):
            problems.append(f"no {section} section")
    if problems:
        failures["health"] = problems
    screenshot(browser, "perfaudit-health")

    # The Advisor: suggestions for the top statements (or why there are none) and its form.
    browser.get(base + reverse("admin:perfaudit_advisor"))
    problems = page_problems(browser, base)
    if not browser.find_elements(By.NAME, "sql"):
        problems.append("no statement form")
    if problems:
        failures["advisor"] = problems
    screenshot(browser, "perfaudit-advisor")

    # Queries: the toggle shows the tools' statements too (silk's, the catalog's, DDL...).
    browser.get(base + reverse("admin:perfaudit_queries"))
    if collecting:
        default_rows = len(browser.find_elements(By.CSS_SELECTOR, "#perfaudit-main tbody tr"))
        toggle = browser.find_element(By.ID, "perfaudit-toggle")
        toggle.click()
        WebDriverWait(browser, 20).until(expected_conditions.staleness_of(toggle))
        cells = browser.find_elements(By.CSS_SELECTOR, "#perfaudit-main td.nowrap")
        origins = {e.text for e in cells}
        problems = page_problems(browser, base)
        if not {"app", "catalog"} <= origins:
            problems.append(f"all statements: origins {origins}")
        if len(browser.find_elements(By.CSS_SELECTOR, "#perfaudit-main tbody tr")) < default_rows:
            problems.append("all statements lists fewer rows than the default")
        if problems:
            failures["queries-all"] = problems
        screenshot(browser, "perfaudit-queries-all")

    # EXPLAIN through the form: ANALYZE ticked, the plan tree comes back.
    browser.get(base + reverse("admin:perfaudit_explain"))
    analyze = browser.find_element(By.NAME, "analyze")
    assert not analyze.is_selected()  # off by default
    sql = browser.find_element(By.NAME, "sql")
    sql.send_keys(
        # Not the user table: the gate protects it (password hashes).
        "SELECT t.owner_id, count(t.id) FROM tasks_task t "
        "WHERE t.title LIKE 'Fix endpoint%' GROUP BY t.owner_id ORDER BY 2 DESC"
    )
    analyze.click()
    browser.find_element(By.NAME, "buffers").click()
    submit(browser)
    nodes = browser.find_elements(By.CSS_SELECTOR, "#perfaudit-main li.node")
    flagged = browser.find_elements(By.CSS_SELECTOR, "#perfaudit-main li.node.flagged")
    problems = page_problems(browser, base)
    if not nodes:
        problems.append("no plan nodes")
    if not any("Seq Scan on tasks_task" in n.text and "plan_seq_scan" in n.text for n in flagged):
        problems.append("the sequential scan on tasks_task is not highlighted")
    timing = browser.find_element(By.ID, "perfaudit-timing").text
    if "planning time" not in timing or "execution time" not in timing or "not run" in timing:
        problems.append(f"timing: {timing!r}")
    if len(browser.find_elements(By.CSS_SELECTOR, "#perfaudit-main .perfaudit-share")) != len(
        nodes
    ):
        problems.append("not every node has its share of the time")
    if not any("Hint: Read 2,000 rows" in n.text for n in nodes):
        problems.append("no hint on the filter-heavy scan")
    if not any("Buffers: shared hit=" in n.text for n in nodes):
        problems.append("BUFFERS ticked but no buffers shown")
    if problems:
        failures["explain"] = problems
    else:
        timing_cards = browser.find_element(By.ID, "perfaudit-timing")
        browser.execute_script("arguments[0].scrollIntoView()", timing_cards)
    screenshot(browser, "perfaudit-explain")

    # A refused statement is a message on the form, not an error page.
    browser.get(base + reverse("admin:perfaudit_explain"))
    browser.find_element(By.NAME, "sql").send_keys("DELETE FROM tasks_task")
    submit(browser)
    errors = browser.find_element(By.CSS_SELECTOR, ".errorlist").text
    assert "DELETE cannot be explained here" in errors
    browser.get_log("browser")  # drop the console's note of that (expected) 400

    # The browsable API (session login): pretty-printed, with a readable title.
    browser.get(base + reverse("task-list") + "?scope=all&page_size=3")
    problems = page_problems(browser, base)
    if not browser.title.startswith("Tasks"):
        problems.append(f"browsable API title: {browser.title!r}")
    body = browser.find_elements(By.CSS_SELECTOR, ".response-info pre")
    if not body or '\n  "next"' not in body[0].text:
        problems.append("browsable API: the JSON is not pretty-printed")
    if problems:
        failures["browsable-api"] = problems
    screenshot(browser, "api-browsable")

    # The OpenAPI UI: its assets come from the server (drf-spectacular-sidecar), no CDN.
    browser.get(base + reverse("api-docs"))
    from selenium.common.exceptions import TimeoutException

    with contextlib.suppress(TimeoutException):  # reported below with the page's problems
        WebDriverWait(browser, 20).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, ".swagger-ui .opblock")
        )
    problems = page_problems(browser, base)
    if not browser.find_elements(By.CSS_SELECTOR, ".swagger-ui .opblock"):
        problems.append("API docs: no operations rendered")
    if problems:
        failures["api-docs"] = problems
    screenshot(browser, "api-docs")

    # Reset statistics: a confirmation first, then the Queries page says when (only where
    # pg_stat_statements collects: the link is not offered otherwise, e.g. CI's PostgreSQL 15).
    browser.get(base + reverse("admin:perfaudit_queries"))
    if collecting:
        browser.find_element(By.CSS_SELECTOR, "a.perfaudit-reset").click()
        confirm = browser.find_element(By.ID, "perfaudit-confirm-reset")
        problems = page_problems(browser, base)
        screenshot(browser, "perfaudit-queries-reset")
        confirm.click()
        WebDriverWait(browser, 20).until(expected_conditions.staleness_of(confirm))
        if browser.current_url != base + reverse("admin:perfaudit_queries"):
            problems.append(f"after the reset: {browser.current_url}")
        if "Statement statistics reset at" not in browser.find_element(By.TAG_NAME, "body").text:
            problems.append("no message saying the statistics were reset")
        if problems:
            failures["queries-reset"] = problems

    browser.get(base + "/silk/")
    cells = browser.find_elements(By.CSS_SELECTOR, ".summary-cell")
    problems = page_problems(browser, base)
    if len(cells) < 4:
        problems.append(f"silk summary: {len(cells)} summary cells")
    if problems:
        failures["silk"] = problems
    screenshot(browser, "silk-summary")

    assert not failures, failures


def log_in(driver, base: str, django_user_model):
    from selenium.webdriver.common.by import By

    from tasks.management.commands.demouser import set_permissions

    # Staff, not superuser, with the demo account's permissions (tasks/.../demouser.py).
    set_permissions(
        django_user_model.objects.create_user(
            username="browser-staff", password="pw-browser-1", is_staff=True
        )
    )
    driver.get(base + reverse("admin:login") + "?next=" + reverse("admin:index"))
    driver.find_element(By.NAME, "username").send_keys("browser-staff")
    driver.find_element(By.NAME, "password").send_keys("pw-browser-1")
    submit(driver)
    assert driver.current_url == base + reverse("admin:index"), driver.current_url


FIT = """
const table = document.querySelector(arguments[0]);
const box = table.closest('.results') || table.parentElement;
const lines = [...document.querySelectorAll(arguments[1])]
    .filter(e => e.getClientRects().length > 1).map(e => e.textContent);
return {table: table.scrollWidth, box: box.clientWidth,
        page: document.documentElement.scrollWidth, window: window.innerWidth, broken: lines};
"""


@pytest.mark.django_db(transaction=True)
def test_admin_lists_fit_1400_px(browser, live_server, django_user_model):
    # At 1,400 px the Users list's task columns and the Tasks list's dates were cut off (behind
    # a horizontal scrollbar), and table names broke mid-word on the Tables page.
    call_command("seeddata", users=5, tasks=200, no_progress=True, stdout=io.StringIO())
    base = live_server.url
    log_in(browser, base, django_user_model)
    browser.set_window_size(1400, 900)
    try:
        failures = {}
        for name, url, table, cells in (
            ("users", reverse("admin:tasks_user_changelist"), "#result_list", "#result_list td"),
            (
                "tasks",
                reverse("admin:tasks_task_changelist"),
                "#result_list",
                ".field-due, .field-created",
            ),
            (
                "tables",
                reverse("admin:perfaudit_tables"),
                "#perfaudit-main",
                "#perfaudit-main .table-name",
            ),
            (
                "indexes",
                reverse("admin:perfaudit_indexes"),
                "#perfaudit-main",
                "#perfaudit-main .table-name",
            ),
        ):
            browser.get(base + url)
            fit = browser.execute_script(FIT, table, cells)
            if fit["table"] > fit["box"] or fit["page"] > fit["window"] or fit["broken"]:
                failures[name] = fit
            screenshot(browser, f"admin-{name}-1400px")
    finally:
        browser.set_window_size(*WINDOW)
    assert not failures, failures
