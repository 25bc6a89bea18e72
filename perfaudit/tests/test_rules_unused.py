"""rules.indexes.unused pinned: the evidence window and the table's query scans at their
boundaries, foreign-key checks discounted (on that table only), the only index of a foreign
key and the kept side of a pair kept, the statements the advisor finds an index would serve,
skipped indexes before a flagged one, every message, evidence and fix exactly (make mutate)."""

import datetime as dt

from perfaudit.conf import PerfauditSettings
from perfaudit.findings import Finding, Fix
from perfaudit.operations import REMOVE_INDEX, FixOperation
from perfaudit.rules.indexes.unused import (
    REPLICA_NOTE,
    fk_referenced_indexes,
    only_fk_index,
    unused_indexes,
)
from perfaudit.snapshots.declared import IndexOrigin, ModelRef
from perfaudit.snapshots.indexes import ForeignKey
from perfaudit.snapshots.server import EvidenceWindow

from .factories import col, index

NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
CONF = PerfauditSettings()  # UNUSED_RECENT_RESET_DAYS 7, UNUSED_MIN_TABLE_SCANS 1,000
THING = ModelRef("app", "thing", "Thing")
MODELS = {"t": THING}
OWNER, CREATED = col(2, "owner_id"), col(3, "created_at")
DECLARED = {("t", "t_created"): IndexOrigin("declared", THING, in_state=True)}


def window(days):
    return EvidenceWindow.from_evidence(now=NOW, stats_reset=NOW - dt.timedelta(days=days))


def idle(name="t_created", *columns, table_scans=5_000, **kw):
    return index(name, *(columns or (CREATED,)), table_scans=table_scans, size_bytes=8192, **kw)


def judge(indexes, *, days=30, conf=CONF, **kw):
    kw.setdefault("origins", DECLARED)
    return unused_indexes(indexes, now=NOW, conf=conf, models=MODELS, window=window(days), **kw)


def test_an_unused_declared_index_exactly():
    start = NOW - dt.timedelta(days=30)
    assert judge([idle()]) == [
        Finding(
            kind="unused",
            severity="warning",
            table="t",
            object="t_created",
            message="no scans by queries over 30 days while queries read its table 5,000 times",
            evidence={
                "size_bytes": 8192,
                "scans": 0,
                "table_scans": 5_000,
                "fk_check_scans": 0,
                "table_query_scans": 5_000,
                "window_start": start,
                "window_days": 30.0,
                "window_sources": {"stats_reset": start, "first_migration": None},
                "stats_reset": start,
                "note": REPLICA_NOTE,
            },
            fix=Fix(
                sql='DROP INDEX CONCURRENTLY IF EXISTS "t_created";',
                operations=(FixOperation(REMOVE_INDEX, "app", "thing", "t", "t_created"),),
                app_label="app",
                model_change="delete the models.Index(name='t_created') entry from "
                "Thing.Meta.indexes (otherwise makemigrations adds it back)",
            ),
        )
    ]


def test_the_window_boundary():
    [young] = judge([idle()], days=6.99)
    assert young.severity == "info" and young.fix == Fix()
    assert young.message == (
        "not enough evidence: no scans, but the counters cover only 7.0 days (since "
        "2026-11-17 12:14, statistics reset); judge after 7 days of normal traffic"
    )
    assert judge([idle()], days=7)[0].severity == "warning"
    assert judge([idle()], days=1, conf=PerfauditSettings(UNUSED_RECENT_RESET_DAYS=1))[
        0
    ].severity == ("warning")


def test_a_window_never_reset_judges_on_scans_alone():
    never = EvidenceWindow(None, NOW, {"stats_reset": None})
    [f] = unused_indexes([idle()], now=NOW, conf=CONF, models=MODELS, window=never, origins={})
    assert f.message == "no scans while queries read its table 5,000 times (counters never reset)"
    assert f.evidence["window_days"] is None
    # No window given: built from stats_reset.
    [g] = unused_indexes([idle()], now=NOW, conf=CONF, stats_reset=NOW - dt.timedelta(days=9))
    assert g.message.startswith("no scans by queries over 9 days")
    assert g.fix.operations == ()  # no model: SQL only


def test_the_table_scans_boundary_and_foreign_key_checks_discounted():
    [few] = judge([idle(table_scans=999)])
    assert few.message == (
        "not enough evidence: no scans, but queries read its table only 999 times; below "
        "UNUSED_MIN_TABLE_SCANS (1,000)"
    )
    assert judge([idle(table_scans=1_000)])[0].severity == "warning"
    # The pkey's 4,500 scans on t were RI checks for child rows: only 500 were queries'.
    pkey = index("t_pkey", col(1, "id"), is_primary=True, is_unique=True, scans=4_500)
    child_fk = ForeignKey("public", "child", "child_t_fk", (2,), ("t_id",), "t", 1, {}, "t_pkey")
    found = judge([pkey, idle(table_scans=5_000)], foreign_keys=[child_fk])
    assert found[0].message == (
        "not enough evidence: no scans, but queries read its table only 500 times (4,500 more "
        "scans were foreign-key checks); below UNUSED_MIN_TABLE_SCANS (1,000)"
    )
    assert (found[0].evidence["fk_check_scans"], found[0].evidence["table_query_scans"]) == (
        4_500,
        500,
    )
    # A same-named index on another table is not this table's RI target.
    other = index("t_pkey", col(1, "id"), table="u", is_primary=True, scans=4_500)
    assert judge([other, idle()], foreign_keys=[child_fk])[0].severity == "warning"
    # More RI checks than table scans never makes negative query scans.
    assert (
        judge([pkey, idle(table_scans=10)], foreign_keys=[child_fk])[0].evidence[
            "table_query_scans"
        ]
        == 0
    )


def test_fk_referenced_indexes():
    fks = [
        ForeignKey("public", "c", "a", (2,), ("t_id",), "t", 1, {}, "t_pkey"),
        ForeignKey("public", "d", "b", (2,), ("t_id",), "t", 1, {}, None),
    ]
    assert fk_referenced_indexes(fks) == {("t", "t_pkey")}


def test_the_only_index_of_a_foreign_key_is_kept():
    fk = ForeignKey("public", "t", "t_owner_fk", (2,), ("owner_id",), "users", 10)
    lone = idle("t_owner", OWNER)
    [f] = judge([lone], foreign_keys=[fk])
    assert f.message == (
        "no scans, but keep it: it is the only index serving foreign key t_owner_fk (owner_id) "
        "-> users; without it every DELETE or key UPDATE there scans this table"
    )
    assert only_fk_index(lone, [lone], [fk]) is fk
    twin = index("t_owner2", OWNER, scans=3)
    assert only_fk_index(lone, [lone, twin], [fk]) is None
    elsewhere = ForeignKey("public", "u", "u_owner_fk", (2,), ("owner_id",), "users", 10)
    assert only_fk_index(lone, [lone], [elsewhere]) is None
    assert only_fk_index(idle("t_c", CREATED), [lone], [fk]) is None
    # A twin on another table does not serve this table's foreign key.
    other_twin = index("u_owner", OWNER, table="u")
    assert only_fk_index(lone, [lone, other_twin], [fk]) is fk


def test_the_kept_side_of_a_pair_is_kept():
    [f] = judge([idle()], kept={("t", "t_created"): "it is the copy kept"})
    assert f.message == "no scans, but keep it: it is the copy kept"
    assert judge([idle()], kept={("u", "t_created"): "x"})[0].severity == "warning"


def test_statements_it_would_serve_are_named():
    sql = "SELECT *   FROM t\n WHERE created_at > $1 ORDER BY created_at " + "x" * 80
    [f] = judge([idle()], served={("t", "t_created"): [sql, "SELECT 2"]})
    short = " ".join(sql.split())[:79] + "…"
    assert f.message == (
        "no scans by queries over 30 days while queries read its table 5,000 times; but "
        f"adviseindexes finds it would serve 2 of the top statements ({short}): EXPLAIN them "
        "before dropping it"
    )
    assert f.evidence["serves_statements"] == [sql, "SELECT 2"]
    [g] = judge([idle()], served={("t", "t_created"): ["SELECT 1"]})
    assert "(SELECT 1): EXPLAIN" in g.message
    assert (
        "serves_statements" not in judge([idle()], served={("u", "t_created"): ["S"]})[0].evidence
    )
    # An info verdict says nothing of statements.
    [info] = judge([idle(table_scans=5)], served={("t", "t_created"): ["SELECT 1"]})
    assert "adviseindexes" not in info.message


def test_scanned_protected_and_invalid_indexes_never_stop_the_loop():
    skipped = [
        idle("a_scanned", scans=1),
        idle("b_pkey", is_primary=True),
        idle("c_unique", is_unique=True),
        idle("d_excl", constraint="d_excl"),
        idle("e_invalid", is_valid=False),
    ]
    found = judge([*skipped, idle(), *skipped])
    assert [f.object for f in found] == ["t_created"]


def test_a_stray_unused_index_is_dropped_by_runsql_in_its_models_app():
    [f] = judge([idle("t_by_hand")], origins={}, days=30.123456)
    assert f.evidence["window_days"] == 30.12
    assert f.fix.app_label == "app"
    assert f.fix.migration == (
        "migrations.RunSQL(  # no model, migration state or migration creates this index (made "
        "by hand): a fresh install never has it, so the reverse creates nothing\n"
        "    sql='DROP INDEX CONCURRENTLY IF EXISTS \"t_by_hand\";',\n"
        "    reverse_sql=migrations.RunSQL.noop,\n)"
    )


def test_details_of_the_keep_reasons():
    pair = ForeignKey("public", "t", "t_pair_fk", (2, 3), ("owner_id", "created_at"), "p", 1)
    lone = idle("t_oc", OWNER, CREATED)
    [f] = judge([lone], foreign_keys=[pair])
    assert "foreign key t_pair_fk (owner_id, created_at) -> p;" in f.message
    fk = ForeignKey("public", "t", "t_owner_fk", (2,), ("owner_id",), "users", 10)
    elsewhere = ForeignKey("public", "u", "u_owner_fk", (2,), ("owner_id",), "users", 10)
    assert only_fk_index(idle("t_owner", OWNER), [], [elsewhere, fk]) is fk
    exact = "S" * 80
    [g] = judge([idle()], served={("t", "t_created"): [exact]})
    assert f"({exact}): EXPLAIN" in g.message
