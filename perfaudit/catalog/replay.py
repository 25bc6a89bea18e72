"""What a ``migrate`` from zero creates that no migration state names: Django's own field
indexes (with the names they get when they are created) and the indexes of RunSQL operations.

The project's migrations are replayed in memory, state only (``state_forwards``: nothing runs,
nothing is rendered), in the order a fresh ``migrate`` applies them. Django names a field's
index when the field gets it (CreateModel, AddField, AlterField) from the table and column of
that moment, and RenameModel / RenameField / AlterModelTable keep the name, so the name of a
fresh install is only known by replaying the history. RunSQL text is read with PostgreSQL's
own parser (pglast).
"""

from __future__ import annotations

from django.db.backends.utils import truncate_name

from perfaudit import sqltext

# (app_label, model_name, field_name, kind) -> the name the index got when it was created.
Names = dict[tuple[str, str, str, str], str]


def full_plan(loader) -> list:
    """Every migration, in the order ``migrate`` applies them to an empty database."""
    seen, plan = set(), []
    for leaf in sorted(loader.graph.leaf_nodes()):
        for key in loader.graph.forwards_plan(leaf):
            if key not in seen:
                seen.add(key)
                plan.append(loader.graph.nodes[key])
    return plan


def _db_table(connection, app_label: str, model_state) -> str:
    table = model_state.options.get("db_table")
    return table or truncate_name(
        f"{app_label}_{model_state.name_lower}", connection.ops.max_name_length()
    )


def _bound(name: str, field):
    """A copy of a state field with its attname and column set (state fields are unbound)."""
    copy = field.clone()
    copy.set_attributes_from_name(name)
    return copy


def _target_field(state, field):
    """The field a ForeignKey points at, from the migration state (for its column type)."""
    model = field.remote_field.model
    if not isinstance(model, str) or "." not in model:
        return None
    app_label, name = model.split(".", 1)
    target = state.models.get((app_label, name.lower()))
    if target is None:
        return None
    to_field = getattr(field.remote_field, "field_name", None)
    for fname, candidate in target.fields.items():
        if fname == to_field or (to_field is None and candidate.primary_key):
            return _bound(fname, candidate)
    return None


def index_kinds(field, db_type: str | None) -> dict[str, str | None]:
    """kind -> opclass of the indexes Django creates for ``field`` (of column type
    ``db_type``) on its own: ``field`` (a plain index: db_index without unique), ``like`` (the
    pattern-ops index of a varchar or text column with db_index or unique: Django's
    ``_create_like_index_sql``), ``unique`` (the unique constraint)."""
    kinds: dict[str, str | None] = {}
    if not field.concrete or field.many_to_many:
        return kinds
    if field.db_index and not field.unique:
        kinds["field"] = None
    if field.unique and not field.primary_key:
        kinds["unique"] = None
    if (field.db_index or field.unique) and db_type and "[" not in db_type:
        if db_type.startswith("varchar"):
            kinds["like"] = "varchar_pattern_ops"
        elif db_type.startswith("text"):
            kinds["like"] = "text_pattern_ops"
    return kinds


def _state_db_type(connection, state, field) -> str | None:
    """The column type of a state field (a ForeignKey's is its target's)."""
    typed = _target_field(state, field) if field.is_relation else field
    return typed.db_type(connection) if typed is not None else None


#: The suffix Django's _create_index_name gives each kind.
SUFFIX = {"field": "", "like": "_like", "unique": "_uniq"}


def _name_field(connection, editor, names: Names, state, app_label, model_name, fname):
    """Record the names Django gives ``fname``'s indexes now, unless it has them already."""
    model_state = state.models.get((app_label, model_name))
    if model_state is None or fname not in model_state.fields:
        return
    field = _bound(fname, model_state.fields[fname])
    kinds = index_kinds(field, _state_db_type(connection, state, field))
    table = _db_table(connection, app_label, model_state)
    for kind, suffix in SUFFIX.items():
        key = (app_label, model_name, fname, kind)
        if kind not in kinds:
            names.pop(key, None)
        elif key not in names:
            names[key] = editor._create_index_name(table, [field.column], suffix=suffix)


def _move(names: Names, match, rename) -> None:
    for key in [k for k in names if match(k)]:
        names[rename(key)] = names.pop(key)


def _forget(names: Names, match) -> None:
    for key in [k for k in names if match(k)]:
        del names[key]


def _follow(connection, editor, names: Names, state, app_label: str, operation) -> None:
    """Update ``names`` for one operation, already applied to ``state``."""
    from django.db.migrations import operations as ops

    kind = type(operation)
    if isinstance(operation, ops.SeparateDatabaseAndState):
        return  # its state operations are followed one by one (see replay)
    if kind is ops.CreateModel:
        for fname, _field in operation.fields:
            _name_field(connection, editor, names, state, app_label, operation.name_lower, fname)
    elif kind in (ops.AddField, ops.AlterField):
        model, fname = operation.model_name_lower, operation.name
        _name_field(connection, editor, names, state, app_label, model, fname)
    elif kind is ops.RenameField:
        model, old, new = operation.model_name_lower, operation.old_name, operation.new_name
        _move(
            names,
            lambda k: k[:3] == (app_label, model, old),
            lambda k: (app_label, model, new, k[3]),
        )
    elif kind is ops.RenameModel:
        old, new = operation.old_name_lower, operation.new_name_lower
        _move(names, lambda k: k[:2] == (app_label, old), lambda k: (app_label, new, *k[2:]))
    elif kind is ops.RemoveField:
        model, fname = operation.model_name_lower, operation.name
        _forget(names, lambda k: k[:3] == (app_label, model, fname))
    elif kind is ops.DeleteModel:
        _forget(names, lambda k: k[:2] == (app_label, operation.name_lower))


def _runsql_indexes(found: dict, operation, label: str) -> None:
    """(table, index) -> (migration, unique) for the CREATE INDEX statements of a RunSQL;
    a DROP INDEX there forgets it."""
    statements = operation.sql if isinstance(operation.sql, list | tuple) else [operation.sql]
    for statement in statements:
        text = statement[0] if isinstance(statement, list | tuple) else statement
        if not isinstance(text, str):
            continue
        try:
            created, dropped = sqltext.index_ddl(text)
        except sqltext.SQLTextError:
            continue
        for table, name, unique in created:
            found[(table, name)] = (label, unique)
        for name in dropped:
            for key in [k for k in found if k[1] == name]:
                del found[key]


def _operations(operation):
    """An operation, or the parts of a SeparateDatabaseAndState: (state ops, database ops)."""
    from django.db.migrations import operations as ops

    if isinstance(operation, ops.SeparateDatabaseAndState):
        return list(operation.state_operations), list(operation.database_operations)
    return [operation], [operation]


def replay(connection, loader) -> tuple[Names, dict]:
    """(the field index names of a fresh install, the RunSQL indexes still there at the end:
    (table, index) -> ("app.migration", unique))."""
    from django.db.migrations import operations as ops
    from django.db.migrations.state import ProjectState

    editor = connection.schema_editor()
    state = ProjectState(real_apps=set(loader.unmigrated_apps))
    names: Names = {}
    runsql: dict = {}
    for migration in full_plan(loader):
        label = f"{migration.app_label}.{migration.name}"
        for operation in migration.operations:
            state_ops, database_ops = _operations(operation)
            for op in state_ops:
                op.state_forwards(migration.app_label, state)
                _follow(connection, editor, names, state, migration.app_label, op)
            for op in database_ops:
                if isinstance(op, ops.RunSQL):
                    _runsql_indexes(runsql, op, label)
    return names, runsql
