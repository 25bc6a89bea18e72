"""Fixes shared by the index rules: dropping an index the way its origin allows, re-creating
it concurrently, and the evidence every index finding carries."""

from __future__ import annotations

from perfaudit.catalog.declared import STRAY, IndexOrigin, ModelRef
from perfaudit.catalog.indexes import IndexInfo
from perfaudit.findings import Fix
from perfaudit.rules._sql import run_sql_operation
from perfaudit.sqltext import quote_ident as _quote


def create_concurrently(index: IndexInfo) -> str:
    """The index's own definition as ``CREATE INDEX CONCURRENTLY IF NOT EXISTS``, so it can be
    re-run (a migration's reverse, a re-create after fixing data)."""
    definition = index.definition
    for head in ("CREATE UNIQUE INDEX ", "CREATE INDEX "):
        if definition.startswith(head):
            return head + "CONCURRENTLY IF NOT EXISTS " + definition[len(head) :] + ";"
    return definition + ";"  # pragma: no cover - pg_get_indexdef always starts so


def drop_fix(index: IndexInfo, model: ModelRef | None, origin: IndexOrigin | None = None) -> Fix:
    """How to drop ``index``: SQL, and the migration operation its origin allows."""
    origin = origin or (IndexOrigin("declared", model, in_state=True) if model else STRAY)
    model = origin.model or model
    if index.constraint:
        return Fix(
            sql=f"ALTER TABLE {_quote(index.table)} DROP CONSTRAINT {_quote(index.constraint)};"
        )
    sql = f"DROP INDEX CONCURRENTLY IF EXISTS {_quote(index.name)};"
    app_label = model.app_label if model else None
    if origin.kind == "declared" and origin.in_state and model:
        where = f"{model.object_name or model.model_name}.Meta.indexes"
        return Fix(
            sql=sql,
            migration=f"RemoveIndexConcurrently(model_name={model.model_name!r}, "
            f"name={index.name!r})",
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
            migration=run_sql_operation(sql, create_concurrently(index), reason),
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
        migration=run_sql_operation(sql, create_concurrently(index), reason) if model else None,
        app_label=app_label,
    )


def _evidence(index: IndexInfo, **extra) -> dict:
    return {"size_bytes": index.size_bytes, "scans": index.scans, **extra}


def _origin(origins, models, index: IndexInfo) -> IndexOrigin:
    if origins is not None:
        return origins.get((index.table, index.name), STRAY)
    model = models.get(index.table) if models else None
    return IndexOrigin("declared", model, in_state=True) if model else STRAY
