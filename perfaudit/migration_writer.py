"""The one migration writer: structured fixes (perfaudit.operations) in, Django out.

``django_operation`` builds Django's own operation objects; ``expression`` prints them the way
every report shows a fix (one line over ``migrations``, ``models`` and the names of
``django.contrib.postgres.operations``); ``write_migration`` writes the app's next migration
file with Django's ``MigrationWriter``, non-atomic, on top of the app's current leaf, after
checking that each operation applies to the app's migration state as it is now. Both
``auditindexes --write-migration`` and ``adviseindexes --write-migration`` write through it.
"""

from __future__ import annotations

import datetime as dt
import importlib
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from perfaudit.errors import ServiceError
from perfaudit.operations import (
    ADD_INDEX,
    REMOVE_INDEX,
    RUN_SQL,
    VALIDATE_CONSTRAINT,
    DjangoIndex,
    FixOperation,
)


def _condition(index: DjangoIndex):
    from django.db.models import Q

    q = Q()
    for c in index.condition:
        q &= Q(**{f"{c.field}__isnull": c.value}) if c.isnull else Q(**{c.field: c.value})
    return q if index.condition else None


def _expression(key):
    from django.contrib.postgres.indexes import OpClass
    from django.db.models import F
    from django.db.models.functions import Lower, Upper

    expression = F(key.field)
    if key.function:
        expression = {"upper": Upper, "lower": Lower}[key.function](expression)
    if key.opclass:
        return OpClass(expression, name=key.opclass)
    return expression.desc() if key.descending else expression


def django_index(index: DjangoIndex):
    """The ``Meta.indexes`` entry itself (models.Index, or GinIndex)."""
    from django.contrib.postgres.indexes import GinIndex
    from django.db import models

    kwargs: dict[str, Any] = {"name": index.name}
    condition = _condition(index)
    if condition is not None:
        kwargs["condition"] = condition
    if index.fields:
        if index.opclasses:
            kwargs["opclasses"] = list(index.opclasses)
        return models.Index(fields=list(index.fields), **kwargs)
    cls = GinIndex if index.method == "gin" else models.Index
    return cls(*(_expression(k) for k in index.keys), **kwargs)


def _sql(statements: tuple[str, ...]):
    return statements[0] if len(statements) == 1 else list(statements)


def _add_index(op: FixOperation):
    from django.contrib.postgres import operations as pg
    from django.db import migrations

    cls = pg.AddIndexConcurrently if op.concurrently else migrations.AddIndex
    return cls(model_name=op.model_name, index=django_index(op.index))


def _drop_added(op: FixOperation) -> str:
    from perfaudit import ddl

    return ddl.drop_index(op.name, concurrently=op.concurrently)


def django_operation(op: FixOperation):
    from django.db import migrations

    if op.kind == ADD_INDEX and op.sql:
        # The state gains the index; the database builds it IF NOT EXISTS, so the operation
        # can run again after a partial run of the non-atomic migration (AddIndex* cannot).
        return migrations.SeparateDatabaseAndState(
            state_operations=[_add_index(op)],
            database_operations=[migrations.RunSQL(sql=_sql(op.sql), reverse_sql=_drop_added(op))],
        )
    if op.kind == ADD_INDEX:
        return _add_index(op)
    from django.contrib.postgres import operations as pg

    if op.kind == REMOVE_INDEX:
        cls = pg.RemoveIndexConcurrently if op.concurrently else migrations.RemoveIndex
        return cls(model_name=op.model_name, name=op.name)
    if op.kind == VALIDATE_CONSTRAINT:
        return pg.ValidateConstraint(model_name=op.model_name, name=op.name)
    reverse = migrations.RunSQL.noop if op.reverse_sql is None else _sql(op.reverse_sql)
    return migrations.RunSQL(sql=_sql(op.sql), reverse_sql=reverse)


def _serialize(value) -> tuple[str, set[str]]:
    from django.db.migrations.writer import MigrationWriter

    return MigrationWriter.serialize(value)


def _printed(op: FixOperation) -> tuple[str, set[str]]:
    """One operation as printed, and the imports it needs."""
    if op.kind == ADD_INDEX and op.sql:
        return _printed_separate(op)
    operation = django_operation(op)
    if op.kind == RUN_SQL:
        sql, imports = _serialize(operation.sql)
        reverse = "migrations.RunSQL.noop"
        if op.reverse_sql is not None:
            reverse, more = _serialize(operation.reverse_sql)
            imports |= more
        comment = f"  # {op.reason}" if op.reason else ""
        text = f"migrations.RunSQL({comment}\n    sql={sql},\n    reverse_sql={reverse},\n)"
        return text, imports | {"from django.db import migrations"}
    name, _args, kwargs = operation.deconstruct()
    module = type(operation).__module__
    prefix = "" if module.startswith("django.contrib.postgres") else "migrations."
    imports = {f"from {module} import {name}" if not prefix else "from django.db import migrations"}
    parts = []
    for key, value in kwargs.items():
        text, more = _serialize(value)
        parts.append(f"{key}={text}")
        imports |= more
    return f"{prefix}{name}({', '.join(parts)})", imports


def _printed_separate(op: FixOperation) -> tuple[str, set[str]]:
    state, imports = _printed(replace(op, sql=()))
    database, more = _printed(
        FixOperation(RUN_SQL, op.app_label, sql=op.sql, reverse_sql=(_drop_added(op),))
    )
    comment = f"  # {op.reason}" if op.reason else ""
    text = (
        f"migrations.SeparateDatabaseAndState({comment}\n"
        f"    state_operations=[{state}],\n"
        f"    database_operations=[{textwrap.indent(database, '    ').lstrip()}],\n)"
    )
    return text, imports | more | {"from django.db import migrations"}


def expression(operations: Sequence[FixOperation]) -> str:
    """The operations as one Python expression: the operation, or a list of them."""
    texts = [_printed(op)[0] for op in operations]
    if len(texts) == 1:
        return texts[0]
    return "[\n" + "".join(textwrap.indent(t, "    ") + ",\n" for t in texts) + "]"


def describe(op: FixOperation, *, model: str, note: str | None = None) -> dict[str, Any]:
    """What the advisor shows of one operation: the ``Meta.indexes`` entry (when Django can
    declare the index), the operation and its imports; ``note`` says what to do with them."""
    text, imports = _printed(op)
    entry = _serialize(django_index(op.index))[0] if op.kind == ADD_INDEX else None
    return {
        "app_label": op.app_label,
        "model": model,
        "meta_index": entry,
        "operation": text,
        "imports": sorted(imports),
        "atomic": False,
        "note": note
        or (
            f"add the entry to {model}.Meta.indexes (so makemigrations agrees), "
            "then the operation in a migration with atomic = False"
            if entry
            else "Django cannot declare this expression in Meta.indexes: a RunSQL migration "
            "(atomic = False) creates it"
        ),
    }


@dataclass(frozen=True)
class WrittenMigration:
    path: Path
    operations: int


HEADER = """\
# Generated by perfaudit ({command}) on {when}.
# Review it before applying. Non-atomic: CREATE/DROP INDEX CONCURRENTLY cannot run inside a
# transaction, so an operation that fails leaves the ones before it applied.
"""


def _check_state(state, app_label: str, op: FixOperation) -> None:
    """The operation applies to the app's migration state as it is now."""
    if op.kind not in (ADD_INDEX, REMOVE_INDEX, VALIDATE_CONSTRAINT):
        return
    model_state = state.models.get((app_label, op.model_name))
    if model_state is None:
        raise ServiceError(
            f"--write-migration: {op.model_name} is not in {app_label}'s migrations yet "
            "(run makemigrations first)"
        )
    if op.kind == ADD_INDEX and op.index.fields:
        missing = [
            f.lstrip("-") for f in op.index.fields if f.lstrip("-") not in model_state.fields
        ]
        if missing:
            raise ServiceError(
                f"--write-migration: {', '.join(missing)} not in {app_label}'s migration "
                "state (run makemigrations first)"
            )


def _migrations_directory(app_label: str) -> Path:
    from django.db.migrations.loader import MigrationLoader

    module_name, _ = MigrationLoader.migrations_module(app_label)
    if module_name is None:
        raise ServiceError(f"--write-migration: app {app_label!r} has no migrations module")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise ServiceError(f"--write-migration: app {app_label!r} has no migrations") from None
    return Path(module.__file__).parent


def write_migration(
    connection,
    app_label: str,
    operations: Sequence[FixOperation],
    *,
    name: str,
    command: str,
    notes: Sequence[str] = (),
) -> WrittenMigration:
    """APP's next migration, ``NNNN_<name>.py``, holding ``operations`` (each with its note,
    listed in the header), on top of the app's current leaf."""
    from django.apps import apps
    from django.db import migrations
    from django.db.migrations.autodetector import MigrationAutodetector
    from django.db.migrations.loader import MigrationLoader
    from django.db.migrations.writer import MigrationWriter

    try:
        apps.get_app_config(app_label)
    except LookupError:
        raise ServiceError(f"--write-migration: no installed app {app_label!r}") from None
    loader = MigrationLoader(connection, ignore_no_migrations=True)
    leaves = loader.graph.leaf_nodes(app_label)
    if len(leaves) > 1:
        raise ServiceError(
            f"--write-migration: app {app_label!r} has {len(leaves)} leaf migrations; "
            "run makemigrations --merge first"
        )
    directory = _migrations_directory(app_label)
    state = loader.project_state()
    for op in operations:
        _check_state(state, app_label, op)
    number = max((MigrationAutodetector.parse_number(n) or 0 for _a, n in leaves), default=0) + 1
    path = directory / f"{number:04d}_{name}.py"
    if path.exists():
        raise ServiceError(f"--write-migration: {path} exists already")
    migration = migrations.Migration(path.stem, app_label)
    migration.dependencies = list(leaves)
    migration.operations = [django_operation(op) for op in operations]
    body = MigrationWriter(migration, include_header=False).as_string()
    body = body.replace(
        "class Migration(migrations.Migration):\n",
        "class Migration(migrations.Migration):\n    atomic = False\n",
        1,
    )
    listed = "".join(
        "".join(f"# {line}\n" for line in textwrap.wrap(f"{n}. {note}", 96))
        for n, note in enumerate(notes, 1)
    )
    text = HEADER.format(command=command, when=dt.date.today()) + listed + "\n" + body
    compile(text, str(path), "exec")  # never write what Python cannot load
    path.write_text(text)
    return WrittenMigration(path, len(operations))
