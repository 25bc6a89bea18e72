"""Fixes shared by the index rules: dropping an index the way its origin allows, and the
evidence every index finding carries.

A fix must leave an existing database and a fresh ``migrate`` from zero in the same state: so a
RunSQL that drops an index says what a fresh install does (Django or a migration creates the
index, then this drops it again), and its reverse re-creates only what a fresh install had.
"""

from __future__ import annotations

from perfaudit import ddl
from perfaudit.findings import Fix
from perfaudit.operations import REMOVE_INDEX, RUN_SQL, FixOperation
from perfaudit.snapshots.declared import STRAY, ImplicitIndex, IndexOrigin, ModelRef
from perfaudit.snapshots.indexes import IndexInfo


def create_concurrently(index: IndexInfo) -> str:
    """The index's own definition as ``CREATE INDEX CONCURRENTLY IF NOT EXISTS``, so it can be
    re-run (a migration's reverse, a re-create after fixing data)."""
    return ddl.recreate_index(index.definition)


def run_sql(
    index: IndexInfo, model: ModelRef, sql: tuple[str, ...], reverse, reason: str
) -> FixOperation:
    """Database only (RunSQL): the migration state names no such index."""
    return FixOperation(
        RUN_SQL,
        model.app_label,
        model_name=model.model_name,
        table=index.table,
        name=index.name,
        sql=sql,
        reverse_sql=reverse,
        reason=reason,
    )


def _who(model: ModelRef) -> str:
    return model.object_name or model.model_name


def _reason(origin: IndexOrigin, model: ModelRef) -> str:
    if origin.kind in ("field", "like"):
        what = "its _like pattern-ops index" if origin.kind == "like" else "its index"
        return (
            f"Django creates {what} for {_who(model)}.{origin.field}; no migration state names "
            "it, so RemoveIndex* cannot apply. A fresh install creates it and this drops it again"
        )
    if origin.kind == "runsql":
        return (
            f"created by the RunSQL of migration {origin.migration}; no migration state names "
            "it. A fresh install creates it and this drops it again"
        )
    return (
        "no model, migration state or migration creates this index (made by hand): a fresh "
        "install never has it, so the reverse creates nothing"
    )


def _drop_constraint(index: IndexInfo, model: ModelRef | None, origin: IndexOrigin) -> Fix:
    sql = ddl.drop_constraint(ddl.ident(index.table), index.constraint, if_exists=True)
    if origin.kind in ("declared", "unique") and model:
        # Django declares it (unique=True, unique_together, Meta.constraints): the model edit
        # is the fix, and makemigrations writes the operation that matches it.
        return Fix(
            sql=sql,
            app_label=model.app_label,
            model_change=f"remove the declaration behind constraint {index.constraint} from "
            f"{_who(model)} (unique=True, unique_together or Meta.constraints), then run "
            "makemigrations",
        )
    operations = ()
    if model:
        reason = "a constraint no model declares (added by hand): a fresh install never has it"
        operations = (run_sql(index, model, (sql,), None, reason),)
    return Fix(sql=sql, operations=operations, app_label=model.app_label if model else None)


def drop_fix(index: IndexInfo, model: ModelRef | None, origin: IndexOrigin | None = None) -> Fix:
    """How to drop ``index``: SQL, and the migration operation its origin allows."""
    origin = origin or (IndexOrigin("declared", model, in_state=True) if model else STRAY)
    model = origin.model or model
    if index.constraint:
        return _drop_constraint(index, model, origin)
    sql = ddl.drop_index(index.name)
    app_label = model.app_label if model else None
    if origin.kind == "declared" and origin.in_state and model:
        where = f"{_who(model)}.Meta.indexes"
        remove = FixOperation(
            REMOVE_INDEX, model.app_label, model.model_name, index.table, index.name
        )
        return Fix(
            sql=sql,
            operations=(remove,),
            app_label=app_label,
            model_change=f"delete the models.Index(name={index.name!r}) entry from {where} "
            "(otherwise makemigrations adds it back)",
        )
    if not model:
        return Fix(sql=sql)
    # What a fresh install had is what undoing the fix brings back: nothing, for a stray.
    reverse = None if origin.kind == "stray" else (create_concurrently(index),)
    model_change = None
    if origin.kind == "field":
        model_change = (
            f"or set db_index=False on {_who(model)}.{origin.field} and let makemigrations "
            "write the AlterField"
        )
    return Fix(
        sql=sql,
        operations=(run_sql(index, model, (sql,), reverse, _reason(origin, model)),),
        app_label=app_label,
        model_change=model_change,
    )


def restore_own_index(spec: ImplicitIndex) -> Fix:
    """Django's own index for a field (it is in no migration state), dropped from this
    database: built again under the name a fresh install gives it, IF NOT EXISTS, as RunSQL,
    so a fresh install (which has it) stays as it is and no Meta.indexes entry adds a second."""
    keys = [ddl.ident(c) + (f" {spec.opclass}" if spec.opclass else "") for c in spec.columns]
    sql = ddl.create_index(spec.name, ddl.ident(spec.table), keys, if_not_exists=True)
    model = spec.model
    restore = FixOperation(
        RUN_SQL,
        model.app_label,
        model_name=model.model_name,
        table=spec.table,
        name=spec.name,
        sql=(sql,),
        reason=f"restore Django's own index for {_who(model)}.{spec.field} (dropped from this "
        "database); a fresh install has it already",
    )
    return Fix(sql=sql, operations=(restore,), app_label=model.app_label)


def index_evidence(index: IndexInfo, **extra) -> dict:
    return {"size_bytes": index.size_bytes, "scans": index.scans, **extra}


def origin_of(origins, models, index: IndexInfo) -> IndexOrigin:
    if origins is not None:
        return origins.get((index.table, index.name), STRAY)
    model = models.get(index.table) if models else None
    return IndexOrigin("declared", model, in_state=True) if model else STRAY
