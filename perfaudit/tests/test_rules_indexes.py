"""Index rules on hand-built catalog dataclasses (no database)."""

import datetime as dt

from django.db import migrations

from perfaudit.conf import PerfauditSettings
from perfaudit.rules import indexes as rules
from perfaudit.snapshots.declared import ModelRef
from perfaudit.snapshots.indexes import ForeignKey

from .factories import col, index

NOW = dt.datetime(2026, 11, 24, tzinfo=dt.UTC)
CONF = PerfauditSettings()
MODELS = {"t": ModelRef("app", "thing")}

OWNER, CREATED, DONE, ID = col(2, "owner_id"), col(3, "created_at"), col(4, "done"), col(1, "id")


def kinds(findings):
    return [(f.kind, f.object, f.severity) for f in findings]


def test_unused_warns_only_with_enough_table_scans_and_an_old_reset():
    idx = index("t_owner", OWNER, table_scans=5000)
    old = NOW - dt.timedelta(days=30)
    found = rules.unused_indexes([idx], stats_reset=old, now=NOW, conf=CONF, models=MODELS)
    assert kinds(found) == [("unused", "t_owner", "warning")]
    assert found[0].evidence["stats_reset"] == old
    assert "replica" in found[0].evidence["note"]
    assert found[0].fix.migration == "RemoveIndexConcurrently(model_name='thing', name='t_owner')"

    recent = NOW - dt.timedelta(days=1)
    found = rules.unused_indexes([idx], stats_reset=recent, now=NOW, conf=CONF, models=MODELS)
    assert kinds(found) == [("unused", "t_owner", "info")]
    assert found[0].message.startswith("not enough evidence") and found[0].fix == rules.Fix()

    quiet = index("t_owner", OWNER, table_scans=3)
    found = rules.unused_indexes([quiet], stats_reset=None, now=NOW, conf=CONF, models=MODELS)
    assert kinds(found) == [("unused", "t_owner", "info")]


def test_a_young_database_is_not_enough_evidence_whatever_stats_reset_says():
    # "stats reset: never" on a database migrated ten minutes ago.
    window = rules.EvidenceWindow.from_evidence(
        now=NOW, stats_reset=None, first_migration=NOW - dt.timedelta(minutes=10)
    )
    idx = index("t_owner", OWNER, table_scans=50_000)
    [f] = rules.unused_indexes([idx], now=NOW, conf=CONF, models=MODELS, window=window)
    assert f.severity == "info" and "not enough evidence" in f.message
    assert "first migration applied" in f.message and f.fix.sql is None
    # PostgreSQL < 15 resets statistics at every restart: the server start counts there.
    restarted = rules.EvidenceWindow.from_evidence(
        now=NOW,
        postmaster_start=NOW - dt.timedelta(hours=2),
        first_migration=NOW - dt.timedelta(days=300),
        server_version_num=140000,
    )
    assert restarted.start == NOW - dt.timedelta(hours=2)


def test_foreign_key_checks_are_not_queries():
    # A bulk load into a child table: every insert checks the parent's primary key. Those
    # scans must not make the parent's other indexes look "unused while the table is read".
    pkey = index(
        "p_pkey", ID, table="p", is_primary=True, is_unique=True, scans=90_000, table_scans=90_000
    )
    name = index("p_name", col(2, "name"), table="p", table_scans=90_000)
    fk = ForeignKey("public", "c", "c_p_fk", (2,), ("p_id",), "p", 10, referenced_index="p_pkey")
    old = NOW - dt.timedelta(days=60)
    [f] = rules.unused_indexes(
        [pkey, name], stats_reset=old, now=NOW, conf=CONF, models={}, foreign_keys=[fk]
    )
    assert f.object == "p_name" and f.severity == "info"
    assert f.evidence["fk_check_scans"] == 90_000 and f.evidence["table_query_scans"] == 0


def test_never_both_sides_of_a_pair_nor_the_only_fk_index():
    old = NOW - dt.timedelta(days=60)
    short = index("t_owner", OWNER, table_scans=50_000)
    long = index("t_owner_created", OWNER, CREATED, table_scans=50_000)
    pairs = rules.redundant_indexes([short, long], MODELS)
    assert kinds(pairs) == [("redundant", "t_owner", "warning")]
    unused = rules.unused_indexes(
        [short, long],
        stats_reset=old,
        now=NOW,
        conf=CONF,
        models=MODELS,
        kept=rules.kept_by(pairs),
    )
    by_name = {f.object: f for f in unused}
    assert by_name["t_owner"].severity == "warning"  # the short one may go (once)
    assert by_name["t_owner_created"].severity == "info"  # the long one is kept
    assert "keep it" in by_name["t_owner_created"].message
    assert by_name["t_owner_created"].fix.sql is None
    # The only index serving a foreign key: never proposed for dropping.
    fk = ForeignKey("public", "t", "t_owner_fk", (2,), ("owner_id",), "users", 10)
    [f] = rules.unused_indexes(
        [short], stats_reset=old, now=NOW, conf=CONF, models=MODELS, foreign_keys=[fk]
    )
    assert f.severity == "info" and "only index serving foreign key t_owner_fk" in f.message


def test_duplicates_keep_the_declared_one_over_a_stray_copy():
    declared = index("t_declared", OWNER, CREATED, oid=20)
    stray = index("t_stray", OWNER, CREATED, oid=10, scans=5)  # older and more used, still
    origins = {("t", "t_declared"): rules.IndexOrigin("declared", MODELS["t"], in_state=True)}
    [f] = rules.duplicate_indexes([declared, stray], MODELS, origins)
    assert f.object == "t_stray" and f.evidence["duplicate_of"] == "t_declared"
    assert f.fix.sql == 'DROP INDEX CONCURRENTLY IF EXISTS "t_stray";'
    assert f.fix.migration.startswith("migrations.RunSQL(")


def test_fix_follows_the_index_origin():
    idx = index(
        "t_owner_id_8f1c2d3e",
        OWNER,
        definition="CREATE INDEX t_owner_id_8f1c2d3e ON public.t USING btree (owner_id)",
    )
    field = rules.drop_fix(idx, MODELS["t"], rules.IndexOrigin("field", MODELS["t"], "owner"))
    ns = {"migrations": migrations}
    operation = eval(field.migration, ns)  # noqa: S307 - our own generated code
    assert isinstance(operation, migrations.RunSQL)
    assert operation.sql == 'DROP INDEX CONCURRENTLY IF EXISTS "t_owner_id_8f1c2d3e";'
    assert operation.reverse_sql == (
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_owner_id_8f1c2d3e ON public.t USING btree "
        "(owner_id);"
    )
    assert "db_index=False" in field.model_change and field.app_label == "app"
    declared = rules.drop_fix(
        idx, MODELS["t"], rules.IndexOrigin("declared", MODELS["t"], in_state=True)
    )
    assert declared.migration.startswith("RemoveIndexConcurrently(")
    assert "Meta.indexes" in declared.model_change


def test_unused_never_flags_pk_unique_or_constraint_indexes():
    protected = [
        index("t_pkey", ID, is_primary=True, is_unique=True, table_scans=9999),
        index("t_uniq", OWNER, is_unique=True, table_scans=9999),
        index("t_excl", OWNER, constraint="t_excl", table_scans=9999),
    ]
    assert rules.unused_indexes(protected, stats_reset=None, now=NOW, conf=CONF, models={}) == []


def test_duplicate_keeps_the_unique_one():
    plain = index("t_a", OWNER, CREATED, scans=50)
    unique = index("t_b", OWNER, CREATED, is_unique=True)
    found = rules.duplicate_indexes([plain, unique], MODELS)
    assert kinds(found) == [("duplicate", "t_a", "warning")]
    assert found[0].evidence["duplicate_of"] == "t_b"


def test_duplicate_needs_same_opclass_order_and_predicate():
    base = index("t_a", OWNER, CREATED)
    assert (
        rules.duplicate_indexes(
            [base, index("t_b", OWNER, col(3, "created_at", desc=True))], MODELS
        )
        == []
    )
    assert (
        rules.duplicate_indexes([base, index("t_c", OWNER, CREATED, predicate="done")], MODELS)
        == []
    )
    assert (
        rules.duplicate_indexes(
            [base, index("t_d", OWNER, col(3, "created_at", opclass=1))], MODELS
        )
        == []
    )


def test_redundant_is_a_leading_prefix_of_another_btree():
    lone = index("t_owner", OWNER)
    composite = index("t_owner_created", OWNER, CREATED, ID)
    found = rules.redundant_indexes([lone, composite], MODELS)
    assert kinds(found) == [("redundant", "t_owner", "warning")]
    assert found[0].evidence["covered_by"] == "t_owner_created"
    assert found[0].fix.sql == 'DROP INDEX CONCURRENTLY IF EXISTS "t_owner";'


def test_not_redundant_when_not_a_prefix_or_partial_or_unique_or_gin():
    lone = index("t_created", CREATED)
    assert rules.redundant_indexes([lone, index("t_oc", OWNER, CREATED)], MODELS) == []
    owner = index("t_owner", OWNER)
    assert (
        rules.redundant_indexes([owner, index("t_p", OWNER, CREATED, predicate="done")], MODELS)
        == []
    )
    unique = index("t_owner_u", OWNER, is_unique=True)
    assert rules.redundant_indexes([unique, index("t_oc", OWNER, CREATED)], MODELS) == []
    gin = index("t_g", OWNER, method="gin")
    assert rules.redundant_indexes([gin, index("t_g2", OWNER, CREATED, method="gin")], MODELS) == []
    invalid_long = index("t_oc", OWNER, CREATED, is_valid=False)
    assert rules.redundant_indexes([owner, invalid_long], MODELS) == []


def test_missing_fk_index_requires_leading_columns():
    fk = ForeignKey("public", "t", "t_owner_fk", (2,), ("owner_id",), "users", 10)
    # The seed's check accepted an index containing the column anywhere: that is not enough.
    trailing = index("t_created_owner", CREATED, OWNER)
    found = rules.missing_fk_indexes([fk], [trailing], MODELS)
    assert kinds(found) == [("missing_fk_index", "t_owner_fk", "warning")]
    # A name in Django's Index shape, within its 30-character limit (models.E034).
    name = found[0].fix.sql.split('"')[1]
    assert len(name) <= 30 and name.startswith("t_owner_i_") and name.endswith("_idx")
    assert found[0].fix.sql.startswith("CREATE INDEX CONCURRENTLY IF NOT EXISTS ")
    assert "AddIndexConcurrently(model_name='thing'" in found[0].fix.migration
    assert "Meta.indexes" in found[0].fix.model_change

    assert rules.missing_fk_indexes([fk], [index("t_oc", OWNER, CREATED)], MODELS) == []
    partial = index("t_op", OWNER, predicate="done")
    assert len(rules.missing_fk_indexes([fk], [partial], MODELS)) == 1


def test_missing_fk_index_multi_column_in_any_order():
    fk = ForeignKey("public", "t", "t_fk", (2, 4), ("owner_id", "done"), "other", 10)
    assert rules.missing_fk_indexes([fk], [index("t_x", DONE, OWNER, CREATED)], MODELS) == []
    assert len(rules.missing_fk_indexes([fk], [index("t_y", OWNER, CREATED, DONE)], MODELS)) == 1


def test_invalid_is_an_error():
    bad = index(
        "t_bad",
        OWNER,
        is_valid=False,
        is_ready=False,
        definition="CREATE INDEX t_bad ON public.t USING btree (owner_id)",
    )
    found = rules.invalid_indexes([bad, index("t_ok", OWNER)], MODELS)
    assert kinds(found) == [("invalid", "t_bad", "error")]
    assert "nor maintained on writes" in found[0].message  # indisready = false
    assert found[0].fix.sql == (
        'DROP INDEX CONCURRENTLY IF EXISTS "t_bad";\n'
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_bad ON public.t USING btree (owner_id);"
    )


def test_failed_unique_build_is_explained_with_the_duplicates_query():
    bad = index(
        "t_uniq",
        OWNER,
        is_valid=False,
        is_ready=True,
        is_unique=True,
        definition="CREATE UNIQUE INDEX t_uniq ON public.t USING btree (owner_id)",
    )
    [f] = rules.invalid_indexes([bad], MODELS)
    assert "maintained on every write" in f.message and "REINDEX would fail" in f.message
    assert f.evidence["duplicate_rows_query"] == (
        'SELECT owner_id, count(*) FROM "t" WHERE (owner_id) IS NOT NULL GROUP BY owner_id '
        "HAVING count(*) > 1;"
    )
    assert "REINDEX" not in f.fix.sql


def test_a_build_in_progress_is_not_an_error():
    running = index("t_new", OWNER, is_valid=False, oid=77)
    [f] = rules.invalid_indexes(
        [running],
        MODELS,
        building={
            77: {"pid": 9, "phase": "building index", "command": "CREATE INDEX CONCURRENTLY"}
        },
    )
    assert (f.kind, f.severity) == ("build_in_progress", "info") and f.fix.sql is None


def test_bloat_estimate_thresholds():
    conf = PerfauditSettings(BLOAT_MIN_BYTES=1)
    healthy = index("t_h", OWNER, reltuples=1_000_000)
    expected = rules.estimated_btree_bytes(healthy)
    assert (
        rules.bloated_indexes(
            [index("t_h", OWNER, reltuples=1e6, size_bytes=expected)], conf=conf, models=MODELS
        )
        == []
    )
    bloated = index("t_b", OWNER, reltuples=1e6, size_bytes=expected * 3)
    found = rules.bloated_indexes([bloated], conf=conf, models=MODELS)
    assert kinds(found) == [("bloat", "t_b", "warning")]
    some = index("t_s", OWNER, reltuples=1e6, size_bytes=int(expected * 1.6))
    assert kinds(rules.bloated_indexes([some], conf=conf, models=MODELS)) == [
        ("bloat", "t_s", "info")
    ]
