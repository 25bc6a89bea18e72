"""The install check: the distribution as a newcomer meets it, on the Django x Python this runs
on (``make test``: the demo's; ``make test-matrix``: every supported pair, see noxfile.py).

The wheel is installed WITH its dependencies into a fresh virtualenv by docs/perfaudit.md's
"Install" line, verbatim; ``django-admin startproject`` (INSTALLED_APPS as a list, and as a tuple)
plus an app with models of its own and the Install section's settings block, verbatim;
``migrate`` on a fresh database of the test server; every perfaudit command with
``--format json``; every perfaudit admin page as a staff user with the documented access; and
the system checks: nothing from perfaudit on ``migrate`` or ``shell``, W001 from
``check --deploy``.

Marked ``package``: about a minute (pip installs from PyPI or the pip cache).
``pytest -m "not package"`` leaves it out while iterating.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from .install_scripts import ADMIN_CHECK, SHOP_MODELS
from .test_package import (  # noqa: F401
    COMMANDS,
    HISTORY_COMMANDS,
    SETUP_COMMANDS,
    built_wheel,
    install_section,
    pytestmark,
    run,
)


def check_deploy(site: Path, manage: list, env: dict) -> str:
    """``manage.py check --deploy``'s report. Its exit status is Django's business: a fresh
    startproject fails some deployment checks of its own (DEBUG, SECRET_KEY; on Django 6.1 the
    console email backend is an error, mail.E001)."""
    result = run([*manage, "check", "--deploy"], cwd=site, env=env, check=False)
    assert "System check identified" in result.stderr, result.stderr
    return result.stderr


def admin_connect(db: dict, dbname: str = "postgres"):
    return psycopg.connect(
        dbname=dbname,
        user=db["user"],
        password=db["password"] or None,
        host=db["host"] or None,
        port=db["port"] or None,
        autocommit=True,
    )


@pytest.fixture
def databases():
    """Fresh databases on the test server, dropped afterwards."""
    params, made = connection.settings_dict, []

    def make():
        db = {"name": f"perfaudit_pkg_{secrets.token_hex(4)}", "user": params["USER"]}
        db |= {"password": params["PASSWORD"] or "", "host": params["HOST"] or ""}
        db["port"] = str(params["PORT"] or "")
        with admin_connect(db) as admin:
            admin.execute(f'CREATE DATABASE "{db["name"]}"')
        made.append(db)
        return db

    yield make
    for db in made:
        with admin_connect(db) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{db["name"]}" WITH (FORCE)')


def constraints(tmp_path: Path) -> Path:
    """Pins for the new virtualenv: the versions this environment runs (the matrix cell's
    Django, psycopg and pglast), so pip resolves the wheel's dependency ranges onto them."""
    pins = []
    for name in ("Django", "psycopg", "psycopg-binary", "pglast", "asgiref", "sqlparse"):
        try:
            pins.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    path = tmp_path / "constraints.txt"
    path.write_text("\n".join(pins) + "\n")
    return path


def new_project(tmp_path, *, venv, env, name, apps_type, db) -> Path:
    """startproject + startapp shop, INSTALLED_APPS as ``apps_type``, then the Install section's
    settings block verbatim (its "..." placeholders filled with this database)."""
    site = tmp_path / name
    site.mkdir()
    run([venv / "bin" / "django-admin", "startproject", name, site], env=env)
    run([venv / "bin" / "python", "manage.py", "startapp", "shop"], cwd=site, env=env)
    (site / "shop" / "models.py").write_text(SHOP_MODELS)
    settings = site / name / "settings.py"
    text = settings.read_text()
    opening, closing = {"list": "[]", "tuple": "()"}[apps_type]
    text, count = re.subn(
        r"^INSTALLED_APPS = \[\n(.*?)^\]",
        lambda m: f'INSTALLED_APPS = {opening}\n{m.group(1)}    "shop",\n{closing}',
        text,
        flags=re.M | re.S,
    )
    assert count == 1, "startproject's INSTALLED_APPS changed shape"
    _, block = install_section()
    values = {"NAME": db["name"], "USER": db["user"], "PASSWORD": db["password"]}
    values |= {"HOST": db["host"], "PORT": db["port"]}
    block = re.sub(r'"(\w+)": "\.\.\."', lambda m: f'"{m[1]}": {values[m[1]]!r}', block)
    assert "..." not in block
    settings.write_text(text + "\n" + block)
    return site


def perfaudit_checks(output: str | subprocess.CompletedProcess) -> list[str]:
    """The perfaudit system check ids in a command's output."""
    if isinstance(output, subprocess.CompletedProcess):
        output = output.stdout + output.stderr
    return re.findall(r"\bperfaudit\.[A-Z]\d{3}\b", output)


def test_wheel_installs_with_its_dependencies_and_works_in_new_projects(tmp_path, wheel, databases):
    # Only what a new virtualenv has: no PYTHONPATH to this checkout, no project settings.
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONPATH", "DATABASE_URL", "DJANGO_SETTINGS_MODULE", "PERFAUDIT_WHEEL"}
    }
    env["PIP_CONSTRAINT"] = str(constraints(tmp_path))
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", venv])
    py = venv / "bin" / "python"

    # The Install section's first line, verbatim, with this wheel for the package name.
    pip_lines, _ = install_section()
    args = [str(wheel) if a == "django-perfaudit" else a for a in pip_lines[0]]
    assert str(wheel) in args, pip_lines
    run([py, "-m", "pip", "install", "-q", *args], env=env)
    installed = run([py, "-m", "pip", "list", "--format", "json"], env=env).stdout
    packages = {p["name"].lower(): p["version"] for p in json.loads(installed)}
    assert packages["django"] == metadata.version("Django")  # this cell's Django
    assert {"psycopg", "pglast", "django-perfaudit"} <= set(packages)
    assert not set(packages) & {"pytest", "djangorestframework", "django-silk", "gunicorn"}
    run([py, "-m", "pip", "check"], env=env)

    # INSTALLED_APPS as a list: everything. As a tuple: the settings load, migrate, the pages.
    for apps_type in ("list", "tuple"):
        db = databases()
        site = new_project(
            tmp_path, venv=venv, env=env, name=f"site_{apps_type}", apps_type=apps_type, db=db
        )
        manage = [py, "manage.py"]
        run([*manage, "makemigrations", "shop"], cwd=site, env=env)
        # The checks speak when it matters: nothing from perfaudit on migrate (first, on the
        # empty database, and again with nothing to apply) or shell; W001 from check --deploy.
        for _ in range(2):
            migrated = run([*manage, "migrate", "--noinput"], cwd=site, env=env)
            assert perfaudit_checks(migrated) == [], migrated.stderr
        shell = run([*manage, "shell", "-c", "print(1)"], cwd=site, env=env)
        assert perfaudit_checks(shell) == []
        deploy = check_deploy(site, manage, env)
        assert perfaudit_checks(deploy) == ["perfaudit.W001"], deploy
        assert "pg_stat_statements" in deploy
        check_pages(run([*manage, "shell", "-c", ADMIN_CHECK], cwd=site, env=env).stdout)
        if apps_type == "list":
            documents = check_commands(site, manage, env)
            check_statements_hint(site, manage, env, db, documents["slowqueries"])


def check_pages(output: str) -> None:
    pages = json.loads(output.splitlines()[-1])
    assert "perfaudit_overview" in pages and len(pages) >= 7, pages.keys()
    for name, page in pages.items():
        assert page["staff"] == 200, (name, page["url"], page["staff"])
        assert page["plain"] == 302, (name, page["plain"])
        assert "/admin/login/" in page["anonymous"], (name, page["anonymous"])
    assert "Performance overview" in pages["perfaudit_overview"]["text"]
    # The extension is not created in a new project's database: the page says so, one line.
    assert "pg_stat_statements is not collecting" in pages["perfaudit_queries"]["text"]


def check_commands(site: Path, manage: list, env: dict) -> dict:
    def command(name, *args):
        result = run([*manage, name, *args, "--format", "json"], cwd=site, env=env)
        return json.loads(result.stdout)

    documents = {name: command(name, *args) for name, args in COMMANDS.items()}
    for name, args in SETUP_COMMANDS.items():
        printed = run([*manage, name, *args], cwd=site, env=env).stdout
        assert "GRANT SELECT ON" in printed, (name, printed)
    audit = documents["auditindexes"]
    tables = {entry["table"] for entry in audit["tables"]}
    assert {"shop_product", "shop_category", "auth_user"} <= tables
    missing = [f for f in audit["findings"] if f["kind"] == "missing_fk_index"]
    assert [(f["table"], f["severity"]) for f in missing] == [("shop_product", "warning")]
    assert (
        "state_operations=[AddIndexConcurrently(model_name='product'"
        in missing[0]["fix"]["migration"]
    )
    assert not [f for f in audit["findings"] if f["kind"] == "drift"]  # Meta.indexes migrated
    assert [t["table"] for t in documents["tablestats"]["tables"]] == ["shop_product"]
    plan = documents["explain"]["plans"][0]["plan"]["Plan"]
    assert plan["Relation Name"] == "shop_product"
    assert "pg_stat_statements" in documents["slowqueries"]
    assert documents["dbconnections"]["setup"]["alias"] == "default"
    for name, document in documents.items():
        assert isinstance(document.get("findings"), list), name
    # History on a project that is not ours: two captures (sizes of its tables; no
    # pg_stat_statements in a new database), then the changes document.
    first, second = (command("capturestats", *HISTORY_COMMANDS["capturestats"]) for _ in "ab")
    assert (first["first"], second["first"], first["relations"] > 0) == (True, False, True)
    changes = command("perfchanges", *HISTORY_COMMANDS["perfchanges"])
    assert isinstance(changes["changes"], list) and changes["after"]["captures"] == 2
    return documents


def check_statements_hint(site: Path, manage: list, env: dict, db: dict, slow: dict) -> None:
    """Where pg_stat_statements does not collect, perfaudit's own command says how to enable it
    (one finding); where the server preloads it, creating the extension silences W001."""
    with admin_connect(db, db["name"]) as conn:
        preloaded = conn.execute(
            "SELECT 'pg_stat_statements' = ANY(string_to_array(replace("
            "current_setting('shared_preload_libraries'), ' ', ''), ','))"
        ).fetchone()[0]
    (hint,) = [f for f in slow["findings"] if f["kind"] == "pg_stat_statements_missing"]
    assert "pg_stat_statements" in hint["message"]
    if not preloaded:
        assert "shared_preload_libraries" in hint["message"]
        return
    assert "CREATE EXTENSION" in hint["message"]
    with admin_connect(db, db["name"]) as conn:
        conn.execute("CREATE EXTENSION pg_stat_statements")
    assert perfaudit_checks(check_deploy(site, manage, env)) == []
    slow = json.loads(run([*manage, "slowqueries", "--format", "json"], cwd=site, env=env).stdout)
    assert not [f for f in slow["findings"] if f["kind"] == "pg_stat_statements_missing"]
