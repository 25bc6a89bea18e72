"""Fixes shared by the index rules: dropping an index the way its origin allows, and the
evidence every index finding carries."""

from __future__ import annotations

from perfaudit import ddl
from perfaudit.findings import Fix
from perfaudit.operations import REMOVE_INDEX, RUN_SQL, FixOperation
from perfaudit.snapshots.declared import STRAY, IndexOrigin, ModelRef
from perfaudit.snapshots.indexes import IndexInfo


def create_concurrently(index: IndexInfo) -> str:
    """The index's own definition as ``CREATE INDEX CONCURRENTLY IF NOT EXISTS``, so it can be
    re-run (a migration's reverse, a re-create after fixing data)."""
    return ddl.recreate_index(index.definition)


def _drop_sql(index: IndexInfo, model: ModelRef, reason: str) -> FixOperation:
    """Database only (RunSQL): the state names no such index; the reverse builds it again."""
    return FixOperation(
        RUN_SQL,
        model.app_label,
        model_name=model.model_name,
        table=index.table,
        name=index.name,
        sql=(ddl.drop_index(index.name),),
        reverse_sql=(create_concurrently(index),),
        reason=reason,
    )


def drop_fix(index: IndexInfo, model: ModelRef | None, origin: IndexOrigin | None = None) -> Fix:
    """How to drop ``index``: SQL, and the migration operation its origin allows."""
    origin = origin or (IndexOrigin("declared", model, in_state=True) if model else STRAY)
    model = origin.model or model
    if index.constraint:
        return Fix(sql=ddl.drop_constraint(ddl.ident(index.table), index.constraint))
    sql = ddl.drop_index(index.name)
    app_label = model.app_label if model else None
    if origin.kind == "declared" and origin.in_state and model:
        where = f"{model.object_name or model.model_name}.Meta.indexes"
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
    if origin.kind in ("field", "like") and model:
        what = "its _like pattern-ops index" if origin.kind == "like" else "its index"
        reason = (
            f"Django creates {what} for {model.object_name or model.model_name}."
            f"{origin.field}; no migration state names it, so RemoveIndex* cannot apply. A "
            "fresh install creates it and this drops it again"
        )
        return Fix(
            sql=sql,
            operations=(_drop_sql(index, model, reason),),
            app_label=app_label,
            model_change=(
                f"or set db_index=False on {model.object_name or model.model_name}."
                f"{origin.field} and let makemigrations write the AlterField"
                if origin.kind == "field"
                else None
            ),
        )
    reason = "no model or migration state knows this index (created by hand or by RunSQL)"
    return Fix(
        sql=sql,
        operations=(_drop_sql(index, model, reason),) if model else (),
        app_label=app_label,
    )


def index_evidence(index: IndexInfo, **extra) -> dict:
    return {"size_bytes": index.size_bytes, "scans": index.scans, **extra}


def origin_of(origins, models, index: IndexInfo) -> IndexOrigin:
    if origins is not None:
        return origins.get((index.table, index.name), STRAY)
    model = models.get(index.table) if models else None
    return IndexOrigin("declared", model, in_state=True) if model else STRAY
