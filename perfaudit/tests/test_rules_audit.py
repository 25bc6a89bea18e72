"""rules.indexes.evaluate over a whole hand-built IndexSnapshot (no database)."""

import datetime as dt

from perfaudit.conf import PerfauditSettings
from perfaudit.rules import indexes as rules
from perfaudit.snapshots.declared import DeclaredIndex, DeclaredSchema, ModelRef
from perfaudit.snapshots.indexes import IndexSnapshot

from .factories import col, index, server_info

NOW = dt.datetime(2026, 11, 24, tzinfo=dt.UTC)
OWNER, CREATED = col(2, "owner_id"), col(3, "created_at")
THING = ModelRef("app", "thing")


def snapshot(indexes, *, declared=(), unactionable=(), known=()):
    return IndexSnapshot(
        server=server_info(stats_reset=NOW - dt.timedelta(days=30), now=NOW),
        table_exists=True,
        indexes=indexes,
        foreign_keys=[],
        existing_tables={"t"},
        declared=DeclaredSchema(
            models={"t": THING},
            unactionable=frozenset(unactionable),
            indexes=tuple(declared),
            known_names=frozenset(known),
        ),
    )


def declared(name, *columns):
    return DeclaredIndex(
        "t",
        name,
        THING,
        "btree",
        False,
        columns,
        (False,) * len(columns),
        False,
        (),
        "CREATE",
    )


def test_a_redundant_hand_made_index_gets_runsql_and_an_undeclared_drift():
    short = index("t_owner", OWNER, scans=3)
    long = index("t_owner_created", OWNER, CREATED, scans=9)
    found = rules.evaluate(
        snapshot([short, long], declared=[declared("t_owner_created", "owner_id", "created_at")]),
        PerfauditSettings(),
    )
    # One finding per index: the redundant warning, with the undeclared drift in its evidence.
    kinds = sorted((f.kind, f.object, f.severity) for f in found)
    assert kinds == [("redundant", "t_owner", "warning")]
    redundant = next(f for f in found if f.kind == "redundant")
    assert [a["kind"] for a in redundant.evidence["also"]] == ["drift"]
    # No migration state knows t_owner: RemoveIndexConcurrently would fail, so RunSQL.
    assert redundant.fix.migration.startswith("migrations.RunSQL(")
    assert redundant.fix.sql == 'DROP INDEX CONCURRENTLY IF EXISTS "t_owner";'


def test_a_declared_redundant_index_keeps_its_migration_operation():
    short = index("t_owner", OWNER)
    long = index("t_owner_created", OWNER, CREATED)
    found = rules.evaluate(
        snapshot(
            [short, long], declared=[declared("t_owner", "owner_id")], known={"t_owner_created"}
        ),
        PerfauditSettings(),
    )
    (redundant,) = [f for f in found if f.kind == "redundant"]
    assert redundant.fix.migration == "RemoveIndexConcurrently(model_name='thing', name='t_owner')"


def test_framework_tables_are_softened_to_info_without_migration():
    short = index("t_owner", OWNER)
    long = index("t_owner_created", OWNER, CREATED)
    found = rules.evaluate(
        snapshot([short, long], unactionable={"t"}, known={"t_owner", "t_owner_created"}),
        PerfauditSettings(),
    )
    (redundant,) = [f for f in found if f.kind == "redundant"]
    assert redundant.severity == "info"
    assert redundant.fix.migration is None
    assert "created by Django or an installed package" in redundant.message


def test_declared_index_missing_from_the_database_is_drift():
    found = rules.evaluate(
        snapshot([], declared=[declared("t_new", "owner_id")]), PerfauditSettings()
    )
    assert [(f.kind, f.object, f.severity) for f in found] == [("drift", "t_new", "warning")]
