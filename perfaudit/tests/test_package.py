"""The distribution, as a newcomer meets it: build the wheel, install it in a fresh virtualenv,
``django-admin startproject`` + one app with models of its own, the settings docs/perfaudit.md's
"Install" section lists, migrate on a fresh database of the test server, run the commands and
fetch the admin overview as staff.

Marked ``package``: it takes about a minute (a wheel build and a pip install from PyPI or the pip
cache). ``pytest -m "not package"`` leaves it out while iterating.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.package,
    pytest.mark.skipif(
        not (ROOT / "pyproject.toml").exists(), reason="needs the source tree (pyproject.toml)"
    ),
]

# The app of "another team": a foreign key without an index (db_index=False), which the index
# audit must find on a schema that is not ours, and an index declared in Meta.indexes.
SHOP_MODELS = """
from django.db import models


class Category(models.Model):
    name = models.CharField(max_length=100, unique=True)


class Product(models.Model):
    category = models.ForeignKey(Category, on_delete=models.CASCADE, db_index=False)
    name = models.CharField(max_length=200)
    price = models.DecimalField(max_digits=10, decimal_places=2)

    class Meta:
        indexes = [models.Index(fields=["name", "price"], name="product_name_price_idx")]
"""

# Exactly the settings docs/perfaudit.md's "Install" section tells a newcomer to add.
SETTINGS_TAIL = """
INSTALLED_APPS += ["shop", "perfaudit"]

DATABASES = {{
    "default": {{
        "ENGINE": "django.db.backends.postgresql",
        "NAME": {name!r},
        "USER": {user!r},
        "PASSWORD": {password!r},
        "HOST": {host!r},
        "PORT": {port!r},
    }}
}}
"""

# The admin overview, as a logged-in staff user, through Django's test client.
ADMIN_CHECK = """
from django.contrib.auth.models import User
from django.test import Client
from django.test.utils import setup_test_environment
from django.urls import reverse

setup_test_environment()  # 'testserver' in ALLOWED_HOSTS
staff = User.objects.create_user("staff", password="pw", is_staff=True, is_superuser=True)
client = Client()
client.force_login(staff)
url = reverse("admin:perfaudit_overview")
response = client.get(url)
print(url, response.status_code, "Performance overview" in response.content.decode())
anonymous = Client().get(url)
print(anonymous.status_code, anonymous.get("Location", ""))
"""


def pinned(name: str) -> str:
    """``name==version`` from requirements.txt, so the test installs what CI pins."""
    text = (ROOT / "requirements.txt").read_text()
    match = re.search(rf"^{re.escape(name)}(?:\[[^\]]*\])?==([^\s#]+)", text, re.M | re.I)
    assert match, f"{name} is not pinned in requirements.txt"
    return f"{name}=={match.group(1)}"


def run(args, *, cwd=None, env=None, timeout=600) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture
def fresh_database():
    """A database of its own on the test server, dropped afterwards."""
    params = connection.settings_dict
    name = f"perfaudit_pkg_{secrets.token_hex(4)}"
    conninfo = {
        "dbname": "postgres",
        "user": params["USER"],
        "password": params["PASSWORD"] or None,
        "host": params["HOST"] or None,
        "port": params["PORT"] or None,
    }
    with psycopg.connect(**conninfo, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield {
            "name": name,
            "user": params["USER"],
            "password": params["PASSWORD"] or "",
            "host": params["HOST"] or "",
            "port": str(params["PORT"] or ""),
        }
    finally:
        with psycopg.connect(**conninfo, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_wheel_installs_and_works_in_a_new_project(tmp_path, fresh_database):
    # Only what a new virtualenv has: no PYTHONPATH to this checkout, no project settings.
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "DATABASE_URL"}}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    dist = tmp_path / "dist"
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", dist, ROOT], env=env)
    (wheel,) = dist.glob("django_perfaudit-*.whl")
    names = subprocess.run(
        [sys.executable, "-m", "zipfile", "-l", wheel], capture_output=True, text=True, check=True
    ).stdout
    assert "perfaudit/templates/admin/perfaudit/overview.html" in names
    assert "perfaudit/migrations/0001_dashboard.py" in names
    for foreign in ("tasks/", "taskproject/", "benchmarks/", "perfaudit/tests/"):
        assert foreign not in names

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", venv])
    py, bin_dir = venv / "bin" / "python", venv / "bin"
    # The wheel brings Django, psycopg and pglast; psycopg[binary] is the libpq the Install
    # section suggests for machines without one. Versions pinned as in requirements.txt.
    binary = f"psycopg[binary]=={pinned('psycopg').split('==')[1]}"
    run(
        [py, "-m", "pip", "install", "-q", wheel, binary, pinned("Django"), pinned("pglast")],
        env=env,
    )
    installed = run([py, "-m", "pip", "list", "--format", "json"], env=env).stdout
    packages = {p["name"].lower() for p in json.loads(installed)}
    assert {"django", "psycopg", "pglast", "django-perfaudit"} <= packages
    assert not packages & {"pytest", "djangorestframework", "django-silk", "gunicorn"}

    site = tmp_path / "newsite"
    site.mkdir()
    run([bin_dir / "django-admin", "startproject", "newsite", site], env=env)
    run([py, "manage.py", "startapp", "shop"], cwd=site, env=env)
    (site / "shop" / "models.py").write_text(SHOP_MODELS)
    settings = site / "newsite" / "settings.py"
    settings.write_text(settings.read_text() + SETTINGS_TAIL.format(**fresh_database))

    manage = [py, "manage.py"]
    run([*manage, "makemigrations", "shop"], cwd=site, env=env)
    run([*manage, "migrate", "--noinput"], cwd=site, env=env)

    def command(*args):
        return json.loads(run([*manage, *args, "--format", "json"], cwd=site, env=env).stdout)

    audit = command("auditindexes")
    tables = {entry["table"] for entry in audit["tables"]}
    assert {"shop_product", "shop_category", "auth_user"} <= tables
    missing = [f for f in audit["findings"] if f["kind"] == "missing_fk_index"]
    assert [(f["table"], f["severity"]) for f in missing] == [("shop_product", "warning")]
    assert (
        "state_operations=[AddIndexConcurrently(model_name='product'"
        in missing[0]["fix"]["migration"]
    )
    assert not [f for f in audit["findings"] if f["kind"] == "drift"]  # Meta.indexes migrated

    stats = command("tablestats", "--table", "shop_product")
    assert [t["table"] for t in stats["tables"]] == ["shop_product"]
    plan = command("explain", "SELECT * FROM shop_product WHERE category_id = 1")
    assert plan["plans"][0]["plan"]["Plan"]["Relation Name"] == "shop_product"
    slow = command("slowqueries")
    assert "pg_stat_statements" in slow
    conns = command("dbconnections")
    assert conns["setup"]["alias"] == "default"

    output = run([*manage, "shell", "-c", ADMIN_CHECK], cwd=site, env=env).stdout.splitlines()
    assert output[-2].split()[1:] == ["200", "True"], output
    status, location = [*output[-1].split(), ""][:2]
    assert status == "302" and "/admin/login/" in location, output
