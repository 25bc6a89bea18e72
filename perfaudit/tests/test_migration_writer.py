"""The one migration writer and the SQL it writes: structured operations in, Django's own
operation objects out, printed as every report shows them and written by MigrationWriter."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.postgres import operations as pg
from django.db import connection, migrations, models

from perfaudit import ddl, migration_writer
from perfaudit.errors import ServiceError
from perfaudit.operations import (
    ADD_INDEX,
    REMOVE_INDEX,
    RUN_SQL,
    VALIDATE_CONSTRAINT,
    DjangoIndex,
    FixOperation,
    IndexCondition,
    IndexKey,
)
from perfaudit.rules.advisor.facts import Candidate, Key, Predicate
from perfaudit.rules.advisor.naming import django_index, index_name
from perfaudit.snapshots.advisor import ModelFields
from perfaudit.snapshots.declared import ModelRef

NS = {"migrations": migrations, "models": models, **vars(pg)}


def test_quote_ident_doubles_embedded_quotes():
    assert ddl.ident('we"ird') == '"we""ird"'


def test_sql_is_quoted_by_psycopg_and_rerunnable():
    assert ddl.table("public", "t") == '"t"' and ddl.table("s", "t") == '"s"."t"'
    assert ddl.literal("it's") == "'it''s'" and ddl.literal(None) == "NULL"
    assert ddl.literal("a\\b") == "E'a\\\\b'"  # any server reads it alike
    assert ddl.drop_index("i") == 'DROP INDEX CONCURRENTLY IF EXISTS "i";'
    assert ddl.drop_index("i", concurrently=False, if_exists=False) == 'DROP INDEX "i";'
    assert ddl.create_index("i", '"t"', ['"a"'], if_not_exists=True) == (
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS "i" ON "t" ("a");'
    )
    assert ddl.recreate_index("CREATE UNIQUE INDEX u ON public.t USING btree (a)") == (
        "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS u ON public.t USING btree (a);"
    )
    guarded = ddl.create_if_missing('ALTER TABLE "t" ADD CONSTRAINT "c" CHECK (a > 0);', "c's")
    assert guarded.startswith("DO $perfaudit$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_constraint")
    assert "conname = 'c''s'" in guarded


def test_each_kind_prints_as_the_django_operation():
    remove = FixOperation(REMOVE_INDEX, "app", "thing", "t", "t_owner")
    assert migration_writer.expression([remove]) == (
        "RemoveIndexConcurrently(model_name='thing', name='t_owner')"
    )
    add = FixOperation(
        ADD_INDEX, "app", "thing", "t", "t_i", index=DjangoIndex("t_i", fields=("-created",))
    )
    assert migration_writer.expression([add]) == (
        "AddIndexConcurrently(model_name='thing', "
        "index=models.Index(fields=['-created'], name='t_i'))"
    )
    blocking = FixOperation(ADD_INDEX, "app", "thing", "t", "t_i", False, index=add.index)
    assert migration_writer.expression([blocking]).startswith("migrations.AddIndex(")
    validate = FixOperation(VALIDATE_CONSTRAINT, "shop", "item", "shop_item", "qty_positive")
    assert isinstance(eval(migration_writer.expression([validate]), NS), pg.ValidateConstraint)  # noqa: S307


def test_run_sql_prints_its_reason_and_evaluates():
    op = FixOperation(
        RUN_SQL,
        "app",
        "thing",
        "t",
        "i",
        sql=("DROP INDEX a;", "CREATE INDEX a ON t (x);"),
        reason="why not",
    )
    text = migration_writer.expression([op])
    assert text.startswith("migrations.RunSQL(  # why not\n")
    operation = eval(text, NS)  # noqa: S307 - our own generated code
    assert operation.sql == list(op.sql) and operation.reverse_sql == migrations.RunSQL.noop
    both = eval(migration_writer.expression([op, op]), NS)  # noqa: S307
    assert [type(o) for o in both] == [migrations.RunSQL, migrations.RunSQL]


def test_expression_keys_and_conditions_become_django_expressions():
    index = DjangoIndex(
        "t_title_gin",
        method="gin",
        keys=(IndexKey("title", "upper", opclass="gin_trgm_ops"),),
        condition=(IndexCondition("done", False), IndexCondition("due", False, isnull=True)),
    )
    built = migration_writer.django_index(index)
    assert type(built).__name__ == "GinIndex" and built.name == "t_title_gin"
    text = migration_writer.describe(
        FixOperation(ADD_INDEX, "app", "thing", "t", index.name, index=index), model="Thing"
    )
    assert "OpClass(" in text["meta_index"] and "Upper(" in text["meta_index"]
    assert text["model"] == "Thing" and text["atomic"] is False
    assert "from django.contrib.postgres.operations import AddIndexConcurrently" in text["imports"]


def _thing():
    user = apps.get_model("auth", "user")
    fields = {f.column: f.name for f in user._meta.concrete_fields}
    return user, ModelFields(ModelRef("auth", "user", "User"), fields)


def test_advisor_names_indexes_as_django_does():
    user, model = _thing()
    cand = Candidate("auth_user", (Key("date_joined", descending=True), Key("id")))
    index = models.Index(fields=["-date_joined", "id"], name="x")
    index.set_name_with_model(user)
    assert index_name(cand, model) == index.name
    partial = Candidate("auth_user", (Key("email"),), where=(Predicate("is_active", "=", True),))
    assert django_index(partial, model, "n").condition == (IndexCondition("is_active", True),)
    # A column no model field maps: Django cannot declare it, a RunSQL creates it.
    assert django_index(Candidate("auth_user", (Key("nope"),)), model, "n") is None


@pytest.fixture
def scratch_migrations(tmp_path, settings, monkeypatch):
    """perfaudit's own migrations, copied where the writer may add files."""
    source = Path(apps.get_app_config("perfaudit").path) / "migrations"
    shutil.copytree(
        source, tmp_path / "pa_writer_migrations", ignore=shutil.ignore_patterns("__pycache__")
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    settings.MIGRATION_MODULES = {"perfaudit": "pa_writer_migrations"}
    return tmp_path / "pa_writer_migrations"


@pytest.mark.django_db
def test_the_written_migration_is_non_atomic_on_the_current_leaf(scratch_migrations):
    leaf = sorted(p.stem for p in scratch_migrations.glob("0*.py"))[-1]
    op = FixOperation(RUN_SQL, "perfaudit", sql=("SELECT 1;",), reverse_sql=("SELECT 2;",))
    written = migration_writer.write_migration(
        connection, "perfaudit", [op], name="fixes", command="test", notes=["the one note"]
    )
    number = int(leaf[:4]) + 1
    assert written.path == scratch_migrations / f"{number:04d}_fixes.py"
    assert written.operations == 1
    text = written.path.read_text()
    assert "    atomic = False\n" in text and f"('perfaudit', '{leaf}')" in text
    assert "# 1. the one note" in text and "migrations.RunSQL(" in text


@pytest.mark.django_db
def test_an_operation_the_state_cannot_take_is_refused(scratch_migrations):
    before = sorted(p.name for p in scratch_migrations.glob("0*.py"))
    op = FixOperation(REMOVE_INDEX, "perfaudit", "nosuchmodel", "t", "i")
    with pytest.raises(ServiceError, match="nosuchmodel is not in perfaudit's migrations"):
        migration_writer.write_migration(connection, "perfaudit", [op], name="x", command="t")
    with pytest.raises(ServiceError, match="no installed app 'nope'"):
        migration_writer.write_migration(connection, "nope", [op], name="x", command="t")
    assert sorted(p.name for p in scratch_migrations.glob("0*.py")) == before
