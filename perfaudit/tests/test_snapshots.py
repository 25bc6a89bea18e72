"""Snapshots: frozen records that round-trip through JSON, as history will store them.

Every snapshot a catalog collect, a sandbox probe or the what-if step returns (read from the
real test database) comes back equal from its JSON document; so do hand-built records with the
awkward values (tuple keys, int keys, sets, aware datetimes, nested optionals).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import inspect
import json
import pkgutil

import pytest
from django.db import connection

import perfaudit.snapshots
from perfaudit import sandbox, whatif
from perfaudit.catalog import advisor as advisor_catalog
from perfaudit.catalog import (
    connections,
    constraints,
    indexes,
    plans,
    profile,
    sequences,
    statements,
    tables,
    wraparound,
)
from perfaudit.conf import get_settings
from perfaudit.snapshots.advisor import AdvisorSelection, PlanTarget, WhatIfIndex
from perfaudit.snapshots.base import Record, Snapshot, dump, load
from perfaudit.snapshots.connections import ConnectionsSelection
from perfaudit.snapshots.constraints import ConstraintsSelection
from perfaudit.snapshots.declared import STRAY, DeclaredSchema, IndexOrigin, ModelRef
from perfaudit.snapshots.indexes import IndexSelection
from perfaudit.snapshots.sequences import SequencesSelection
from perfaudit.snapshots.server import EvidenceWindow
from perfaudit.snapshots.statements import StatementsSelection
from perfaudit.snapshots.tables import TableSelection, TableSnapshot
from perfaudit.snapshots.wraparound import WraparoundSelection

from .conftest import run_sql
from .factories import col, index, server_info


def snapshot_classes():
    found = []
    for info in pkgutil.iter_modules(perfaudit.snapshots.__path__):
        module = importlib.import_module(f"perfaudit.snapshots.{info.name}")
        found += [
            cls
            for _name, cls in inspect.getmembers(module, inspect.isclass)
            if cls.__module__ == module.__name__ and dataclasses.is_dataclass(cls)
        ]
    return found


def round_trip(snapshot: Snapshot) -> Snapshot:
    document = json.loads(json.dumps(snapshot.to_document()))
    return type(snapshot).from_document(document)


def test_every_snapshot_record_is_frozen_and_stored_as_json():
    classes = snapshot_classes()
    assert len(classes) > 30
    for cls in classes:
        assert cls.__dataclass_params__.frozen, cls
        assert issubclass(cls, Record), cls


def test_top_level_snapshots_name_their_kind_once():
    kinds = [cls.KIND for cls in snapshot_classes() if issubclass(cls, Snapshot)]
    assert "" not in kinds and len(kinds) == len(set(kinds))


def test_awkward_values_round_trip():
    schema = DeclaredSchema(
        models={"t": ModelRef("app", "thing", "Thing")},
        unactionable=frozenset({"auth_group"}),
        known_names=frozenset({"a", "b"}),
        origins={
            ("t", "t_idx"): IndexOrigin("field", ModelRef("app", "thing"), "owner"),
            ("t", "x"): STRAY,
        },
        fk_index_names={("t", ("owner_id",)): (("owner",), "t_owner_idx")},
    )
    assert DeclaredSchema.from_dict(json.loads(json.dumps(schema.to_dict()))) == schema
    info = index(
        "t_idx", col(2, "owner_id", desc=True), last_scan=dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
    )
    assert type(info).from_dict(json.loads(json.dumps(info.to_dict()))) == info
    window = EvidenceWindow.from_evidence(now=dt.datetime(2026, 5, 1, tzinfo=dt.UTC))
    assert load(json.loads(json.dumps(dump(window))), EvidenceWindow) == window


def test_a_document_of_another_kind_or_version_is_refused():
    snapshot = TableSnapshot(server_info(), [])
    document = snapshot.to_document()
    assert document["kind"] == "tables" and document["version"] == 1
    with pytest.raises(ValueError, match="not a tables snapshot"):
        type(snapshot).from_document({**document, "kind": "indexes"})
    with pytest.raises(ValueError, match="version 99 cannot be read"):
        type(snapshot).from_document({**document, "version": 99})


@pytest.mark.django_db
def test_collected_snapshots_round_trip(parent_child):
    run_sql(
        "CREATE INDEX pa_child_done ON pa_child (done) WHERE done",
        "ALTER TABLE pa_child ADD CONSTRAINT pa_note CHECK (note <> 'x') NOT VALID",
    )
    conf = get_settings()
    collected = [
        indexes.collect(connection, IndexSelection()),
        indexes.collect(connection, IndexSelection(table="pa_child", min_size_bytes=1)),
        tables.collect(connection, TableSelection()),
        statements.collect(connection, StatementsSelection(show_all=True)),
        connections.collect(connection, ConnectionsSelection()),
        constraints.collect(connection, ConstraintsSelection()),
        sequences.collect(connection, SequencesSelection()),
        wraparound.collect(connection, WraparoundSelection(min_age=0)),
        plans.collect(
            connection,
            sandbox.explain(
                connection,
                "SELECT * FROM pa_child WHERE created_at > %s",
                [dt.datetime(2026, 1, 1, tzinfo=dt.UTC)],
                analyze=True,
                buffers=True,
                timeout_ms=conf.STATEMENT_TIMEOUT_MS,
            ),
        ),
        profile.collect(
            connection,
            sandbox.time_query(connection, "SELECT 1", iterations=2, timeout_ms=10_000),
        ),
        advisor_catalog.collect(
            connection,
            AdvisorSelection(sqls=("SELECT * FROM pa_child WHERE parent_id = 3",), top=5),
        ),
    ]
    for snapshot in collected:
        assert round_trip(snapshot) == snapshot, type(snapshot).__name__
    assert collected[1].selection.table == "pa_child"
    assert any(c.name == "pa_note" for c in collected[5].not_valid)


@pytest.mark.django_db
def test_probe_snapshots_round_trip(parent_child):
    target = PlanTarget(0, "SELECT * FROM pa_child WHERE parent_id = $1", nparams=1)
    candidate = WhatIfIndex(
        number=0,
        name="pa_child_try",
        method="btree",
        statements=(0,),
        hypothetical_sql="CREATE INDEX ON pa_child (parent_id)",
        build_sql=("CREATE INDEX pa_child_try ON pa_child (parent_id)",),
    )
    verification = whatif.verify(
        connection, [target], [candidate], hypopg=False, allow_build=True, timeout_ms=10_000
    )
    assert verification.trials and round_trip(verification) == verification
    checks = sandbox.check_generic_plans(
        connection,
        statements.collect(connection, StatementsSelection()).candidates,
        timeout_ms=10_000,
    )
    assert round_trip(checks) == checks
