"""Issue 20's "Done when": an attacker with a staff account (not a superuser, yet allowed
EXPLAIN ANALYZE) tries every probe of the issue, and more, through perfaudit's EXPLAIN page and
Advisor form and the ``explain --analyze`` / ``profilequery`` / ``adviseindexes --sql``
commands, on the PostgreSQL the suite runs on (embedded 18; CI's second pass, the system 15).

Each probe must be refused with a message naming the reason, on every surface; no answer may
hold a secret (session keys, password hashes, token digests, /etc/passwd); nothing may be left
behind (a terminated backend, a replication slot, an advisory lock, reset statistics, a
reloaded configuration, a large object, a notification, a file, a used sequence value, deleted
rows) and the connection must come back as it was (no role, setting, lock, prepared statement,
temporary table or LISTEN). The deep and huge statements also go through a real gunicorn worker
(sync and ASGI) and a subprocess: no 500, no dead worker. The server log keeps no secret.
"""

from __future__ import annotations

import html
import http.client
import os
import re
import secrets
import subprocess
import sys
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from urllib.parse import urlencode

import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from benchmarks.servers import gunicorn
from perfaudit import gate
from taskproject.embedded_db import ROOT, EmbeddedServer
from taskproject.tests.deployment import app_env, test_database_url
from tasks import services as task_services
from tasks.management.commands.demouser import set_permissions
from tasks.models import Task

pytestmark = pytest.mark.django_db(transaction=True)  # other sessions must see the secrets

SLOT = "perfaudit_probe_slot"
CHANNEL = "perfaudit_probe"
DEEP_20K = "SELECT " + "+".join(["1"] * 20_000)
DEEP_60K = "SELECT " + "+".join(["1"] * 60_000)
HUGE_700KB = "SELECT 1 /* " + "x" * 700_000 + " */"


@dataclass(frozen=True)
class Probe:
    name: str
    sql: str  # {pid}: a bystander backend, {users}: the user table, {file}: a path to create
    refusal: str  # a regular expression the answer of every surface must match


PROBES = [
    Probe(
        "session keys via CAST",
        "SELECT CAST(string_agg(session_key, ',') AS int) FROM django_session",
        "django_session is a protected table",
    ),
    Probe("pg_read_file", "SELECT pg_read_file('/etc/passwd')", r"pg_read_file\(\) is VOLATILE"),
    Probe(
        "password hashes",
        "SELECT CAST(string_agg(password, ',') AS int) FROM {users}",
        "is a protected table",
    ),
    Probe(
        "token digests",
        "SELECT CAST(string_agg(digest, ',') AS int) FROM tasks_apitoken",
        "tasks_apitoken is a protected table",
    ),
    Probe("pg_terminate_backend", "SELECT pg_terminate_backend({pid})", "VOLATILE"),
    Probe(
        "replication slot",
        f"SELECT pg_create_physical_replication_slot('{SLOT}', true)",
        "VOLATILE",
    ),
    Probe("pg_stat_reset", "SELECT pg_stat_reset()", "VOLATILE"),
    Probe("pg_reload_conf", "SELECT pg_reload_conf()", "VOLATILE"),
    Probe("advisory lock", "SELECT pg_advisory_lock(4242)", "VOLATILE"),
    Probe("lo_import", "SELECT lo_import('/etc/passwd')", "VOLATILE"),
    Probe("set_config", "SELECT set_config('work_mem', '64kB', false)", "VOLATILE"),
    Probe("pg_cancel_backend", "SELECT pg_cancel_backend({pid})", "VOLATILE"),
    Probe("txid_current", "SELECT txid_current()", "outside the safe set"),
    Probe("pg_notify", f"SELECT pg_notify('{CHANNEL}', 'x')", "VOLATILE"),
    Probe("pg_switch_wal", "SELECT pg_switch_wal()", "VOLATILE"),
    Probe("pg_logical_emit_message", "SELECT pg_logical_emit_message(true, 'p', 'x')", "VOLATILE"),
    Probe(
        "COPY TO PROGRAM",
        "COPY (SELECT 1) TO PROGRAM 'touch {file}'",
        "COPY (cannot be explained here|is not profiled)",
    ),
    Probe("SELECT FOR UPDATE", "SELECT * FROM tasks_task FOR UPDATE", "takes row locks"),
    Probe(
        "WITH DELETE",
        "WITH d AS (DELETE FROM tasks_task RETURNING id) SELECT count(*) FROM d",
        "data-modifying WITH",
    ),
    Probe("20,000 terms", DEEP_20K, "nests too deeply"),
    Probe("60,000 terms", DEEP_60K, "characters long"),
    Probe("700 KB", HUGE_700KB, "characters long"),
    # The rest of an attacker's list: other spellings and other doors.
    Probe("qualified and quoted", 'SELECT * FROM public."django_session"', "protected table"),
    Probe("subquery", "SELECT (SELECT session_key FROM django_session LIMIT 1)", "protected table"),
    Probe(
        "table_to_xml",
        "SELECT table_to_xml('django_session', true, true, '')",
        "outside the safe set",
    ),
    Probe(
        "statistics samples",
        "SELECT most_common_vals::text FROM pg_stats WHERE tablename = 'django_session'",
        "system catalog",
    ),
    Probe("other sessions' queries", "SELECT query FROM pg_stat_activity", "system catalog"),
    Probe("nextval", "SELECT nextval('tasks_task_id_seq')", "VOLATILE"),
    Probe("pg_sleep", "SELECT 1 WHERE pg_sleep(30) IS NULL", "VOLATILE"),
    Probe("TABLESAMPLE", "SELECT * FROM tasks_task TABLESAMPLE SYSTEM (50)", "TABLESAMPLE"),
    Probe("set-returning", "SELECT * FROM pg_ls_dir('.')", "VOLATILE"),
    Probe(
        "EXPLAIN typed",
        "EXPLAIN (ANALYZE) SELECT pg_sleep(30)",
        "EXPLAIN (cannot be explained here|is not profiled)",
    ),
    Probe(
        "two statements",
        "SELECT 1; /* ; */ SELECT pg_advisory_lock(4242)",
        "one statement at a time",
    ),
    Probe(
        "DO block",
        "DO $$ BEGIN PERFORM pg_advisory_lock(4242); END $$",
        "DO (cannot be explained here|is not profiled)",
    ),
    Probe("CALL", "CALL p()", "CALL (cannot be explained here|is not profiled)"),
    Probe(
        "PREPARE",
        "PREPARE perfaudit_p AS SELECT 1",
        "PREPARE (cannot be explained here|is not profiled)",
    ),
    Probe("SET ROLE", "SET ROLE postgres", "SET (cannot be explained here|is not profiled)"),
    Probe(
        "current_setting",
        "SELECT 1 FROM tasks_task WHERE id = CAST(current_setting('data_directory') AS int)",
        "outside the safe set",
    ),
]


def execute(sql, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def fetch(sql, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@pytest.fixture
def attacker():
    """A staff user (not a superuser) with every perfaudit permission, ANALYZE allowed, and
    the secrets it is after: a superuser's session, password hash and API token."""
    users = get_user_model()
    boss = users.objects.create_user(
        username="boss", password=secrets.token_urlsafe(12), is_staff=True, is_superuser=True
    )
    boss_client = Client()
    boss_client.force_login(boss)
    boss.refresh_from_db()
    _token, token_secret = task_services.token_issue(user=boss)
    from tasks import tokens

    staff = users.objects.create_user(username="mallory", password="pw-mallory-1", is_staff=True)
    set_permissions(staff)
    client = Client()
    client.force_login(staff)
    Task.objects.create(owner=staff, title="a task")
    with open("/etc/passwd") as passwd:
        first_line = passwd.readline().strip()
    return {
        "client": client,
        "secrets": {
            "session key": boss_client.cookies["sessionid"].value,
            "password hash": boss.password,
            "token digest": tokens.digest_of(token_secret),
            "token": token_secret,
            "/etc/passwd": first_line,
        },
    }


@pytest.fixture
def analyze_on(settings):
    settings.PERFAUDIT = {**settings.PERFAUDIT, "ADMIN_EXPLAIN_ANALYZE": True}


def through_every_surface(client, sql) -> dict[str, tuple[int, str]]:
    """(status, text) per surface: HTTP status for the forms, exit code for the commands."""
    answers = {}
    for name, url, data in [
        ("EXPLAIN page", "admin:perfaudit_explain", {"sql": sql, "analyze": "on"}),
        ("Advisor form", "admin:perfaudit_advisor", {"sql": sql}),
    ]:
        response = client.post(reverse(url), data)
        answers[name] = (response.status_code, html.unescape(response.content.decode()))
    for name, args in [
        ("explain --analyze", ["explain", "--analyze", sql]),
        ("profilequery", ["profilequery", sql, "--iterations", "1"]),
        ("adviseindexes --sql", ["adviseindexes", "--sql", sql]),
    ]:
        out = StringIO()
        try:
            call_command(*args, stdout=out, stderr=out)
            answers[name] = (0, out.getvalue())
        except CommandError as exc:
            answers[name] = (exc.returncode, str(exc))
    return answers


def server_state(bystander) -> dict:
    """What a probe that got through would change, read from another session."""
    return {
        "bystander": bystander.execute("SELECT pg_backend_pid()").fetchone()[0],
        "slots": bystander.execute(
            "SELECT count(*) FROM pg_replication_slots WHERE slot_name = %s", [SLOT]
        ).fetchone()[0],
        "advisory locks": bystander.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242"
        ).fetchone()[0],
        "stats reset": bystander.execute(
            "SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()[0],
        "conf loaded": bystander.execute("SELECT pg_conf_load_time()").fetchone()[0],
        "large objects": bystander.execute(
            "SELECT count(*) FROM pg_largeobject_metadata"
        ).fetchone()[0],
        "sequence": bystander.execute(
            "SELECT last_value FROM pg_sequences WHERE sequencename = 'tasks_task_id_seq'"
        ).fetchone()[0],
        "tasks": bystander.execute("SELECT count(*) FROM tasks_task").fetchone()[0],
    }


def session_state() -> dict:
    """The web connection's session: nothing of a probe may stay on it (a pooled connection
    serves the next request, or another app's transaction behind PgBouncer)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_user = session_user, current_setting('work_mem'), "
            "current_setting('search_path'), current_setting('statement_timeout'), "
            "current_setting('lock_timeout'), current_setting('transaction_read_only'), "
            "(SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() "
            "  AND locktype = 'advisory'), "
            "(SELECT count(*) FROM pg_prepared_statements), "
            "(SELECT count(*) FROM pg_class WHERE relnamespace = pg_my_temp_schema()), "
            "(SELECT count(*) FROM pg_listening_channels())"
        )
        return dict(
            zip(
                (
                    "own user",
                    "work_mem",
                    "search_path",
                    "statement_timeout",
                    "lock_timeout",
                    "read only",
                    "advisory locks",
                    "prepared statements",
                    "temp tables",
                    "listening",
                ),
                cursor.fetchone(),
                strict=True,
            )
        )


@pytest.fixture
def bystander():
    with psycopg.connect(test_database_url(), autocommit=True) as conn:
        conn.execute(f"LISTEN {CHANNEL}")
        yield conn


WEB = {"EXPLAIN page", "Advisor form"}


def problems_of(answers, refusal: str, secret_values: dict) -> dict:
    """Each surface that did not refuse as expected (HTTP 400 / exit 2, the reason named), or
    that shows a secret: empty when all is well."""
    problems = {}
    for surface, (status, text) in answers.items():
        web = surface in WEB
        if status != (400 if web else 2) or not re.search(refusal, text):
            problems[surface] = (status, _form_error(text) if web else text[:300])
        leaks = [name for name, value in secret_values.items() if value and value in text]
        if leaks:
            problems[f"{surface} leaks"] = leaks
    return problems


def _form_error(page: str) -> str:
    found = re.search(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', page, re.S)
    return found.group(1)[:300] if found else page[:300]


@pytest.mark.parametrize("probe", PROBES, ids=lambda p: p.name)
def test_probe_is_refused_leaks_nothing_and_leaves_no_trace(
    attacker, analyze_on, bystander, probe, tmp_path
):
    target = tmp_path / "copied"
    sql = probe.sql.format(
        pid=bystander.info.backend_pid,
        users=get_user_model()._meta.db_table,
        file=target,
    )
    before, session_before = server_state(bystander), session_state()
    with CaptureQueriesContext(connection) as sent:
        answers = through_every_surface(attacker["client"], sql)
    assert problems_of(answers, probe.refusal, attacker["secrets"]) == {}
    # Refused before anything reached the server: no statement holds the probe.
    probe_core = sql[:60]
    assert not [q["sql"][:200] for q in sent.captured_queries if probe_core in q["sql"]]
    assert server_state(bystander) == before
    assert session_state() == session_before
    assert not target.exists()
    assert list(bystander.notifies(timeout=0.2, stop_after=1)) == []


def test_dblink_is_refused(attacker, analyze_on):
    if not fetch("SELECT 1 FROM pg_available_extensions WHERE name = 'dblink'"):
        pytest.skip("dblink is not available on this server")
    execute("CREATE EXTENSION IF NOT EXISTS dblink")
    gate.clear_cache()
    try:
        for sql in (
            "SELECT * FROM dblink('dbname=postgres', 'SELECT 1') AS t(a int)",
            "SELECT dblink_connect('x', 'dbname=postgres')",
        ):
            answers = through_every_surface(attacker["client"], sql)
            assert problems_of(answers, "VOLATILE", attacker["secrets"]) == {}
    finally:
        execute("DROP EXTENSION dblink")
        gate.clear_cache()


@pytest.fixture
def sql_role(settings):
    """A least-privileged role of its own (cluster-wide: dropped afterwards)."""
    name = f"perfaudit_probe_{secrets.token_hex(4)}"
    call_command("perfauditrole", "--role", name, stdout=StringIO())
    settings.PERFAUDIT = {**settings.PERFAUDIT, "SQL_ROLE": name}
    yield name
    execute(f'DROP OWNED BY "{name}"')
    execute(f'DROP ROLE "{name}"')


def test_accepted_statements_leave_the_connection_as_it_was(attacker, analyze_on, sql_role):
    """A statement the gate lets through, run by every surface as the role: the connection
    comes back with its own user, settings, no lock, prepared statement or temporary table."""
    before = session_state()
    sql = "SELECT t.owner_id, count(*) FROM tasks_task t WHERE t.title LIKE $1 GROUP BY 1"
    for surface, (status, text) in through_every_surface(attacker["client"], sql).items():
        if surface == "EXPLAIN page":  # $1 cannot be executed; the page says so in its words
            assert status == 400 and "this one has placeholders ($1, $2" in text, surface
        elif surface == "explain --analyze":
            assert status == 2 and "placeholders cannot be executed" in text, surface
        elif surface == "profilequery":
            assert status == 2, surface  # $1 without a value
        else:
            assert status in (200, 0), (surface, text[:300])
        assert session_state() == before, surface
    sql = "SELECT t.owner_id, count(*) FROM tasks_task t WHERE t.title LIKE 'a%' GROUP BY 1"
    for surface, (status, _text) in through_every_surface(attacker["client"], sql).items():
        assert status in (200, 0), surface
        assert session_state() == before, surface


def test_an_execution_error_shows_no_value(attacker, analyze_on):
    """The statement passes the gate and fails while running: PostgreSQL's message would quote
    the value it read; perfaudit shows the SQLSTATE instead."""
    marker = f"leak-marker-{secrets.token_hex(4)}"
    Task.objects.update(title=marker)
    sql = "SELECT CAST(title AS int) FROM tasks_task"
    for surface, (_status, text) in through_every_surface(attacker["client"], sql).items():
        if surface in {"EXPLAIN page", "explain --analyze", "profilequery"}:  # they execute
            assert marker not in text, surface
            assert "SQLSTATE 22P02 (invalid_text_representation)" in text, surface
        else:  # the Advisor only plans: nothing runs, nothing fails
            assert marker not in text, surface


# --- real servers ----------------------------------------------------------------------------


def _form_post(base, path, cookie, fields):
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        conn.request("GET", path, headers={"Cookie": cookie})
        page = conn.getresponse()
        body = page.read().decode()
        csrf_cookie = re.search(r"csrftoken=([^;]+)", page.getheader("Set-Cookie") or "")
        found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body)
        assert found, (page.status, page.getheaders(), body[:500])
        csrf = found.group(1)
        cookies = f"{cookie}; csrftoken={csrf_cookie.group(1)}" if csrf_cookie else cookie
        payload = urlencode({"csrfmiddlewaretoken": csrf, **fields}).encode()
        conn.request(
            "POST",
            path,
            body=payload,
            headers={"Cookie": cookies, "Content-Type": "application/x-www-form-urlencoded"},
        )
        reply = conn.getresponse()
        return reply.status, html.unescape(reply.read().decode())
    finally:
        conn.close()


@pytest.fixture(scope="module")
def collected_static():
    """The admin pages need the hashed static files' manifest under DEBUG off (as deployed)."""
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env={**os.environ, "DEBUG": "0", "DATABASE_URL": test_database_url()},
        check=True,
        timeout=300,
    )


@pytest.mark.parametrize("kind", ["sync", "asgi"])
def test_deep_and_huge_statements_through_a_real_worker(attacker, kind, collected_static):
    session = attacker["client"].cookies["sessionid"].value
    # The test process's SECRET_KEY: the session it logged in must decode in the server.
    env = app_env(
        test_database_url(),
        SECRET_KEY=os.environ["SECRET_KEY"],
        PERFAUDIT_ADMIN_EXPLAIN_ANALYZE="1",
    )
    app = "taskproject.wsgi:application" if kind == "sync" else "taskproject.asgi:application"
    with gunicorn(app, env=env, workers=1, kind=kind) as base:
        port = base.rsplit(":", 1)[1]
        results = {}
        for name, sql in (("20k", DEEP_20K), ("60k", DEEP_60K), ("700kb", HUGE_700KB)):
            for page, fields in (
                ("explain", {"sql": sql, "analyze": "on"}),
                ("advisor", {"sql": sql}),
            ):
                path = reverse(f"admin:perfaudit_{page}")
                status, text = _form_post(base, path, f"sessionid={session}", fields)
                refused = "nests too deeply" in text or "characters long" in text
                results[f"{name} {page}"] = (status, refused)
        health = http.client.HTTPConnection("127.0.0.1", int(port), timeout=10)
        health.request("GET", "/health/")
        assert health.getresponse().status == 200
    log = (ROOT / "var" / f"gunicorn-{port}.log").read_text()
    assert set(results.values()) == {(400, True)}, results
    for sign in ("SIGSEGV", "Worker (pid", "Traceback", "RecursionError"):
        assert sign not in log, log[-2000:]


DEPTH_PROBE = """
import os, sys, threading
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taskproject.settings")
import django
django.setup()
from django.test.utils import override_settings
from perfaudit import gate
override_settings(PERFAUDIT={"SQL_MAX_LENGTH": 10_000_000}).enable()
reasons = []
def probe():
    # Far beyond the limits, and just under the pre-parse bound (nested subqueries are the
    # heaviest shape for pglast's C stack: they crash a 512 KB thread at this depth).
    statements = ["SELECT " + "(SELECT " * 497 + "1" + ")" * 497]
    for n in (20_000, 60_000, 400_000):
        statements += ["SELECT " + "+".join(["1"] * n), "SELECT 1" + " IS NULL" * n,
                       "SELECT " + "(" * n + "1" + ")" * n]
    for sql in statements:
        try:
            gate.check_text(sql)
            reasons.append("passed")
        except gate.Refused as exc:
            reasons.append(exc.reason)
probe()
threading.stack_size(512 * 1024)  # a small thread stack, as some servers' threads have
thread = threading.Thread(target=probe)
thread.start()
thread.join()
print(sorted(set(reasons)), len(reasons))
"""


def test_deep_statements_never_reach_the_parser_even_without_the_length_limit():
    """In a subprocess (a SIGSEGV would only kill it): with the length limit out of the way,
    the pre-parse bound alone refuses what would crash pglast, and what passes it is parsed on
    the gate's own thread, so a 512 KB request thread survives too."""
    result = subprocess.run(
        [sys.executable, "-c", DEPTH_PROBE],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": test_database_url()},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, (result.returncode, result.stderr[-2000:])
    assert result.stdout.strip() == "['too_deep'] 20"


# --- the server log --------------------------------------------------------------------------


def _server_log() -> Path | None:
    """The log file of the server the suite uses, when this process can read it."""
    if not os.environ.get("DATABASE_URL"):
        return EmbeddedServer().log_file
    (data_dir,) = fetch("SELECT current_setting('data_directory')")[0]
    (current,) = fetch("SELECT pg_current_logfile()")[0]
    version = connection.pg_version // 10000
    for path in (
        Path(data_dir) / current if current else None,
        Path(f"/var/log/postgresql/postgresql-{version}-main.log"),  # Debian's clusters
    ):
        if path and os.access(path, os.R_OK):
            return path
    return None


def test_the_server_log_keeps_no_secret(attacker, analyze_on):
    log = _server_log()
    if log is None:
        pytest.skip("the server's log file is not readable from here")
    start = log.stat().st_size
    users = get_user_model()._meta.db_table
    for probe in PROBES:
        sql = probe.sql.format(pid=0, users=users, file="/nonexistent/perfaudit")
        through_every_surface(attacker["client"], sql)
    # One statement that does fail on the server, so the log has perfaudit's errors in it.
    through_every_surface(attacker["client"], "SELECT CAST(title AS int) FROM tasks_task")
    with open(log, errors="replace") as file:
        file.seek(start)
        written = file.read()
    assert "invalid input syntax for type integer" in written  # the log is the right one
    leaks = [name for name, value in attacker["secrets"].items() if value in written]
    assert leaks == []
    # Nor the deep and huge statements: they never reached the server.
    assert "1+1+1+1+1+1+1+1" not in written
    assert "x" * 1000 not in written
    if not os.environ.get("DATABASE_URL"):  # `make run`'s server: the settings it documents
        assert fetch("SELECT current_setting('log_parameter_max_length')") == [("64B",)]
