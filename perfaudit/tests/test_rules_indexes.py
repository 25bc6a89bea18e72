"""Index rules on hand-built catalog dataclasses (no database)."""

import datetime as dt

from perfaudit.catalog.indexes import ForeignKey
from perfaudit.conf import PerfauditSettings
from perfaudit.rules import indexes as rules
from perfaudit.rules.indexes import ModelRef

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

    quiet = index("t_owner", OWNER, table_scans=3)
    found = rules.unused_indexes([quiet], stats_reset=None, now=NOW, conf=CONF, models=MODELS)
    assert kinds(found) == [("unused", "t_owner", "info")]


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
    assert found[0].fix.sql == 'DROP INDEX CONCURRENTLY "t_owner";'


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
    assert found[0].fix.sql == 'CREATE INDEX CONCURRENTLY "t_owner_id_idx" ON "t" ("owner_id");'
    assert "AddIndexConcurrently(model_name='thing'" in found[0].fix.migration

    assert rules.missing_fk_indexes([fk], [index("t_oc", OWNER, CREATED)], MODELS) == []
    partial = index("t_op", OWNER, predicate="done")
    assert len(rules.missing_fk_indexes([fk], [partial], MODELS)) == 1


def test_missing_fk_index_multi_column_in_any_order():
    fk = ForeignKey("public", "t", "t_fk", (2, 4), ("owner_id", "done"), "other", 10)
    assert rules.missing_fk_indexes([fk], [index("t_x", DONE, OWNER, CREATED)], MODELS) == []
    assert len(rules.missing_fk_indexes([fk], [index("t_y", OWNER, CREATED, DONE)], MODELS)) == 1


def test_invalid_is_an_error():
    found = rules.invalid_indexes(
        [index("t_bad", OWNER, is_valid=False), index("t_ok", OWNER)], MODELS
    )
    assert kinds(found) == [("invalid", "t_bad", "error")]
    assert "REINDEX INDEX CONCURRENTLY" in found[0].fix.sql


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
