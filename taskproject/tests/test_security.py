"""Production security: `check --deploy` is clean with the documented production settings,
secrets come only from the environment, and the profiling/audit surfaces are staff-only."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

ROOT = Path(__file__).resolve().parents[2]

# What docs/operations.md tells a TLS deployment to set (behind a proxy that terminates TLS).
PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECURE_SSL_REDIRECT": "1",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_PRELOAD": "1",
    "SECURE_PROXY_SSL_HEADER": "1",
    "ALLOWED_HOSTS": "tasks.example.com",
    "SILK_ENABLED": "1",
}


def manage(*args, **env):
    base = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
    base.pop("TASKPROJECT_WEB", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_with_production_settings():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY=secrets.token_urlsafe(50),
        **PRODUCTION_ENV,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_defaults_leave_exactly_the_tls_decisions_open():
    # Without TLS settings the app serves plain HTTP (make run, benchmarks, a TLS proxy that
    # redirects itself): check --deploy names exactly the two decisions a deployment makes.
    result = manage("check", "--deploy", DEBUG="0", SECRET_KEY=secrets.token_urlsafe(50))
    found = set(re.findall(r"\((\w+\.[WE]\d+)\)", result.stdout + result.stderr))
    assert found == {"security.W004", "security.W008"}


@pytest.mark.parametrize(
    "key",
    [
        None,
        "too-short",
        "django-insecure-" + secrets.token_urlsafe(50),
        "a" * 60,
    ],
)
def test_debug_off_refuses_missing_or_weak_secret_keys(key):
    env = {"DEBUG": "0"} if key is None else {"DEBUG": "0", "SECRET_KEY": key}
    result = manage("check", **env)
    assert result.returncode != 0
    assert "SECRET_KEY:" in result.stderr


def test_the_dev_key_is_never_used_with_debug_off():
    # The built-in key exists for DEBUG=1 only; with DEBUG off it cannot be configured at all,
    # not even by passing it explicitly.
    from taskproject import settings as project_settings

    result = manage("check", DEBUG="0", SECRET_KEY=project_settings._DEV_SECRET_KEY)
    assert result.returncode != 0
    assert "SECRET_KEY:" in result.stderr


def test_no_other_secret_literals_in_settings():
    # Secrets come from the environment: the only literal key in settings is the DEBUG-only one.
    text = (ROOT / "taskproject" / "settings.py").read_text()
    literals = re.findall(r"""\w*(?:SECRET|PASSWORD|TOKEN)\w*\s*=\s*["'][^"']+["']""", text)
    assert literals == [
        '_DEV_SECRET_KEY = "django-insecure-dev-only-key-never-used-when-DEBUG-is-off-0123456789"'
    ]


# --- staff-only surfaces -------------------------------------------------------------------


def _urls_under(prefixes: tuple[str, ...]) -> list[str]:
    """Concrete paths (patterns without parameters) whose route starts with one of prefixes."""
    found = []

    def walk(patterns, prefix):
        for p in patterns:
            route = prefix + str(p.pattern)
            if isinstance(p, URLResolver):
                walk(p.url_patterns, route)
            elif isinstance(p, URLPattern) and not re.search(r"[<(\[]", route):
                path = "/" + route.lstrip("^").rstrip("$")
                if path.startswith(prefixes):
                    found.append(path)

    walk(get_resolver().url_patterns, "")
    return sorted(set(found))


def _perfaudit_urls() -> list[str]:
    """Every parameterless URL served by a perfaudit view (its admin pages, when installed)."""
    found = []

    def walk(patterns, prefix):
        for p in patterns:
            route = prefix + str(p.pattern)
            if isinstance(p, URLResolver):
                walk(p.url_patterns, route)
            elif (
                isinstance(p, URLPattern)
                and getattr(p.callback, "__module__", "").startswith("perfaudit")
                and not re.search(r"[<(\[]", route)
            ):
                found.append("/" + route.lstrip("^").rstrip("$"))

    walk(get_resolver().url_patterns, "")
    return sorted(set(found))


@pytest.mark.django_db
def test_silk_and_perfaudit_pages_are_staff_only(client, owner, staff_user):
    urls = _urls_under(("/silk/",)) + _perfaudit_urls()
    assert "/silk/" in urls
    for url in urls:
        anonymous = client.get(url)
        assert anonymous.status_code in (302, 403), url
        if anonymous.status_code == 302:
            assert "login" in anonymous["Location"], url
    client.force_login(owner)
    for url in urls:
        response = client.get(url)
        assert response.status_code in (302, 403), url
        if response.status_code == 302:
            assert "login" in response["Location"], url
    client.force_login(staff_user)
    assert client.get("/silk/").status_code == 200


def test_explain_has_no_http_endpoint_outside_the_admin():
    # EXPLAIN is reachable as a management command (shell access) and, when perfaudit's admin
    # pages are installed, under /admin/ (staff). Nothing else routes to perfaudit.
    assert all(url.startswith("/admin/") for url in _perfaudit_urls())
