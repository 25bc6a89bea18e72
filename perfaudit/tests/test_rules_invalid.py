"""rules.indexes.invalid pinned by origin: a failed build nothing declares is dropped (never
re-created), a declared one rebuilt (a unique one left to a person, with the duplicates query),
a build in progress left alone; messages, evidence, SQL and migration text exactly (make
mutate)."""

from perfaudit.findings import Finding, Fix
from perfaudit.operations import RUN_SQL, FixOperation
from perfaudit.rules.indexes.invalid import duplicate_rows_query, invalid_indexes
from perfaudit.snapshots.declared import STRAY, IndexOrigin, ModelRef

from .factories import col, index

THING = ModelRef("app", "thing", "Thing")
MODELS = {"t": THING}
OWNER, TAGS = col(2, "owner_id"), col(5, "tags")
DECLARED = IndexOrigin("declared", THING, in_state=True)
READY = (
    "a failed or cancelled CREATE INDEX CONCURRENTLY: never used by queries, yet maintained on "
    "every write (it got as far as being ready)"
)
NOT_READY = (
    "a failed or cancelled CREATE INDEX CONCURRENTLY that never became ready: neither used by "
    "queries nor maintained on writes"
)


def bad(name="t_bad", *columns, unique=False, ready=True, **kw):
    head = "CREATE UNIQUE INDEX" if unique else "CREATE INDEX"
    cols = ", ".join(c.name for c in columns or (OWNER,))
    return index(
        name,
        *(columns or (OWNER,)),
        is_valid=False,
        is_ready=ready,
        is_unique=unique,
        definition=f"{head} {name} ON public.t USING btree ({cols})",
        size_bytes=8192,
        scans=0,
        **kw,
    )


def test_duplicate_rows_query():
    assert duplicate_rows_query(bad("u", OWNER, TAGS, unique=True)) == (
        'SELECT owner_id, tags, count(*) FROM "t" WHERE (owner_id) IS NOT NULL AND (tags) IS '
        "NOT NULL GROUP BY owner_id, tags HAVING count(*) > 1;"
    )
    assert duplicate_rows_query(bad("u", TAGS, unique=True, predicate="NOT done")) == (
        'SELECT tags, count(*) FROM "t" WHERE (NOT done) AND (tags) IS NOT NULL GROUP BY tags '
        "HAVING count(*) > 1;"
    )


def test_a_stray_failed_unique_build_is_dropped_exactly():
    item = bad("t_tags_uniq", TAGS, unique=True)
    drop = 'DROP INDEX CONCURRENTLY IF EXISTS "t_tags_uniq";'
    assert invalid_indexes([item], MODELS, origins={}) == [
        Finding(
            kind="invalid",
            severity="error",
            table="t",
            object="t_tags_uniq",
            message=f"invalid unique index, {READY}. No model, migration state or migration "
            "declares it: drop it rather than build it again",
            evidence={
                "size_bytes": 8192,
                "scans": 0,
                "is_ready": True,
                "definition": item.definition,
                "origin": "stray",
            },
            fix=Fix(
                sql=drop,
                operations=(
                    FixOperation(
                        RUN_SQL,
                        "app",
                        model_name="thing",
                        table="t",
                        name="t_tags_uniq",
                        sql=(drop,),
                        reason="a failed build of an index nothing declares (made by hand): "
                        "drop it; a fresh install never has it",
                    ),
                ),
                app_label="app",
            ),
        )
    ]
    [plain] = invalid_indexes([bad("t_x", ready=False)], MODELS, origins={})
    assert plain.message == (
        f"invalid index, {NOT_READY}. No model, migration state or migration declares it: drop "
        "it rather than build it again"
    )


def test_a_declared_failed_build_is_rebuilt_exactly():
    item = bad("t_bad", ready=False)
    drop = 'DROP INDEX CONCURRENTLY IF EXISTS "t_bad";'
    create = "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_bad ON public.t USING btree (owner_id);"
    [f] = invalid_indexes([item], MODELS, origins={("t", "t_bad"): DECLARED})
    assert f.message == f"invalid index, {NOT_READY}: drop it and build it again"
    assert f.evidence["origin"] == "declared" and f.evidence["is_ready"] is False
    assert f.fix == Fix(
        sql=f"{drop}\n{create}",
        operations=(
            FixOperation(
                RUN_SQL,
                "app",
                model_name="thing",
                table="t",
                name="t_bad",
                sql=(drop, create),
                reason="re-create an index whose concurrent build failed; a fresh install "
                "builds it valid and this re-creates it, harmlessly",
            ),
        ),
        app_label="app",
    )
    assert f.fix.migration == (
        "migrations.RunSQL(  # re-create an index whose concurrent build failed; a fresh "
        "install builds it valid and this re-creates it, harmlessly\n"
        f"    sql=[{drop!r}, {create!r}],\n"
        "    reverse_sql=migrations.RunSQL.noop,\n)"
    )


def test_a_declared_unique_failed_build_is_left_to_a_person():
    item = bad("t_u", TAGS, unique=True)
    for origin in (DECLARED, IndexOrigin("unique", THING, "tags"), IndexOrigin("runsql", THING)):
        [f] = invalid_indexes([item], MODELS, origins={("t", "t_u"): origin})
        assert f.message == (
            f"invalid unique index, {READY}. A unique build fails on duplicate keys; REINDEX "
            "would fail the same way and leave another invalid index. Find the duplicates, fix "
            "or delete them, then drop and re-create"
        )
        dupes = duplicate_rows_query(item)
        assert f.evidence["duplicate_rows_query"] == dupes
        assert f.fix == Fix(
            sql='DROP INDEX CONCURRENTLY IF EXISTS "t_u";\n-- find the duplicate keys and fix '
            f"them first:\n{dupes}\n"
            "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS t_u ON public.t USING btree (tags);",
            app_label="app",
            unsafe="re-creating a unique index fails while duplicate keys exist: fix the rows "
            "the query finds, then run the SQL (left out of --write-migration)",
        )


def test_on_a_table_no_model_maps_the_index_is_rebuilt_as_sql():
    [f] = invalid_indexes([bad("x_bad", table="x")], {}, origins={("x", "x_bad"): STRAY})
    assert f.message == f"invalid index, {READY}: drop it and build it again"
    assert f.fix.operations == () and f.fix.app_label is None
    assert f.fix.sql.startswith('DROP INDEX CONCURRENTLY IF EXISTS "x_bad";\nCREATE INDEX')
    [u] = invalid_indexes([bad("x_u", table="x", unique=True)], {}, origins={})
    assert u.fix.unsafe and u.fix.app_label is None


def test_without_origins_a_model_table_index_counts_as_declared():
    [f] = invalid_indexes([bad("t_bad")], MODELS)
    assert f.fix.operations[0].sql[0] == 'DROP INDEX CONCURRENTLY IF EXISTS "t_bad";'
    assert len(f.fix.operations[0].sql) == 2


def test_a_build_in_progress_exactly_and_valid_indexes_never_stop_the_loop():
    running = bad("t_new", oid=77, ready=False)
    progress = {"pid": 9, "phase": "building index", "command": "CREATE INDEX CONCURRENTLY"}
    found = invalid_indexes(
        [index("t_ok", OWNER), running, index("t_ok2", OWNER), bad("t_bad", oid=78)],
        MODELS,
        building={77: progress},
        origins={},
    )
    assert [f.object for f in found] == ["t_new", "t_bad"]
    assert found[0] == Finding(
        kind="build_in_progress",
        severity="info",
        table="t",
        object="t_new",
        message="being built right now (CREATE INDEX CONCURRENTLY, phase building index, pid "
        "9): not usable until it finishes; leave it alone",
        evidence={"size_bytes": 8192, "scans": 0, "progress": progress, "is_ready": False},
    )
