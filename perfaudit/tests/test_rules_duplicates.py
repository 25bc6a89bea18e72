"""rules.indexes.duplicates pinned: which copy is kept (enforces something, then declared, then
used, then oldest), an exact duplicate of a unique constraint's index reported and dropped
(never a second constraint or the primary key), NULLS NOT DISTINCT, redundant prefixes, two
tables or schemas never mixed, every finding and fix exactly (make mutate)."""

from perfaudit.findings import Finding, Fix
from perfaudit.operations import REMOVE_INDEX, RUN_SQL, FixOperation
from perfaudit.rules.indexes.duplicates import duplicate_indexes, kept_by, redundant_indexes
from perfaudit.snapshots.declared import IndexOrigin, ModelRef

from .factories import col, index

THING = ModelRef("app", "thing", "Thing")
MODELS = {"t": THING}
OWNER, CREATED, ID = col(2, "owner_id"), col(3, "created_at"), col(1, "id")
DECLARED = IndexOrigin("declared", THING, in_state=True)
FIELD = IndexOrigin("field", THING, "owner")


def test_a_duplicate_exactly():
    keep = index("t_declared", OWNER, CREATED, oid=20, scans=3)
    copy = index("t_copy", OWNER, CREATED, oid=10, scans=5, size_bytes=8192)
    origins = {("t", "t_declared"): DECLARED}
    drop = 'DROP INDEX CONCURRENTLY IF EXISTS "t_copy";'
    assert duplicate_indexes([keep, copy], MODELS, origins) == [
        Finding(
            kind="duplicate",
            severity="warning",
            table="t",
            object="t_copy",
            message="same columns, method, opclasses, expressions and predicate as t_declared "
            "(owner_id, created_at); every write maintains both. Keeping t_declared (declared), "
            "dropping this stray one",
            evidence={
                "size_bytes": 8192,
                "scans": 5,
                "duplicate_of": "t_declared",
                "kept_scans": 3,
                "origin": "stray",
                "kept_origin": "declared",
            },
            fix=Fix(
                sql=drop,
                operations=(
                    FixOperation(
                        RUN_SQL,
                        "app",
                        model_name="thing",
                        table="t",
                        name="t_copy",
                        sql=(drop,),
                        reason="no model, migration state or migration creates this index "
                        "(made by hand): a fresh install never has it, so the reverse creates "
                        "nothing",
                    ),
                ),
                app_label="app",
            ),
        )
    ]


def test_which_copy_is_kept():
    def kept(*indexes, origins=None):
        [f] = duplicate_indexes(list(indexes), MODELS, origins or {})
        return f.evidence["duplicate_of"]

    a = index("a", OWNER, oid=1, scans=0)
    b = index("b", OWNER, oid=2, scans=9)
    assert kept(a, b) == "b"  # the more used
    assert kept(index("a", OWNER, oid=2), index("b", OWNER, oid=1)) == "b"  # then the older
    assert kept(a, b, origins={("t", "a"): FIELD}) == "a"  # Django's own over a stray
    assert kept(a, b, origins={("t", "a"): FIELD, ("t", "b"): DECLARED}) == "b"
    unique = index("u", OWNER, is_unique=True, oid=3)
    assert kept(a, unique) == "u"  # enforces something
    runsql = IndexOrigin("runsql", THING, migration="app.0002")
    assert kept(a, b, origins={("t", "a"): runsql}) == "a"  # a migration's over a stray


def test_a_duplicate_of_a_unique_constraints_index_is_reported():
    constraint = index("t_sku_key", OWNER, is_unique=True, constraint="t_sku_key", oid=9)
    bare = index("t_sku_dup", OWNER, is_unique=True, oid=1, scans=50)
    [f] = duplicate_indexes([bare, constraint], MODELS, {})
    assert (f.object, f.evidence["duplicate_of"]) == ("t_sku_dup", "t_sku_key")
    assert f.fix.sql == 'DROP INDEX CONCURRENTLY IF EXISTS "t_sku_dup";'
    assert f.fix.operations[0].kind == RUN_SQL


def test_what_a_duplicate_enforcing_more_keeps():
    pkey = index("t_pkey", ID, is_primary=True, is_unique=True, constraint="t_pkey")
    twin = index("t_id_uniq", ID, is_unique=True, constraint="t_id_uniq")
    # A second constraint on the primary key's columns: reported, dropped as a constraint.
    [f] = duplicate_indexes([twin, pkey], MODELS, {})
    assert (f.object, f.evidence["duplicate_of"]) == ("t_id_uniq", "t_pkey")
    assert f.fix == Fix(
        sql='ALTER TABLE "t" DROP CONSTRAINT IF EXISTS "t_id_uniq";',
        operations=(
            FixOperation(
                RUN_SQL,
                "app",
                model_name="thing",
                table="t",
                name="t_id_uniq",
                sql=('ALTER TABLE "t" DROP CONSTRAINT IF EXISTS "t_id_uniq";',),
                reason="a constraint no model declares (added by hand): a fresh install never "
                "has it",
            ),
        ),
        app_label="app",
    )
    # Declared by the model: the model edit is the fix; no operation.
    [g] = duplicate_indexes(
        [twin, pkey], MODELS, {("t", "t_id_uniq"): IndexOrigin("unique", THING, "code")}
    )
    assert g.fix.operations == () and g.fix.model_change == (
        "remove the declaration behind constraint t_id_uniq from Thing (unique=True, "
        "unique_together or Meta.constraints), then run makemigrations"
    )
    # NULLS NOT DISTINCT enforces more than a plain unique index: never the copy dropped.
    strict = index("t_strict", OWNER, is_unique=True, nulls_not_distinct=True, oid=5)
    plain = index("t_plain", OWNER, is_unique=True, constraint="t_plain", oid=6)
    assert duplicate_indexes([strict, plain], MODELS, {}) == []
    both = index("t_strict2", OWNER, is_unique=True, nulls_not_distinct=True, oid=7)
    [h] = duplicate_indexes([strict, both], MODELS, {})
    assert h.object == "t_strict2"
    # An exclusion constraint is never dropped for a plain unique twin.
    excl = index("t_excl", OWNER, constraint="t_excl", oid=1)
    assert [f.object for f in duplicate_indexes([excl, plain], MODELS, {})] == []


def test_a_declared_duplicate_is_removed_from_the_state():
    keep = index("t_unique", OWNER, is_unique=True)
    declared = index("t_meta", OWNER)
    [f] = duplicate_indexes([keep, declared], MODELS, {("t", "t_meta"): DECLARED})
    assert f.fix.operations == (FixOperation(REMOVE_INDEX, "app", "thing", "t", "t_meta"),)
    assert f.message.endswith("Keeping t_unique (stray), dropping this declared one")
    assert (f.evidence["origin"], f.evidence["kept_origin"]) == ("declared", "stray")


def test_groups_never_mix_tables_schemas_or_invalid_indexes():
    assert duplicate_indexes([index("a", OWNER), index("b", OWNER, table="u")], MODELS) == []
    assert duplicate_indexes([index("a", OWNER), index("b", OWNER, schema="x")], MODELS) == []
    assert duplicate_indexes([index("a", OWNER), index("b", OWNER, is_valid=False)], MODELS) == []
    assert duplicate_indexes([index("a", OWNER), index("b", OWNER, method="hash")], MODELS) == []
    assert duplicate_indexes([index("a", OWNER), index("b", OWNER, include=("x",))], MODELS) == []
    lone = [index("a", OWNER), index("b", CREATED), index("c", OWNER, oid=99999)]
    assert [f.object for f in duplicate_indexes(lone, MODELS, {})] == ["c"]


def test_a_redundant_prefix_exactly():
    short = index(
        "t_owner",
        OWNER,
        scans=2,
        size_bytes=8192,
        definition="CREATE INDEX t_owner ON public.t USING btree (owner_id)",
    )
    long = index("t_owner_created", OWNER, CREATED, scans=7)
    [f] = redundant_indexes([short, long], MODELS, {("t", "t_owner"): FIELD})
    assert f == Finding(
        kind="redundant",
        severity="warning",
        table="t",
        object="t_owner",
        message="(owner_id) is a leading prefix of t_owner_created (owner_id, created_at), "
        "which serves the same lookups",
        evidence={
            "size_bytes": 8192,
            "scans": 2,
            "covered_by": "t_owner_created",
            "covered_by_scans": 7,
            "origin": "field",
        },
        fix=f.fix,
    )
    assert f.fix.model_change == (
        "or set db_index=False on Thing.owner and let makemigrations write the AlterField"
    )
    assert f.fix.operations[0].reverse_sql == (
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_owner ON public.t USING btree (owner_id);",
    )


def test_redundant_picks_the_shortest_covering_index_then_the_name():
    short = index("t_owner", OWNER)
    three = index("a_three", OWNER, CREATED, ID)
    two_b = index("b_two", OWNER, CREATED)
    two_a = index("a_two", OWNER, ID)
    found = {
        f.object: f.evidence["covered_by"]
        for f in redundant_indexes([short, three, two_b, two_a], MODELS)
    }
    assert found == {"t_owner": "a_two", "b_two": "a_three"}


def test_redundant_needs_same_table_schema_predicate_and_covered_include():
    short = index("t_owner", OWNER)
    assert redundant_indexes([short, index("u", OWNER, CREATED, table="u")], MODELS) == []
    assert redundant_indexes([short, index("x", OWNER, CREATED, schema="x")], MODELS) == []
    assert (
        redundant_indexes([index("s", OWNER, method="hash"), index("l", OWNER, CREATED)], {}) == []
    )
    assert redundant_indexes([short, index("l", OWNER, CREATED, method="hash")], MODELS) == []
    assert redundant_indexes([short, index("l", OWNER)], MODELS) == []  # same length: duplicate
    including = index("t_owner_inc", OWNER, include=("note",))
    assert redundant_indexes([including, index("l", OWNER, CREATED)], MODELS) == []
    covered = index("l", OWNER, CREATED, include=("note",))
    assert [f.object for f in redundant_indexes([including, covered], MODELS)] == ["t_owner_inc"]
    by_key = index("l2", OWNER, col(5, "note"))
    assert [f.object for f in redundant_indexes([including, by_key], MODELS)] == ["t_owner_inc"]
    assert redundant_indexes([index("t_c", CREATED), index("l", OWNER, CREATED)], MODELS) == []


def test_skipped_indexes_never_stop_the_loop():
    items = [
        index("a_unique", OWNER, is_unique=True),
        index("b_invalid", OWNER, is_valid=False),
        index("c_alone", CREATED),
        index("d_owner", OWNER),
        index("e_owner_created", OWNER, CREATED),
    ]
    assert [f.object for f in redundant_indexes(items, MODELS)] == ["d_owner"]


def test_kept_by():
    dup = Finding("duplicate", "warning", "t", "b", "", {"duplicate_of": "a"})
    red = Finding("redundant", "warning", "t", "c", "", {"covered_by": "d"})
    other = Finding("unused", "warning", "t", "e", "", {"covered_by": "x", "duplicate_of": "y"})
    assert kept_by([dup, red, other]) == {
        ("t", "a"): "it is the copy kept in place of its duplicate b",
        ("t", "d"): "it is what serves c's lookups once that redundant index is dropped",
    }


def test_without_origins_a_model_table_index_counts_as_declared():
    a, b = index("a", OWNER, oid=1), index("b", OWNER, oid=2, scans=5)
    [f] = duplicate_indexes([a, b], MODELS)
    assert (f.evidence["origin"], f.evidence["kept_origin"]) == ("declared", "declared")
    assert f.message.endswith("Keeping b (declared), dropping this declared one")
    assert f.fix.operations[0].kind == REMOVE_INDEX
    [g] = duplicate_indexes([index("a", OWNER, table="x"), index("b", OWNER, table="x")], {})
    assert g.evidence["origin"] == "stray" and g.fix.operations == ()
    [r] = redundant_indexes([index("s", OWNER), index("l", OWNER, CREATED)], MODELS)
    assert r.evidence["origin"] == "declared" and r.fix.operations[0].kind == REMOVE_INDEX


def test_single_groups_and_skipped_copies_never_stop_the_loops():
    single = index("a_single", CREATED)
    x, y = index("x", OWNER, oid=1), index("y", OWNER, oid=2)
    assert [f.object for f in duplicate_indexes([single, x, y], MODELS, {})] == ["y"]
    keep = index("c", OWNER, is_unique=True, constraint="c", oid=1)
    strict = index("n", OWNER, is_unique=True, nulls_not_distinct=True, oid=2)
    plain = index("p", OWNER, oid=3)
    assert [f.object for f in duplicate_indexes([keep, strict, plain], MODELS, {})] == ["p"]


def test_an_include_list_equal_to_the_longer_keys_is_covered():
    short = index("s", OWNER, include=("owner_id", "created_at"))
    assert [f.object for f in redundant_indexes([short, index("l", OWNER, CREATED)], {})] == ["s"]
