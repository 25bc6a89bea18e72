"""What the project's models (and migrations) declare, read through the app registry.

perfaudit knows no app by name: it walks ``apps.get_models()`` for whichever project it is
installed in, so drift detection works for any project. ``read`` walks the models once and
returns everything the index rules need about them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.apps import apps
from django.db import models, router
from django.db.models.expressions import OrderBy

from perfaudit.catalog import replay
from perfaudit.snapshots.declared import (
    DeclaredIndex,
    DeclaredSchema,
    ImplicitIndex,
    IndexOrigin,
    MigrationIndex,
    ModelRef,
)


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


def _declared_index(model, ref, index, editor) -> DeclaredIndex:
    cols, desc, include = _index_shape(model, index)
    sql = str(index.create_sql(model, editor, concurrently=True))
    return DeclaredIndex(
        model._meta.db_table,
        index.name,
        ref,
        _method(index),
        False,
        cols,
        desc,
        index.condition is not None,
        include,
        sql + ";",
    )


def _declared_constraint(model, ref, constraint, editor) -> DeclaredIndex | None:
    shape = _constraint_shape(model, constraint)
    if shape is None:
        return None
    method, unique, cols, desc, partial, include = shape
    sql = str(constraint.create_sql(model, editor))
    return DeclaredIndex(
        model._meta.db_table,
        constraint.name,
        ref,
        method,
        unique,
        cols,
        desc,
        partial,
        include,
        sql + ";",
    )


def _field_index_names(model, editor) -> set[str]:
    table = model._meta.db_table
    names = set()
    for f in model._meta.local_concrete_fields:
        if f.db_index or f.unique or f.primary_key:
            for suffix in ("", "_like", "_uniq"):
                names.add(editor._create_index_name(table, [f.column], suffix=suffix))
    for fields in model._meta.unique_together:
        columns = [model._meta.get_field(f).column for f in fields]
        names.add(editor._create_index_name(table, columns, suffix="_uniq"))
    return names


def _state_index_names(loader) -> dict[tuple[str, str], set[str]]:
    """(app_label, model_name) -> index and constraint names in the migration state (which
    keeps indexes a migration created but a model no longer mentions)."""
    names: dict[tuple[str, str], set[str]] = {}
    for key, model_state in loader.project_state().models.items():
        for item in (
            *model_state.options.get("indexes", []),
            *model_state.options.get("constraints", []),
        ):
            names.setdefault(key, set()).add(item.name)
    return names


def _origins(model, ref, in_state: set[str]) -> dict[tuple[str, str], IndexOrigin]:
    """The indexes the models and the migration state name (Meta.indexes, AddIndex); Django's
    own field indexes are recognised by shape (``implicit``), whatever their name."""
    table = model._meta.db_table
    origins = {}
    for index in model._meta.indexes:
        origins[(table, index.name)] = IndexOrigin("declared", ref, in_state=index.name in in_state)
    for name in in_state:
        origins.setdefault((table, name), IndexOrigin("declared", ref, in_state=True))
    return origins


def _implicit(connection, model, ref, editor, fresh: dict) -> list[ImplicitIndex]:
    """The indexes Django creates for the model's fields, named as a fresh install names them
    (replay.replay); a model no migration creates gets today's names."""
    opts = model._meta
    found = []
    for f in opts.local_concrete_fields:
        for kind, opclass in replay.index_kinds(f, f.db_type(connection)).items():
            name = fresh.get((opts.app_label, opts.model_name, f.name, kind))
            if name is None:
                name = editor._create_index_name(
                    opts.db_table, [f.column], suffix=replay.SUFFIX[kind]
                )
            found.append(
                ImplicitIndex(opts.db_table, (f.column,), kind, ref, f.name, name, opclass)
            )
    for fields in opts.unique_together:
        columns = tuple(opts.get_field(f).column for f in fields)
        name = editor._create_index_name(opts.db_table, list(columns), suffix="_uniq")
        found.append(ImplicitIndex(opts.db_table, columns, "unique", ref, ",".join(fields), name))
    return found


def _fk_index_names(model) -> dict[tuple, tuple]:
    result = {}
    for f in model._meta.local_concrete_fields:
        if f.is_relation and f.many_to_one:
            index = models.Index(fields=[f.name])
            index.set_name_with_model(model)
            result[(model._meta.db_table, (f.column,))] = ((f.name,), index.name)
    return result


def _package_app(opts) -> bool:
    path = getattr(opts.app_config, "path", "") or ""
    return "site-packages" in path or "dist-packages" in path


def package_tables() -> dict[str, str]:
    """Table -> app label, for the models of apps installed as packages (Django's contrib,
    third-party apps): their tables are not the project's to change."""
    return {
        model._meta.db_table: model._meta.app_label
        for model in apps.get_models(include_auto_created=True)
        if _package_app(model._meta)
    }


def read(connection, *, table: str | None = None) -> DeclaredSchema:
    """One walk of the models migrated on ``connection``; ``table`` limits the declarations."""
    from django.db.migrations.loader import MigrationLoader

    editor = connection.schema_editor()
    loader = MigrationLoader(connection, ignore_no_migrations=True, load=True)
    state = _state_index_names(loader)
    try:
        fresh, runsql = replay.replay(connection, loader)
    except Exception:
        # A project's own migration operation this replay cannot follow: today's names, and
        # Django's own indexes still known by their shape (classify), never a failed audit.
        fresh, runsql = {}, {}
    schema = _Walk()
    for model in _managed_models(connection.alias):
        opts = model._meta
        ref = ModelRef(opts.app_label, opts.model_name, opts.object_name)
        in_state = state.get((opts.app_label, opts.model_name), set())
        schema.known |= in_state | _field_index_names(model, editor)
        schema.origins |= _origins(model, ref, in_state)
        schema.fk_names |= _fk_index_names(model)
        schema.implicit += _implicit(connection, model, ref, editor, fresh)
        schema.tables[opts.db_table] = ref
        if opts.auto_created or _package_app(opts):
            schema.unactionable.add(opts.db_table)
        if _package_app(opts):
            schema.packages[opts.db_table] = opts.app_label
        if table is not None and opts.db_table != table:
            continue
        schema.declared += [_declared_index(model, ref, index, editor) for index in opts.indexes]
        for constraint in opts.constraints:
            item = _declared_constraint(model, ref, constraint, editor)
            if item is not None:
                schema.declared.append(item)
    for names in state.values():  # models that no longer exist keep their state names
        schema.known |= names
    schema.known |= set(fresh.values())
    return DeclaredSchema(
        models=schema.tables,
        unactionable=frozenset(schema.unactionable),
        indexes=tuple(schema.declared),
        known_names=frozenset(schema.known),
        origins=schema.origins,
        fk_index_names=schema.fk_names,
        implicit=tuple(schema.implicit),
        runsql=tuple(
            MigrationIndex(tbl, name, label, unique)
            for (tbl, name), (label, unique) in sorted(runsql.items())
        ),
        package_apps=schema.packages,
    )


@dataclass
class _Walk:
    tables: dict = field(default_factory=dict)
    unactionable: set = field(default_factory=set)
    declared: list = field(default_factory=list)
    known: set = field(default_factory=set)
    origins: dict = field(default_factory=dict)
    fk_names: dict = field(default_factory=dict)
    implicit: list = field(default_factory=list)
    packages: dict = field(default_factory=dict)
