"""rules.indexes.foreign_keys pinned: which index serves a foreign key (leading columns in any
order, btree, valid, not partial; another table or schema never), the finding and both fixes
exactly: Django's own index restored under its fresh-install name, or a declared one added to
the state and built IF NOT EXISTS (make mutate)."""

import hashlib

from perfaudit.findings import Finding, Fix
from perfaudit.operations import ADD_INDEX, RUN_SQL, DjangoIndex, FixOperation
from perfaudit.rules.indexes.foreign_keys import missing_fk_indexes, serves_fk
from perfaudit.snapshots.declared import ImplicitIndex, ModelRef
from perfaudit.snapshots.indexes import ForeignKey

from .factories import col, index

THING = ModelRef("app", "thing", "Thing")
OWNER, OTHER, CREATED = col(2, "owner_id"), col(4, "other_id"), col(3, "created_at")
FK = ForeignKey("public", "t", "t_owner_fk", (2,), ("owner_id",), "owners", 5000)
PAIR = ForeignKey("public", "t", "t_pair_fk", (2, 4), ("owner_id", "other_id"), "pairs", 5000)
DJANGO = ImplicitIndex("t", ("owner_id",), "field", THING, "owner", "t_owner_id_0a1b2c3d")
MESSAGE = (
    "foreign key (owner_id) -> owners is not the leading column(s) of any index: joins and "
    "ON DELETE on owners scan t"
)


def test_serves_fk():
    assert serves_fk(index("a", OWNER), FK)
    assert serves_fk(index("b", OWNER, CREATED), FK)
    assert not serves_fk(index("c", CREATED, OWNER), FK)
    assert not serves_fk(index("d", OWNER, is_valid=False), FK)
    assert not serves_fk(index("e", OWNER, predicate="done"), FK)
    assert not serves_fk(index("f", OWNER, method="hash"), FK)
    assert serves_fk(index("g", OTHER, OWNER), PAIR)
    assert serves_fk(index("h", OWNER, OTHER, CREATED), PAIR)
    assert not serves_fk(index("i", OWNER), PAIR)  # one of two columns
    assert not serves_fk(index("j", OWNER, CREATED), PAIR)


def test_django_own_index_is_restored_under_its_fresh_install_name():
    sql = 'CREATE INDEX CONCURRENTLY IF NOT EXISTS "t_owner_id_0a1b2c3d" ON "t" ("owner_id");'
    assert missing_fk_indexes([FK], [], {"t": THING}, implicit=(DJANGO,)) == [
        Finding(
            kind="missing_fk_index",
            severity="warning",
            table="t",
            object="t_owner_fk",
            message=MESSAGE + " (Django's own index t_owner_id_0a1b2c3d is missing)",
            evidence={"columns": ["owner_id"], "table_rows": 5000, "django_index": DJANGO.name},
            fix=Fix(
                sql=sql,
                operations=(
                    FixOperation(
                        RUN_SQL,
                        "app",
                        model_name="thing",
                        table="t",
                        name="t_owner_id_0a1b2c3d",
                        sql=(sql,),
                        reason="restore Django's own index for Thing.owner (dropped from this "
                        "database); a fresh install has it already",
                    ),
                ),
                app_label="app",
            ),
        )
    ]
    [f] = missing_fk_indexes([FK], [], {"t": THING}, implicit=(DJANGO,))
    assert f.fix.migration == (
        "migrations.RunSQL(  # restore Django's own index for Thing.owner (dropped from this "
        "database); a fresh install has it already\n"
        f"    sql={sql!r},\n"
        "    reverse_sql=migrations.RunSQL.noop,\n)"
    )


def test_only_a_field_index_of_that_table_and_column_is_restored():
    like = ImplicitIndex("t", ("owner_id",), "like", THING, "owner", "t_like")
    elsewhere = ImplicitIndex("u", ("owner_id",), "field", THING, "owner", "u_owner")
    other_column = ImplicitIndex("t", ("other_id",), "field", THING, "other", "t_other")
    for spec in (like, elsewhere, other_column):
        [f] = missing_fk_indexes([FK], [], {"t": THING}, implicit=(spec,))
        assert f.fix.operations[0].kind == ADD_INDEX, spec
        assert f.evidence["django_index"] is None


def test_without_django_index_one_is_declared_and_built_if_not_exists():
    names = {("t", ("owner_id",)): (("owner",), "t_owner_idx")}
    sql = 'CREATE INDEX CONCURRENTLY IF NOT EXISTS "t_owner_idx" ON "t" ("owner_id");'
    [f] = missing_fk_indexes([FK], [], {"t": THING}, index_names=names)
    assert f.message == MESSAGE
    assert f.evidence == {"columns": ["owner_id"], "table_rows": 5000, "django_index": None}
    assert f.fix == Fix(
        sql=sql,
        operations=(
            FixOperation(
                ADD_INDEX,
                "app",
                "thing",
                "t",
                "t_owner_idx",
                index=DjangoIndex(name="t_owner_idx", fields=("owner",)),
                sql=(sql,),
            ),
        ),
        app_label="app",
        model_change="add models.Index(fields=['owner'], name='t_owner_idx') to "
        "Thing.Meta.indexes (otherwise makemigrations removes it again)",
    )
    assert f.fix.migration == (
        "migrations.SeparateDatabaseAndState(\n"
        "    state_operations=[AddIndexConcurrently(model_name='thing', "
        "index=models.Index(fields=['owner'], name='t_owner_idx'))],\n"
        "    database_operations=[migrations.RunSQL(\n"
        f"        sql={sql!r},\n"
        "        reverse_sql='DROP INDEX CONCURRENTLY IF EXISTS \"t_owner_idx\";',\n"
        "    )],\n)"
    )


def test_a_table_no_model_maps_gets_sql_with_django_shaped_name():
    [f] = missing_fk_indexes([FK], [], {})
    digest = hashlib.md5(b"towner_ididx").hexdigest()[:6]  # noqa: S324 - the name's hash
    name = f"t_owner_i_{digest}_idx"
    assert f.fix == Fix(
        sql=f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{name}" ON "t" ("owner_id");'
    )
    long = ForeignKey("public", "a_long_table_name", "fk", (2,), ("customer_id",), "c", 1)
    [g] = missing_fk_indexes([long], [], {})
    assert g.fix.sql.split('"')[1].startswith("a_long_tabl_custome_")
    assert g.fix.model_change is None and g.fix.app_label is None


def test_served_keys_on_another_table_or_schema_never_count():
    elsewhere = index("u_owner", OWNER, table="u")
    other_schema = index("x_owner", OWNER, schema="audit")
    assert len(missing_fk_indexes([FK], [elsewhere], {"t": THING})) == 1
    assert len(missing_fk_indexes([FK], [other_schema], {"t": THING})) == 1
    audit = ForeignKey("audit", "t", "audit_fk", (2,), ("owner_id",), "owners", 1)
    [f] = missing_fk_indexes([audit, FK], [index("t_owner", OWNER)], {"t": THING})
    assert f.object == "audit_fk"


def test_a_served_key_never_stops_the_loop_and_each_key_is_judged():
    served = ForeignKey("public", "t", "a_served", (2,), ("owner_id",), "owners", 1)
    missing = ForeignKey("public", "t", "b_missing", (4,), ("other_id",), "others", 1)
    found = missing_fk_indexes([served, missing, served], [index("t_owner", OWNER)], {"t": THING})
    assert [f.object for f in found] == ["b_missing"]
    assert found[0].message.startswith("foreign key (other_id) -> others is not")
    [pair] = missing_fk_indexes([PAIR], [index("t_owner", OWNER)], {"t": THING})
    assert pair.message.startswith("foreign key (owner_id, other_id) -> pairs is not")
