"""What the project's models (and migrations) declare, read through the app registry.

perfaudit knows no app by name: it walks ``apps.get_models()`` for whichever project it is
installed in, so drift detection works for any project.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.db import models, router
from django.db.models.expressions import OrderBy

from perfaudit.rules.indexes import IndexOrigin, ModelRef


@dataclass(frozen=True)
class DeclaredIndex:
    table: str
    name: str
    model: ModelRef
    method: str
    unique: bool
    #: One entry per key position: the column name, or None for an expression.
    columns: tuple[str | None, ...]
    descending: tuple[bool, ...]
    partial: bool
    include: tuple[str, ...]
    create_sql: str
    operation: str


def _method(index) -> str:
    from django.contrib.postgres.indexes import PostgresIndex

    return index.suffix if isinstance(index, PostgresIndex) else "btree"


def _expression_column(model, expression) -> tuple[str | None, bool]:
    descending = False
    if isinstance(expression, OrderBy):
        descending = expression.descending
        expression = expression.expression
    if isinstance(expression, models.F):
        # PostgreSQL stores a bare column reference as a plain key column, not an expression.
        try:
            return model._meta.get_field(expression.name).column, descending
        except Exception:
            return None, descending
    return None, descending


def _index_shape(model, index: models.Index) -> tuple:
    if index.fields:
        cols = tuple(model._meta.get_field(f.lstrip("-")).column for f in index.fields)
        desc = tuple(f.startswith("-") for f in index.fields)
    else:
        pairs = [_expression_column(model, e) for e in index.expressions]
        cols, desc = tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)
    include = tuple(model._meta.get_field(f).column for f in index.include or ())
    return cols, desc, include


def _constraint_shape(model, constraint) -> tuple | None:
    if isinstance(constraint, models.UniqueConstraint):
        if constraint.fields:
            cols = tuple(model._meta.get_field(f).column for f in constraint.fields)
            desc = (False,) * len(cols)
        else:
            pairs = [_expression_column(model, e) for e in constraint.expressions]
            cols, desc = tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)
        include = tuple(model._meta.get_field(f).column for f in constraint.include or ())
        return "btree", True, cols, desc, constraint.condition is not None, include
    try:
        from django.contrib.postgres.constraints import ExclusionConstraint
    except ImportError:  # pragma: no cover - psycopg missing
        return None
    if isinstance(constraint, ExclusionConstraint):
        cols = tuple(None for _ in constraint.expressions)
        return (
            constraint.index_type.lower(),
            False,
            cols,
            (False,) * len(cols),
            constraint.condition is not None,
            (),
        )
    return None  # CHECK constraints have no index


def _managed_models(using: str):
    for model in apps.get_models(include_auto_created=True):
        opts = model._meta
        if opts.managed and not opts.proxy and router.allow_migrate_model(using, model):
            yield model


def _ref(model) -> ModelRef:
    return ModelRef(model._meta.app_label, model._meta.model_name, model._meta.object_name)


def model_tables(using: str) -> dict[str, ModelRef]:
    return {m._meta.db_table: _ref(m) for m in _managed_models(using)}


def _state_index_names(connection) -> dict[tuple[str, str], set[str]]:
    """(app_label, model_name) -> index and constraint names in the migration state."""
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(connection, ignore_no_migrations=True, load=True)
    names: dict[tuple[str, str], set[str]] = {}
    for key, model_state in loader.project_state().models.items():
        for item in (
            *model_state.options.get("indexes", []),
            *model_state.options.get("constraints", []),
        ):
            names.setdefault(key, set()).add(item.name)
    return names


def index_origins(connection) -> dict[tuple[str, str], IndexOrigin]:
    """(table, index name) -> who made it: a field (and its _like twin), a Meta.indexes entry
    (in the migration state or not), a constraint. Indexes absent here are strays."""
    editor = connection.schema_editor()
    state = _state_index_names(connection)
    origins: dict[tuple[str, str], IndexOrigin] = {}
    for model in _managed_models(connection.alias):
        ref = _ref(model)
        table = model._meta.db_table
        in_state = state.get((ref.app_label, ref.model_name), set())
        for f in model._meta.local_concrete_fields:
            if f.db_index and not f.unique:
                name = editor._create_index_name(table, [f.column], suffix="")
                origins[(table, name)] = IndexOrigin("field", ref, f.name)
            if (f.db_index or f.unique) and editor._create_like_index_sql(model, f) is not None:
                name = editor._create_index_name(table, [f.column], suffix="_like")
                origins[(table, name)] = IndexOrigin("like", ref, f.name)
        for index in model._meta.indexes:
            origins[(table, index.name)] = IndexOrigin(
                "declared", ref, in_state=index.name in in_state
            )
        # Indexes a migration created that the model no longer declares: still in the state.
        for name in in_state:
            origins.setdefault((table, name), IndexOrigin("declared", ref, in_state=True))
    return origins


def fk_index_names(connection) -> dict[tuple, tuple]:
    """(table, FK column names) -> (field names, the name Django gives
    models.Index(fields=[field]) on that model), for missing-FK-index fixes: Django's own
    naming, so the name passes its 30-character check (models.E034)."""
    result = {}
    for model in _managed_models(connection.alias):
        for f in model._meta.local_concrete_fields:
            if f.is_relation and f.many_to_one and f.concrete:
                index = models.Index(fields=[f.name])
                index.set_name_with_model(model)
                result[(model._meta.db_table, (f.column,))] = ((f.name,), index.name)
    return result


def unactionable_tables(using: str) -> set[str]:
    """Tables whose indexes the project cannot change through its own migrations.

    Auto-created many-to-many tables and the models of apps installed as packages (Django's
    contrib, third-party apps) get their indexes from Django or the package; flagging them as
    warnings would fail CI on something no project migration can fix.
    """
    tables = set()
    for model in _managed_models(using):
        path = getattr(model._meta.app_config, "path", "") or ""
        if model._meta.auto_created or "site-packages" in path or "dist-packages" in path:
            tables.add(model._meta.db_table)
    return tables


def declared_indexes(connection) -> list[DeclaredIndex]:
    result = []
    editor = connection.schema_editor()
    for model in _managed_models(connection.alias):
        ref = ModelRef(model._meta.app_label, model._meta.model_name)
        table = model._meta.db_table
        for index in model._meta.indexes:
            cols, desc, include = _index_shape(model, index)
            sql = str(index.create_sql(model, editor, concurrently=True))
            result.append(
                DeclaredIndex(
                    table,
                    index.name,
                    ref,
                    _method(index),
                    False,
                    cols,
                    desc,
                    index.condition is not None,
                    include,
                    sql + ";",
                    f"AddIndexConcurrently(model_name={ref.model_name!r}, index=...)  "
                    f"# the {index.name!r} entry of {model.__name__}.Meta.indexes",
                )
            )
        for constraint in model._meta.constraints:
            shape = _constraint_shape(model, constraint)
            if shape is None:
                continue
            method, unique, cols, desc, partial, include = shape
            sql = str(constraint.create_sql(model, editor))
            result.append(
                DeclaredIndex(
                    table,
                    constraint.name,
                    ref,
                    method,
                    unique,
                    cols,
                    desc,
                    partial,
                    include,
                    sql + ";",
                    f"AddConstraint(model_name={ref.model_name!r}, constraint=...)  "
                    f"# the {constraint.name!r} entry of {model.__name__}.Meta.constraints",
                )
            )
    return result


def known_index_names(connection) -> set[str]:
    """Every index name Django itself would create or that a migration declares.

    Field-level indexes (db_index, unique, FK) get generated names; the migration state adds
    indexes that a migration created but a model no longer mentions.
    """
    from django.db.migrations.loader import MigrationLoader

    names: set[str] = set()
    editor = connection.schema_editor()
    for model in _managed_models(connection.alias):
        table = model._meta.db_table
        for field in model._meta.local_concrete_fields:
            if field.db_index or field.unique or field.primary_key:
                for suffix in ("", "_like", "_uniq"):
                    names.add(editor._create_index_name(table, [field.column], suffix=suffix))
        for fields in model._meta.unique_together:
            columns = [model._meta.get_field(f).column for f in fields]
            names.add(editor._create_index_name(table, columns, suffix="_uniq"))
    loader = MigrationLoader(connection, ignore_no_migrations=True, load=True)
    for model_state in loader.project_state().models.values():
        for item in (
            *model_state.options.get("indexes", []),
            *model_state.options.get("constraints", []),
        ):
            names.add(item.name)
    return names
