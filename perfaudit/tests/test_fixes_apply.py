"""Every index fix perfaudit proposes, applied for real on a schema that is not ours.

A scratch app (written to a temporary directory: the test edits its models and migrations) with
what Django creates on its own and what teams plant by hand: a ForeignKey's implicit index made
redundant by a composite, a ``db_index=True`` field duplicated by a Meta index, a CharField with
its ``_like`` pattern index, a stray copy of a declared index (RunSQL), a ForeignKey without an
index, and a declared index lost from the database (drift). Then:

1. on the existing database: ``auditindexes --write-migration scratch``, the model changes the
   findings ask for, ``migrate``; the fixed findings are gone on re-audit;
2. a fresh database migrates from zero with the fix migration in place, and its audit has none of
   the fixed findings either;
3. ``makemigrations --check`` stays clean.

Each step is a subprocess (``python manage.py`` with the scratch settings), as a user runs it.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]

MODELS = """
from django.db import models


class Owner(models.Model):
    name = models.CharField(max_length=100)

    class Meta:
        indexes = [models.Index(fields=["name"], name="owner_name_idx")]


class Item(models.Model):
    owner = models.ForeignKey(Owner, on_delete=models.CASCADE)  # implicit index
    code = models.IntegerField(db_index=True)  # implicit index, duplicated below
    name = models.CharField(max_length=50, db_index=True)  # + its _like index
    created = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["owner", "created"], name="item_owner_created_idx"),
            models.Index(fields=["code"], name="item_code_idx"),
            models.Index(fields=["created"], name="item_created_idx"),
        ]


class Tag(models.Model):
    item = models.ForeignKey(Item, on_delete=models.CASCADE, db_index=False)  # no index
    label = models.CharField(max_length=20)

    class Meta:
        indexes = []  # perfaudit-test: tag indexes
"""

STRAY = """
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("scratch", "0001_initial")]
    operations = [
        migrations.RunSQL(
            "CREATE INDEX item_created_copy ON scratch_item (created);",
            "DROP INDEX item_created_copy;",
        )
    ]
"""

SETTINGS = """
SECRET_KEY = "scratch"
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.postgres",
    "perfaudit",
    "scratch",
]
DATABASES = {{"default": {db!r}}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
PERFAUDIT = {perfaudit!r}
"""
# A database minutes old, with no traffic: judge "unused" anyway, so that every fix kind is
# produced and applied (the verdicts' own evidence rules are tested elsewhere).
JUDGE_UNUSED = {"UNUSED_RECENT_RESET_DAYS": 0, "UNUSED_MIN_TABLE_SCANS": 0}

MANAGE = """
import sys
from django.core.management import execute_from_command_line
execute_from_command_line(sys.argv)
"""


def _conninfo():
    p = connection.settings_dict
    return {
        "dbname": "postgres",
        "user": p["USER"],
        "password": p["PASSWORD"] or None,
        "host": p["HOST"] or None,
        "port": p["PORT"] or None,
    }


@pytest.fixture
def databases():
    names = [f"{connection.settings_dict['NAME']}_fix_{secrets.token_hex(3)}_{x}" for x in "ab"]
    with psycopg.connect(**_conninfo(), autocommit=True) as admin:
        for name in names:
            admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield names
    finally:
        with psycopg.connect(**_conninfo(), autocommit=True) as admin:
            for name in names:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Project:
    """A scratch project on ``database``, on the test run's server or on ``server``
    (psycopg connection parameters: user, password, host, port)."""

    def __init__(
        self,
        root: Path,
        database: str,
        *,
        server: dict | None = None,
        perfaudit: dict | None = None,
    ):
        self.root = root
        self.name = database
        p = connection.settings_dict
        server = server or {
            "user": p["USER"],
            "password": p["PASSWORD"],
            "host": p["HOST"],
            "port": p["PORT"],
        }
        db = {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": database,
            "USER": server["user"],
            "PASSWORD": server["password"] or "",
            "HOST": server["host"] or "",
            "PORT": str(server["port"] or ""),
        }
        settings = SETTINGS.format(
            db=db, perfaudit=JUDGE_UNUSED if perfaudit is None else perfaudit
        )
        (root / f"settings_{database}.py").write_text(settings)
        self.env = {
            **{k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
            "DJANGO_SETTINGS_MODULE": f"settings_{database}",
            "PYTHONPATH": os.pathsep.join([str(root), str(ROOT)]),
        }

    def manage(self, *args, check=True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [sys.executable, str(self.root / "manage.py"), *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if check:
            assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
        return result

    def audit(self) -> list[dict]:
        document = json.loads(self.manage("auditindexes", "--format", "json").stdout)
        return [f for f in document["findings"] if (f["table"] or "").startswith("scratch_")]

    def sql(self, statement: str):
        database = self.env["DJANGO_SETTINGS_MODULE"].removeprefix("settings_")
        with psycopg.connect(**{**_conninfo(), "dbname": database}, autocommit=True) as conn:
            conn.execute(statement)


def actionable(findings):
    return {(f["kind"], f["object"]) for f in findings if f["severity"] != "info"}


def test_every_fix_applies_to_an_existing_and_a_fresh_database(tmp_path, databases):
    app = tmp_path / "scratch"
    (app / "migrations").mkdir(parents=True)
    (app / "__init__.py").write_text("")
    (app / "migrations" / "__init__.py").write_text("")
    (app / "models.py").write_text(MODELS)
    (tmp_path / "manage.py").write_text(MANAGE)
    existing, fresh = Project(tmp_path, databases[0]), Project(tmp_path, databases[1])

    existing.manage("makemigrations", "scratch")
    (app / "migrations" / "0002_stray.py").write_text(STRAY)
    existing.manage("migrate")
    existing.sql("DROP INDEX owner_name_idx")  # drift: declared, lost from the database

    before = existing.audit()
    found = {(f["kind"], f["object"]): f for f in before}
    kinds = {kind for kind, _ in actionable(before)}
    assert {"redundant", "duplicate", "unused", "missing_fk_index", "drift"} <= kinds, before
    # The stray copy is the one dropped, never the declared index.
    [dup] = [f for f in before if f["kind"] == "duplicate" and "created" in f["object"]]
    assert dup["object"] == "item_created_copy"
    assert found[("drift", "owner_name_idx")]["fix"]["migration"].startswith("migrations.RunSQL(")
    for f in before:
        if f["severity"] != "info":
            assert f["fix"]["app_label"] == "scratch" and f["fix"]["migration"], f
    # Names Django itself checks (models.E034: 30 characters at most).
    [missing] = [f for f in before if f["kind"] == "missing_fk_index"]
    name = missing["fix"]["sql"].split('"')[1]
    assert len(name) <= 30

    written = existing.manage("auditindexes", "--write-migration", "scratch", "--format", "json")
    assert "0003_perfaudit_fixes.py" in written.stderr
    # The one model change asked for: declare the new FK index on Tag.
    assert "model change needed: add models.Index(" in written.stderr
    index_text = missing["fix"]["model_change"].split("add ", 1)[1].split(" to ", 1)[0]
    models_py = (app / "models.py").read_text()
    (app / "models.py").write_text(
        models_py.replace(
            "indexes = []  # perfaudit-test: tag indexes", f"indexes = [{index_text}]"
        )
    )
    existing.manage("migrate")

    fixed = actionable(before)
    after = existing.audit()
    assert fixed.isdisjoint(actionable(after)), (fixed & actionable(after), after)

    fresh.manage("migrate")  # from zero, with 0001, the stray RunSQL and the fixes
    assert fixed.isdisjoint(actionable(fresh.audit()))

    check = existing.manage("makemigrations", "--check", "--dry-run", "scratch", check=False)
    assert check.returncode == 0, check.stdout + check.stderr
