"""Who made each index: decided by its shape (table, key columns, opclass, uniqueness) and the
migration history, never by its name alone.

RenameModel, RenameField and AlterModelTable keep the names Django gave indexes when it created
them, so a name computed from today's table and column says nothing about an old index; and a
name over 63 bytes is cut by PostgreSQL (NAMEDATALEN), so a declared name may be stored shorter.
"""

from __future__ import annotations

from perfaudit.ddl import stored_name
from perfaudit.snapshots.declared import STRAY, DeclaredSchema, ImplicitIndex, IndexOrigin
from perfaudit.snapshots.indexes import IndexInfo

PATTERN_OPS = ("varchar_pattern_ops", "text_pattern_ops", "bpchar_pattern_ops")


def _plain(index: IndexInfo) -> bool:
    return (
        index.method == "btree"
        and index.is_valid
        and index.predicate is None
        and not index.include
        and all(c.attnum and not c.descending for c in index.columns)
    )


def matches(index: IndexInfo, spec: ImplicitIndex) -> bool:
    """``index`` has the shape Django gives the implicit index ``spec``."""
    if index.table != spec.table or index.is_primary or index.predicate is not None:
        return False
    names = tuple(c.name for c in index.columns)
    if spec.kind == "unique":
        return index.is_unique and names == spec.columns and not index.include
    if index.is_unique or names != spec.columns or not _plain(index):
        return False
    opclass = index.columns[0].opclass_name
    if spec.kind == "like":
        return opclass == spec.opclass
    return opclass not in PATTERN_OPS


def _claim(candidates: list[IndexInfo], spec: ImplicitIndex) -> IndexInfo | None:
    """Of the indexes shaped like ``spec``, the one Django made: the one with its fresh-install
    name, else the oldest (a copy someone added later has a higher oid)."""
    if not candidates:
        return None
    named = [i for i in candidates if i.name == stored_name(spec.name)]
    return named[0] if named else min(candidates, key=lambda i: i.oid)


def classify(indexes: list[IndexInfo], declared: DeclaredSchema) -> dict:
    """(table, index) -> IndexOrigin for every index: declared by name (Meta.indexes, the
    migration state), Django's own by shape, a migration's RunSQL, else stray."""
    origins: dict = {}
    wanted = {(d.table, stored_name(d.name)): d for d in declared.indexes}
    named = {(t, stored_name(n)): o for (t, n), o in declared.origins.items()}
    runsql = {(r.table, r.name): r for r in declared.runsql}
    for index in indexes:
        key = (index.table, index.name)
        if key in wanted:
            origins[key] = named.get(key) or IndexOrigin(
                "declared", wanted[key].model, in_state=True
            )
        elif named.get(key) is not None and named[key].kind == "declared":
            origins[key] = named[key]
    for spec in declared.implicit:
        free = [
            i
            for i in indexes
            if (i.table, i.name) not in origins and not i.is_primary and matches(i, spec)
        ]
        claimed = _claim(free, spec)
        if claimed is not None:
            origins[(claimed.table, claimed.name)] = IndexOrigin(spec.kind, spec.model, spec.field)
    models = declared.models
    for index in indexes:
        key = (index.table, index.name)
        if key in origins:
            continue
        if key in runsql:
            origins[key] = IndexOrigin(
                "runsql", models.get(index.table), migration=runsql[key].migration
            )
        else:
            origins[key] = STRAY
    return origins


def implicit_for(declared: DeclaredSchema, table: str, columns: tuple[str, ...], kind: str):
    """The implicit index Django makes on ``table (columns)`` of this kind, if any."""
    for spec in declared.implicit:
        if spec.table == table and spec.columns == columns and spec.kind == kind:
            return spec
    return None
