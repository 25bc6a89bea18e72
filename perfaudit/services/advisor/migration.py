"""Ready-to-apply fixes: Django's index names, the Meta.indexes entry, the migration file."""

from __future__ import annotations

import os
from typing import Any

from perfaudit.catalog import declared
from perfaudit.errors import ServiceError
from perfaudit.rules import advisor as rules
from perfaudit.services.advisor.report import Suggestion


def index_name(cand: rules.Candidate, model=None) -> str:
    """Django's naming (table[:11]_column[:7]_hash6_suffix, at most 30 characters), also for
    tables no model owns, so the SQL and the migration agree."""
    from django.db.backends.utils import names_digest, split_identifier

    _, table = split_identifier(model._meta.db_table) if model is not None else ("", cand.table)
    if model is not None and _django_fields(cand, model) is not None and not cand.where:
        index = _django_index(cand, model)
        if index is not None and index.fields:
            return index.name
    first = next((k.column for k in cand.keys if k.column), None) or _first_word(cand.keys[0])
    parts = [table, *(("-" if k.descending else "") + k.text for k in cand.keys)]
    parts += [k.opclass or "" for k in cand.keys] + [cand.where_sql or "", cand.using]
    suffix = "idx" if cand.using == "btree" else cand.using[:3]
    name = f"{table[:11]}_{first[:7]}_{names_digest(*parts, length=6)}_{suffix}"
    return "D" + name[1:] if name[0] == "_" or name[0].isdigit() else name


def _first_word(key: rules.Key) -> str:
    text = key.expression or key.column or "expr"
    for ref in rules.referenced_columns(text):
        return ref
    return "expr"


# --- migrations --------------------------------------------------------------------------------


def _model_index(connection) -> dict[str, Any]:
    """Table -> model, for models a project migration can change (not contrib / packages)."""
    from django.apps import apps

    schema = declared.collect(connection)
    return {
        table: apps.get_model(ref.app_label, ref.model_name)
        for table, ref in schema.models.items()
        if table not in schema.unactionable
    }


def _django_fields(cand: rules.Candidate, model) -> list[str] | None:
    by_column = {f.column: f.name for f in model._meta.concrete_fields}
    names = []
    for key in cand.keys:
        if key.column is None or key.column not in by_column:
            return None
        names.append(("-" if key.descending else "") + by_column[key.column])
    return names


def _condition(cand: rules.Candidate, model):
    from django.db.models import Q

    by_column = {f.column: f.name for f in model._meta.concrete_fields}
    q = Q()
    for pred in cand.where:
        field_name = by_column.get(pred.column)
        if field_name is None:
            return False
        if pred.op == "IS NULL":
            q &= Q(**{f"{field_name}__isnull": True})
        elif pred.op == "IS NOT NULL":
            q &= Q(**{f"{field_name}__isnull": False})
        else:
            q &= Q(**{field_name: pred.value})
    return q if cand.where else None


def _expression(key: rules.Key, model):
    """A Django expression for upper(col) / lower(col) keys; None for anything else."""
    from django.db.models import F
    from django.db.models.functions import Lower, Upper

    func, column = rules.simple_function(key.expression)
    if func not in {"upper", "lower"}:
        return None
    by_column = {f.column: f.name for f in model._meta.concrete_fields}
    if column not in by_column:
        return None
    return (Upper if func == "upper" else Lower)(F(by_column[column]))


def _django_index(cand: rules.Candidate, model):
    """The Index object for Meta.indexes, or None when Django cannot express it (RunSQL)."""
    from django.contrib.postgres.indexes import GinIndex, OpClass
    from django.db import models as m

    condition = _condition(cand, model)
    if condition is False:
        return None
    kwargs = {"condition": condition} if condition is not None else {}
    fields = _django_fields(cand, model)
    if cand.using == "btree" and fields is not None:
        opclasses = [k.opclass for k in cand.keys]
        if any(opclasses):
            if not all(opclasses):
                return None
            kwargs["opclasses"] = opclasses
        index = m.Index(fields=fields, name="x", **kwargs)
        index.set_name_with_model(model)
        if cand.where:
            # Django's name hashes the fields only: a partial index needs its predicate in
            # the hash too, or it would collide with a plain index on the same fields.
            index.name = index_name(cand, None)
        return index
    expressions = []
    for key in cand.keys:
        if key.column is not None:
            by_column = {f.column: f.name for f in model._meta.concrete_fields}
            if key.column not in by_column:
                return None
            expr = m.F(by_column[key.column])
        else:
            expr = _expression(key, model)
            if expr is None:
                return None
        if key.opclass:
            expr = OpClass(expr, name=key.opclass)
        elif key.descending:
            expr = expr.desc()
        expressions.append(expr)
    cls = GinIndex if cand.using == "gin" else m.Index
    if cand.using not in {"gin", "btree"}:
        return None
    return cls(*expressions, name=index_name(cand, None), **kwargs)


def migration_for(cand: rules.Candidate, model, name: str, sql: str) -> dict:
    """Ready to paste: the Meta.indexes entry and the operation for a non-atomic migration."""
    from django.db.migrations.writer import MigrationWriter

    index = _django_index(cand, model)
    app_label, model_name = model._meta.app_label, model._meta.model_name
    if index is not None:
        index.name = name
        entry, imports = MigrationWriter.serialize(index)
        operation = f"AddIndexConcurrently(model_name={model_name!r}, index={entry})"
        imports = sorted(
            imports | {"from django.contrib.postgres.operations import AddIndexConcurrently"}
        )
    else:
        entry = None
        drop = f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"'
        operation = f"RunSQL(sql={sql!r}, reverse_sql={drop!r})"
        imports = ["from django.db import migrations"]
    return {
        "app_label": app_label,
        "model": model.__name__,
        "meta_index": entry,
        "operation": operation,
        "imports": imports,
        "atomic": False,
        "note": (
            f"add the entry to {model.__name__}.Meta.indexes (so makemigrations agrees), "
            "then the operation in a migration with atomic = False"
            if entry
            else "Django cannot declare this expression in Meta.indexes: a RunSQL migration "
            "(atomic = False) creates it"
        ),
    }


def write_migration_file(app_label: str, suggestions: list[Suggestion], *, using: str) -> str:
    """Write the suggestions for APP's models as its next migration (atomic = False), on top of
    the app's current leaf migration. Returns the file path."""
    from django.apps import apps
    from django.db import connections, migrations
    from django.db.migrations.loader import MigrationLoader
    from django.db.migrations.writer import MigrationWriter

    try:
        apps.get_app_config(app_label)
    except LookupError:
        raise ServiceError(f"--write-migration: no installed app {app_label!r}") from None
    loader = MigrationLoader(connections[using], ignore_no_migrations=True)
    if app_label not in loader.migrated_apps:
        raise ServiceError(f"--write-migration: app {app_label!r} has no migrations")
    leaves = loader.graph.leaf_nodes(app_label)
    state = loader.project_state()
    mine = [s for s in suggestions if s.migration and s.migration["app_label"] == app_label]
    if not mine:
        return None
    operations = []
    from django.contrib.postgres.operations import AddIndexConcurrently

    for sug in mine:
        model = apps.get_model(app_label, sug.migration["model"])
        model_state = state.models.get((app_label, model._meta.model_name))
        if model_state is None:
            raise ServiceError(
                f"--write-migration: {model.__name__} is not in {app_label}'s migrations yet "
                "(run makemigrations first)"
            )
        cand = _candidate_of(sug)
        index = _django_index(cand, model)
        if index is not None:
            missing = [
                f.lstrip("-") for f in index.fields if f.lstrip("-") not in model_state.fields
            ]
            if missing:
                raise ServiceError(
                    f"--write-migration: {', '.join(missing)} not in {app_label}'s migration "
                    "state (run makemigrations first)"
                )
            index.name = sug.name
            operations.append(AddIndexConcurrently(model_name=model._meta.model_name, index=index))
        else:
            operations.append(
                migrations.RunSQL(
                    sql=sug.sql.splitlines()[-1],
                    reverse_sql=f'DROP INDEX CONCURRENTLY IF EXISTS "{sug.name}";',
                )
            )
    number = max((int(n.split("_", 1)[0]) for _a, n in leaves if n[:4].isdigit()), default=0) + 1
    migration = migrations.Migration(f"{number:04d}_adviseindexes", app_label)
    migration.dependencies = list(leaves)
    migration.operations = operations
    writer = MigrationWriter(migration)
    text = writer.as_string().replace(
        "class Migration(migrations.Migration):\n",
        "class Migration(migrations.Migration):\n"
        "    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.\n"
        "    atomic = False\n",
        1,
    )
    os.makedirs(os.path.dirname(writer.path), exist_ok=True)
    if os.path.exists(writer.path):
        raise ServiceError(f"--write-migration: {writer.path} exists already")
    with open(writer.path, "w") as fh:
        fh.write(text)
    return writer.path


def _candidate_of(sug: Suggestion) -> rules.Candidate:
    return sug.candidate
