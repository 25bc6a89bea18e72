"""A candidate in the model's own terms: Django's index name, the ``Meta.indexes`` entry, and
the migration operation that creates it (perfaudit.operations; the one writer writes it)."""

from __future__ import annotations

from django.db.backends.utils import names_digest

from perfaudit import ddl
from perfaudit.operations import (
    ADD_INDEX,
    RUN_SQL,
    DjangoIndex,
    FixOperation,
    IndexCondition,
    IndexKey,
)
from perfaudit.rules.advisor.blocks import referenced_columns, simple_function
from perfaudit.rules.advisor.facts import Candidate, Key
from perfaudit.snapshots.advisor import ModelFields


def _field_names(cand: Candidate, model: ModelFields) -> list[str] | None:
    """``["owner", "-created"]`` when every key is a plain column of a model field."""
    names = []
    for key in cand.keys:
        if key.column is None or key.column not in model.fields:
            return None
        names.append(("-" if key.descending else "") + model.fields[key.column])
    return names


def _condition(cand: Candidate, model: ModelFields) -> tuple[IndexCondition, ...] | None:
    """The partial index's WHERE as field lookups; None when a column is no model field."""
    conditions = []
    for pred in cand.where:
        field = model.fields.get(pred.column)
        if field is None:
            return None
        if pred.op in {"IS NULL", "IS NOT NULL"}:
            conditions.append(IndexCondition(field, pred.op == "IS NULL", isnull=True))
        else:
            conditions.append(IndexCondition(field, pred.value))
    return tuple(conditions)


def _key(key: Key, model: ModelFields) -> IndexKey | None:
    """A column, or upper(col) / lower(col), of a model field; None for anything else."""
    if key.column is not None:
        field, function = model.fields.get(key.column), None
    else:
        function, column = simple_function(key.expression)
        field = model.fields.get(column) if function in {"upper", "lower"} else None
    if field is None:
        return None
    return IndexKey(field, function, key.descending, key.opclass)


def django_index(cand: Candidate, model: ModelFields, name: str) -> DjangoIndex | None:
    """The ``Meta.indexes`` entry, or None when Django cannot declare it (a RunSQL then)."""
    condition = _condition(cand, model)
    if condition is None:
        return None
    fields = _field_names(cand, model)
    if cand.using == "btree" and fields is not None:
        opclasses = [k.opclass for k in cand.keys]
        if any(opclasses) and not all(opclasses):
            return None
        return DjangoIndex(
            name,
            fields=tuple(fields),
            opclasses=tuple(opclasses) if any(opclasses) else (),
            condition=condition,
        )
    if cand.using not in {"gin", "btree"}:
        return None
    keys = [_key(k, model) for k in cand.keys]
    if any(k is None for k in keys):
        return None
    return DjangoIndex(name, method=cand.using, keys=tuple(keys), condition=condition)


def _first_word(key: Key) -> str:
    text = key.expression or key.column or "expr"
    for ref in referenced_columns(text):
        return ref
    return "expr"


def _django_name(table: str, cand: Candidate) -> str:
    """What ``models.Index(fields=...).set_name_with_model()`` names it: the table and the
    key columns (with their order) hashed, 30 characters at most."""
    columns = [("-" if k.descending else "") + k.column for k in cand.keys]
    digest = names_digest(table, *columns, "idx", length=6)
    return f"{table[:11]}_{cand.keys[0].column[:7]}_{digest}_idx"


def index_name(cand: Candidate, model: ModelFields | None = None) -> str:
    """Django's naming (table[:11]_column[:7]_hash6_suffix, at most 30 characters), also for
    tables no model owns, so the SQL and the migration agree."""
    table = cand.table
    if model is not None and not cand.where:
        index = django_index(cand, model, "x")
        if index is not None and index.fields:
            name = _django_name(table, cand)
            return "D" + name[1:] if name[0] == "_" or name[0].isdigit() else name
    first = next((k.column for k in cand.keys if k.column), None) or _first_word(cand.keys[0])
    parts = [table, *(("-" if k.descending else "") + k.text for k in cand.keys)]
    parts += [k.opclass or "" for k in cand.keys] + [cand.where_sql or "", cand.using]
    suffix = "idx" if cand.using == "btree" else cand.using[:3]
    name = f"{table[:11]}_{first[:7]}_{names_digest(*parts, length=6)}_{suffix}"
    return "D" + name[1:] if name[0] == "_" or name[0].isdigit() else name


def create_operation(cand: Candidate, model: ModelFields, name: str) -> FixOperation:
    """The ``Meta.indexes`` entry added to the state and built IF NOT EXISTS (so a second run
    of the non-atomic migration goes on), or a RunSQL that builds (and drops, backwards) what
    Django cannot declare."""
    ref = model.model
    index = django_index(cand, model, name)
    sql = (cand.create_sql(name, if_not_exists=True) + ";",)
    if index is not None:
        return FixOperation(
            ADD_INDEX, ref.app_label, ref.model_name, cand.table, name, index=index, sql=sql
        )
    return FixOperation(
        RUN_SQL,
        ref.app_label,
        model_name=ref.model_name,
        table=cand.table,
        name=name,
        sql=sql,
        reverse_sql=(ddl.drop_index(name),),
    )
