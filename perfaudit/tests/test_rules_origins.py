"""Who made each index, by shape and history (rules.indexes.origins), and what the audit makes
of it: old names kept by RenameModel/RenameField, copies, RunSQL indexes, 63-byte names, a
declared index missing from a package's table (no database)."""

import datetime as dt

from perfaudit import ddl
from perfaudit.conf import PerfauditSettings
from perfaudit.rules import indexes as rules
from perfaudit.rules.drift import drift_findings
from perfaudit.rules.indexes.origins import classify, implicit_for, matches
from perfaudit.snapshots.declared import (
    DeclaredIndex,
    DeclaredSchema,
    ImplicitIndex,
    IndexOrigin,
    MigrationIndex,
    ModelRef,
)
from perfaudit.snapshots.indexes import IndexColumn, IndexSnapshot

from .factories import col, index, server_info

THING = ModelRef("app", "thing", "Thing")
OWNER, CODE = col(2, "owner_id"), col(5, "code")
FIELD = ImplicitIndex("t", ("owner_id",), "field", THING, "owner", "old_t_owner_id_1a2b3c4d")
LIKE = ImplicitIndex(
    "t", ("code",), "like", THING, "code", "old_t_code_like", "varchar_pattern_ops"
)
UNIQUE = ImplicitIndex("t", ("code",), "unique", THING, "code", "t_code_uniq")


def pattern(attnum, name):
    return IndexColumn(attnum, name, 10, "varchar_pattern_ops", 0, 0)


def schema(**kw):
    return DeclaredSchema(models={"t": THING}, **kw)


def test_django_indexes_are_known_by_shape_whatever_their_name():
    renamed = index("renamed_owner_idx", OWNER, oid=5)  # RenameModel kept an older name
    like = index("renamed_like", IndexColumn(5, "code", 10, "varchar_pattern_ops", 0, 0))
    uniq = index("t_code_key", CODE, is_unique=True, constraint="t_code_key")
    origins = classify([renamed, like, uniq], schema(implicit=(FIELD, LIKE, UNIQUE)))
    assert origins[("t", "renamed_owner_idx")] == IndexOrigin("field", THING, "owner")
    assert origins[("t", "renamed_like")] == IndexOrigin("like", THING, "code")
    assert origins[("t", "t_code_key")] == IndexOrigin("unique", THING, "code")


def test_of_two_copies_django_made_the_one_with_its_name_else_the_oldest():
    mine = index("old_t_owner_id_1a2b3c4d", OWNER, oid=9)
    copy = index("a_copy", OWNER, oid=3)
    origins = classify([copy, mine], schema(implicit=(FIELD,)))
    assert origins[("t", "old_t_owner_id_1a2b3c4d")].kind == "field"
    assert origins[("t", "a_copy")].kind == "stray"
    other = index("b_copy", OWNER, oid=4)
    oldest = classify([other, copy], schema(implicit=(FIELD,)))
    assert (oldest[("t", "a_copy")].kind, oldest[("t", "b_copy")].kind) == ("field", "stray")


def test_shapes_that_are_not_djangos():
    assert not matches(index("x", OWNER, is_unique=True), FIELD)
    assert not matches(index("x", OWNER, col(3, "created_at")), FIELD)
    assert not matches(index("x", OWNER, predicate="done"), FIELD)
    assert not matches(index("x", OWNER, method="hash"), FIELD)
    assert not matches(index("x", col(2, "owner_id", desc=True)), FIELD)
    assert not matches(index("x", OWNER, include=("note",)), FIELD)
    assert not matches(index("x", OWNER, table="u"), FIELD)
    assert not matches(index("x", pattern(2, "owner_id")), FIELD)  # pattern ops: a _like
    assert not matches(index("x", CODE), LIKE)  # the default opclass: no _like
    assert not matches(index("x", CODE), UNIQUE)
    assert not matches(index("x", col(1, "code"), is_primary=True, is_unique=True), UNIQUE)


def test_declared_runsql_and_stray():
    declared = DeclaredIndex(
        "t", "t_meta", THING, "btree", False, ("owner_id",), (False,), False, (), ""
    )
    listed = [
        index("t_meta", OWNER, oid=1),
        index("t_copy", OWNER, oid=2),
        index("t_by_sql", CODE),
        index("t_hand", CODE, oid=7),
    ]
    runsql = (MigrationIndex("t", "t_by_sql", "app.0002_copy"),)
    origins = classify(listed, schema(indexes=(declared,), implicit=(FIELD,), runsql=runsql))
    assert origins[("t", "t_meta")] == IndexOrigin("declared", THING, in_state=True)
    # The Meta index claims its name first: Django's own shape falls to the other copy.
    assert origins[("t", "t_copy")].kind == "field"
    assert origins[("t", "t_by_sql")] == IndexOrigin("runsql", THING, migration="app.0002_copy")
    assert origins[("t", "t_hand")].kind == "stray"


def test_a_declared_name_over_63_bytes_is_found_under_postgresqls_cut():
    long = "c" * 64
    assert ddl.stored_name(long) == "c" * 63
    assert ddl.stored_name("é" * 40) == "é" * 31  # never inside a character
    assert ddl.stored_name("short") == "short"
    want = DeclaredIndex("t", long, THING, "btree", True, ("code",), (False,), False, (), "")
    there = index("c" * 63, CODE, is_unique=True, constraint="c" * 63)
    found = drift_findings(
        [want], [there], known_names=set(), models={"t": THING}, existing_tables={"t"}
    )
    assert found == []
    origins = classify([there], schema(indexes=(want,)))
    assert origins[("t", "c" * 63)].kind == "declared"
    [missing] = drift_findings(
        [want], [], known_names=set(), models={"t": THING}, existing_tables={"t"}
    )
    assert missing.fix.unsafe.startswith("a unique index or constraint fails to build")
    assert missing.fix.operations == ()


def test_an_undeclared_runsql_index_says_where_it_comes_from():
    origin = IndexOrigin("runsql", THING, migration="app.0002_copy")
    [f] = drift_findings(
        [],
        [index("t_by_sql", CODE)],
        known_names=set(),
        models={"t": THING},
        existing_tables={"t"},
        origins={("t", "t_by_sql"): origin},
    )
    assert f.message.startswith(
        "in the database but created by the RunSQL of migration app.0002_copy, declared by no model"
    )
    assert f.evidence["origin"] == "runsql"
    field = {("t", "x"): IndexOrigin("field", THING, "owner")}
    assert (
        drift_findings(
            [],
            [index("x", OWNER)],
            known_names=set(),
            models={"t": THING},
            existing_tables={"t"},
            origins=field,
        )
        == []
    )


def test_a_declared_index_missing_from_a_big_package_table_stays_a_warning():
    want = DeclaredIndex(
        "t",
        "pkg_idx",
        THING,
        "btree",
        False,
        ("code",),
        (False,),
        False,
        (),
        'CREATE INDEX CONCURRENTLY "pkg_idx" ON "t" ("code");',
    )

    def audit(rows):
        snapshot = IndexSnapshot(
            server=server_info(now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)),
            table_exists=True,
            indexes=[],
            foreign_keys=[],
            existing_tables={"t"},
            declared=schema(
                indexes=(want,), unactionable=frozenset({"t"}), package_apps={"t": "pkg"}
            ),
            table_rows={"t": rows},
        )
        [f] = rules.evaluate(snapshot, PerfauditSettings())
        return f

    big, small = audit(50_000), audit(999)
    assert (big.severity, small.severity) == ("warning", "info")
    for f in (big, small):
        assert f.fix.sql == 'CREATE INDEX CONCURRENTLY IF NOT EXISTS "pkg_idx" ON "t" ("code");'
        assert f.fix.operations == () and f.fix.app_label is None


def test_implicit_for():
    assert implicit_for(schema(implicit=(FIELD, LIKE)), "t", ("code",), "like") is LIKE
    assert implicit_for(schema(implicit=(FIELD,)), "t", ("code",), "like") is None


def test_a_missing_django_index_is_restored_under_its_fresh_install_name():
    from perfaudit.rules.indexes.implicit import missing_implicit

    found = missing_implicit((FIELD, LIKE, UNIQUE), [], existing_tables={"t"}, fk_columns=set())
    assert [(f.kind, f.severity, f.object) for f in found] == [
        ("drift", "warning", "old_t_owner_id_1a2b3c4d"),
        ("drift", "warning", "old_t_code_like"),
    ]
    assert found[1].message == (
        "Django creates its _like pattern-ops index for app.thing.code (db_index or unique), "
        "but it is absent from the database"
    )
    assert found[1].fix.sql == (
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS "old_t_code_like" ON "t" ("code" '
        "varchar_pattern_ops);"
    )
    assert found[1].fix.migration == (
        "migrations.RunSQL(  # restore Django's own index for Thing.code (dropped from this "
        "database); a fresh install has it already\n"
        '    sql=\'CREATE INDEX CONCURRENTLY IF NOT EXISTS "old_t_code_like" ON "t" ("code" '
        "varchar_pattern_ops);',\n"
        "    reverse_sql=migrations.RunSQL.noop,\n)"
    )
    # A foreign key's own index is missing_fk_index's; a present shape is no finding; a
    # missing table is migrate's business.
    assert (
        missing_implicit((FIELD,), [], existing_tables={"t"}, fk_columns={("t", ("owner_id",))})
        == []
    )
    assert (
        missing_implicit(
            (FIELD,), [index("any_name", OWNER)], existing_tables={"t"}, fk_columns=set()
        )
        == []
    )
    assert missing_implicit((FIELD,), [], existing_tables=set(), fk_columns=set()) == []
