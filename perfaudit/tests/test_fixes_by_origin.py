"""Every kind of index finding x every origin, fixed by ``auditindexes --write-migration`` on
PostgreSQL 18 (the embedded server) and 15 (the machine's), as issue 26 asks.

A scratch app whose history renames a model and a foreign key (Django keeps the old index
names), declares a unique constraint with a 64-character name (PostgreSQL keeps 63), creates a
copy of Django's own index in a migration's RunSQL; then, by hand on the database: a failed
unique build on an undeclared index over duplicate data, Django's foreign-key index dropped, a
declared index dropped, a stray index, and an exact duplicate of a unique constraint's index.

The fix migration is applied to that database, and a second database migrates from zero with
it. Both then audit with no warning or error, hold the same indexes (but the stray one, which
is info only), take the app's own inserts (rows with duplicate values in every column a fix
could have wrongly made unique), and ``makemigrations --check`` stays clean.
"""

from __future__ import annotations

import json

import psycopg
import pytest

from .test_fixes_apply import MANAGE, Project

LONG_NAME = "scratch_item_sku_created_unique_together_with_a_name_of_64_chars"
assert len(LONG_NAME) == 64

OLD_MODELS = """
from django.db import models


class Owner(models.Model):
    name = models.CharField(max_length=100)

    class Meta:
        indexes = [models.Index(fields=["name"], name="owner_name_idx")]


class Folder(models.Model):
    owner = models.ForeignKey(Owner, on_delete=models.CASCADE)
    title = models.CharField(max_length=50, db_index=True)


class Item(models.Model):
    folder = models.ForeignKey(Folder, on_delete=models.CASCADE)
    owner = models.ForeignKey(Owner, on_delete=models.CASCADE)
    code = models.IntegerField(db_index=True)
    tags = models.CharField(max_length=20, default="")
    sku = models.CharField(max_length=30, unique=True)
    created = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sku", "created"], name="LONG_NAME"),
        ]
""".replace("LONG_NAME", LONG_NAME)

# The same app after RenameModel(Folder -> Project) and RenameField(Item.folder -> project).
MODELS = OLD_MODELS.replace("class Folder(", "class Project(").replace(
    "folder = models.ForeignKey(Folder,", "project = models.ForeignKey(Project,"
)

RENAMES = """
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("scratch", "0001_initial")]
    operations = [
        migrations.RenameModel("Folder", "Project"),
        migrations.RenameField("item", "folder", "project"),
    ]
"""

RUNSQL_COPY = """
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("scratch", "0002_renames")]
    operations = [
        migrations.RunSQL(
            "CREATE INDEX item_code_copy ON scratch_item (code);",
            "DROP INDEX item_code_copy;",
        )
    ]
"""

# The app's own writes: duplicates in every column (tags, code, created, owner, project) a fix
# could wrongly have made unique; sku is unique by declaration.
INSERTS = """
import datetime as dt
from scratch.models import Item, Owner, Project
now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
owner = Owner.objects.create(name="same")
Owner.objects.create(name="same")
project = Project.objects.create(owner=owner, title="same")
Project.objects.create(owner=owner, title="same")
for n in range(3):
    Item.objects.create(
        project=project, owner=owner, code=100 + n, tags="", sku=f"new-{n}", created=now
    )
print("inserted", Item.objects.filter(tags="").count())
"""


class Scratch(Project):
    def __init__(self, root, database, params):
        self.params = params
        super().__init__(root, database, server=params, perfaudit={})

    def run(self, *statements):
        with psycopg.connect(**self.params, dbname=self.name, autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)

    def rows(self, query):
        with psycopg.connect(**self.params, dbname=self.name, autocommit=True) as conn:
            return conn.execute(query).fetchall()

    def indexes(self) -> dict[str, str]:
        return dict(
            self.rows(
                "SELECT indexname, indexdef FROM pg_indexes "
                "WHERE tablename LIKE 'scratch%' ORDER BY 1"
            )
        )

    def findings(self) -> list[dict]:
        document = json.loads(self.manage("auditindexes", "--format", "json").stdout)
        return [f for f in document["findings"] if (f["table"] or "").startswith("scratch_")]


def scratch_app(tmp_path):
    app = tmp_path / "scratch"
    (app / "migrations").mkdir(parents=True)
    (app / "__init__.py").write_text("")
    (app / "migrations" / "__init__.py").write_text("")
    (app / "models.py").write_text(OLD_MODELS)
    (tmp_path / "manage.py").write_text(MANAGE)
    return app


def plant(db: Scratch):
    """What teams do by hand, on the migrated database."""
    db.run(
        "INSERT INTO scratch_owner (name) VALUES ('ann')",
        "INSERT INTO scratch_project (owner_id, title) SELECT id, 'p' FROM scratch_owner",
        "INSERT INTO scratch_item (project_id, owner_id, code, tags, sku, created) "
        "SELECT p.id, p.owner_id, n, '', 'sku-' || n, now() FROM scratch_project p, "
        "generate_series(1, 40) n",
        "DROP INDEX owner_name_idx",  # a declared index lost
        f"DROP INDEX {_django_fk_index(db)}",  # Django's own foreign-key index lost
        f"DROP INDEX {_renamed_like_index(db)}",  # Django's _like index of the renamed model
        "CREATE INDEX item_created_by_hand ON scratch_item (created)",  # a stray
        "CREATE UNIQUE INDEX item_sku_dup ON scratch_item (sku)",  # = the unique constraint's
    )
    with pytest.raises(psycopg.errors.UniqueViolation):  # every row has tags = ''
        db.run("CREATE UNIQUE INDEX CONCURRENTLY item_tags_uniq ON scratch_item (tags)")


def _renamed_like_index(db: Scratch) -> str:
    [(name,)] = db.rows(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'scratch_project' "
        "AND indexname LIKE 'scratch_folder_title_%_like'"
    )
    return name


def _django_fk_index(db: Scratch) -> str:
    [(name,)] = db.rows(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'scratch_item' "
        "AND indexdef LIKE '%(owner_id)'"
    )
    return name


def test_every_kind_and_origin_fixes_to_the_same_finding_free_state(tmp_path, server):
    params, version, (existing_db, fresh_db) = server
    app = scratch_app(tmp_path)
    existing = Scratch(tmp_path, existing_db, params)
    fresh = Scratch(tmp_path, fresh_db, params)
    existing.manage("makemigrations", "scratch")
    (app / "models.py").write_text(MODELS)
    (app / "migrations" / "0002_renames.py").write_text(RENAMES)
    (app / "migrations" / "0003_runsql_copy.py").write_text(RUNSQL_COPY)
    existing.manage("migrate")
    # Django kept the names it gave at creation: scratch_folder_* on scratch_project, and
    # scratch_item_folder_id_* for Item.project.
    old_names = [n for n in existing.indexes() if "folder" in n and not n.endswith("_pkey")]
    assert len(old_names) == 4, existing.indexes()
    fk_index, like_index = _django_fk_index(existing), _renamed_like_index(existing)
    plant(existing)

    before = {(f["kind"], f["object"]): f for f in existing.findings()}
    acted = {k: f for k, f in before.items() if f["severity"] != "info"}
    assert set(acted) == {
        ("invalid", "item_tags_uniq"),
        ("drift", "owner_name_idx"),
        ("missing_fk_index", _fk_constraint(existing)),
        ("duplicate", "item_code_copy"),
        ("duplicate", "item_sku_dup"),
        ("drift", like_index),  # restored under its old name, the one a fresh install gives
    }, before
    # Django's own indexes under old names are Django's, not strays; the long constraint is
    # there under its first 63 characters.
    still_there = set(old_names) - {like_index}
    assert not [k for k in before if k[1] in still_there and k[0] == "drift"], before
    assert not [k for k in before if LONG_NAME[:63] in (k[1] or "")], before
    invalid = acted[("invalid", "item_tags_uniq")]
    assert invalid["fix"]["sql"] == 'DROP INDEX CONCURRENTLY IF EXISTS "item_tags_uniq";'
    assert invalid["fix"]["app_label"] == "scratch"
    assert invalid["fix"]["migration"] == (
        "migrations.RunSQL(  # a failed build of an index nothing declares (made by hand): "
        "drop it; a fresh install never has it\n"
        "    sql='DROP INDEX CONCURRENTLY IF EXISTS \"item_tags_uniq\";',\n"
        "    reverse_sql=migrations.RunSQL.noop,\n)"
    )
    restore = acted[("missing_fk_index", _fk_constraint(existing))]["fix"]
    assert restore["sql"] == (
        f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{fk_index}" ON "scratch_item" ("owner_id");'
    )
    assert restore["model_change"] is None  # Django's own index: no Meta.indexes entry

    written = existing.manage("auditindexes", "--write-migration", "scratch", "--format", "json")
    assert "0004_perfaudit_fixes.py" in written.stderr, written.stderr
    assert "not written" not in written.stderr, written.stderr
    text = (app / "migrations" / "0004_perfaudit_fixes.py").read_text()
    assert "atomic = False" in text and "IF NOT EXISTS" in text
    existing.manage("migrate")
    fresh.manage("migrate")  # from zero: 0001, the renames, the RunSQL copy, the fixes

    for db in (existing, fresh):
        assert [f for f in db.findings() if f["severity"] != "info"] == [], db.name
        inserted = db.manage("shell", "-c", INSERTS)
        assert "inserted" in inserted.stdout, inserted.stdout + inserted.stderr
    planted_stray = {"item_created_by_hand"}
    assert {k: v for k, v in existing.indexes().items() if k not in planted_stray} == (
        fresh.indexes()
    )
    check = existing.manage("makemigrations", "--check", "--dry-run", "scratch", check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    assert version >= 150000


def _fk_constraint(db: Scratch) -> str:
    [(name,)] = db.rows(
        "SELECT conname FROM pg_constraint WHERE conrelid = 'scratch_item'::regclass "
        "AND contype = 'f' AND pg_get_constraintdef(oid) LIKE '%(owner_id)%'"
    )
    return name
