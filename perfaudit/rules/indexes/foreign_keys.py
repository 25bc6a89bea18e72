"""Foreign keys whose columns lead no index: joins and ON DELETE on the parent scan the child."""

from __future__ import annotations

from collections import defaultdict

from perfaudit import ddl
from perfaudit.findings import Finding, Fix
from perfaudit.operations import ADD_INDEX, DjangoIndex, FixOperation
from perfaudit.rules.indexes.fixes import restore_own_index
from perfaudit.snapshots.declared import ImplicitIndex, ModelRef
from perfaudit.snapshots.indexes import ForeignKey, IndexInfo


def serves_fk(index: IndexInfo, fk: ForeignKey) -> bool:
    # A partial index cannot serve every lookup by the FK columns (ON DELETE, joins).
    if not index.is_valid or index.predicate is not None or index.method != "btree":
        return False
    n = len(fk.columns)
    leading = {c.attnum for c in index.columns[:n]}
    return len(index.columns) >= n and leading == set(fk.columns)


def _declare(fk: ForeignKey, model: ModelRef | None, index_names: dict | None) -> Fix:
    """Django makes no index for it (db_index=False, or no model): declare one."""
    fields, name = (index_names or {}).get(
        (fk.table, tuple(fk.column_names)), (fk.column_names, _short_index_name(fk))
    )
    fields = list(fields)
    sql = ddl.create_index(
        name, ddl.ident(fk.table), [ddl.ident(c) for c in fk.column_names], if_not_exists=True
    )
    if not model:
        return Fix(sql=sql)
    index = DjangoIndex(name=name, fields=tuple(fields))
    add = FixOperation(
        ADD_INDEX, model.app_label, model.model_name, fk.table, name, index=index, sql=(sql,)
    )
    return Fix(
        sql=sql,
        operations=(add,),
        app_label=model.app_label,
        model_change=f"add models.Index(fields={fields!r}, name={name!r}) to "
        f"{model.object_name or model.model_name}.Meta.indexes (otherwise makemigrations "
        "removes it again)",
    )


def missing_fk_indexes(
    foreign_keys: list[ForeignKey],
    indexes: list[IndexInfo],
    models: dict[str, ModelRef],
    *,
    index_names: dict[tuple, tuple] | None = None,
    implicit: tuple[ImplicitIndex, ...] = (),
) -> list[Finding]:
    """``index_names``: (table, column names) -> (model field names, the name Django gives
    ``models.Index(fields=[...])`` on that model: its own naming, within its 30-character
    limit). ``implicit``: the indexes Django makes itself (a ForeignKey with db_index)."""
    by_table: dict[tuple, list[IndexInfo]] = defaultdict(list)
    for index in indexes:
        by_table[(index.schema, index.table)].append(index)
    own = {(s.table, s.columns): s for s in implicit if s.kind == "field"}
    findings = []
    for fk in foreign_keys:
        if any(serves_fk(i, fk) for i in by_table[(fk.schema, fk.table)]):
            continue
        cols = ", ".join(fk.column_names)
        spec = own.get((fk.table, tuple(fk.column_names)))
        findings.append(
            Finding(
                kind="missing_fk_index",
                severity="warning",
                table=fk.table,
                object=fk.name,
                message=f"foreign key ({cols}) -> {fk.referenced_table} is not the leading "
                f"column(s) of any index: joins and ON DELETE on {fk.referenced_table} scan "
                f"{fk.table}" + (f" (Django's own index {spec.name} is missing)" if spec else ""),
                evidence={
                    "columns": list(fk.column_names),
                    "table_rows": fk.table_rows,
                    "django_index": spec.name if spec else None,
                },
                fix=restore_own_index(spec)
                if spec
                else _declare(fk, models.get(fk.table), index_names),
            )
        )
    return findings


def _short_index_name(fk: ForeignKey) -> str:
    """Django's Index naming shape (table[:11]_column[:7]_hash_idx, 30 characters at most)
    for tables no model maps."""
    import hashlib

    digest = hashlib.md5(  # noqa: S324 - a name, not security
        "".join([fk.table, *fk.column_names, "idx"]).encode()
    ).hexdigest()[:6]
    return f"{fk.table[:11]}_{fk.column_names[0][:7]}_{digest}_idx"
