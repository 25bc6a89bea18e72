"""Drift between what models declare and what the database has."""

from __future__ import annotations

from perfaudit.catalog.declared import DeclaredIndex, ModelRef
from perfaudit.catalog.indexes import IndexInfo
from perfaudit.findings import Finding, Fix
from perfaudit.sqltext import quote_ident


def _differences(declared: DeclaredIndex, actual: IndexInfo) -> list[str]:
    diffs = []
    if declared.method != actual.method:
        diffs.append(f"method {actual.method}, declared {declared.method}")
    if declared.unique != actual.is_unique:
        diffs.append(f"unique={actual.is_unique}, declared unique={declared.unique}")
    if len(declared.columns) != len(actual.columns):
        diffs.append(f"{len(actual.columns)} key columns, declared {len(declared.columns)}")
    else:
        for pos, (want, have) in enumerate(zip(declared.columns, actual.columns, strict=True), 1):
            have_col = have.name if have.attnum else None
            if want != have_col:
                diffs.append(f"key {pos} is {have.name}, declared {want or 'an expression'}")
        if declared.method == "btree":
            for pos, (want, have) in enumerate(
                zip(declared.descending, actual.columns, strict=True), 1
            ):
                if want != have.descending:
                    diffs.append(f"key {pos} is {'DESC' if have.descending else 'ASC'}")
    if declared.partial != (actual.predicate is not None):
        diffs.append(
            f"predicate {actual.predicate!r}, declared "
            f"{'a condition' if declared.partial else 'none'}"
        )
    if tuple(declared.include) != tuple(actual.include):
        diffs.append(f"INCLUDE {list(actual.include)}, declared {list(declared.include)}")
    return diffs


def drift_findings(
    declared: list[DeclaredIndex],
    actual: list[IndexInfo],
    *,
    known_names: set[str],
    models: dict[str, ModelRef],
    existing_tables: set[str],
) -> list[Finding]:
    by_name = {(i.table, i.name): i for i in actual}
    findings = []
    declared_keys = set()
    for want in declared:
        declared_keys.add((want.table, want.name))
        if want.table not in existing_tables:
            continue  # the table itself is missing: that is `migrate`'s business
        have = by_name.get((want.table, want.name))
        if have is None:
            findings.append(
                Finding(
                    kind="drift",
                    severity="warning",
                    table=want.table,
                    object=want.name,
                    message=f"declared on {want.model.app_label}.{want.model.model_name} but "
                    "absent from the database",
                    evidence={"declared": want.create_sql},
                    fix=Fix(sql=want.create_sql, migration=want.operation),
                )
            )
            continue
        diffs = _differences(want, have)
        if diffs:
            findings.append(
                Finding(
                    kind="drift",
                    severity="warning",
                    table=want.table,
                    object=want.name,
                    message="differs from its model declaration: " + "; ".join(diffs),
                    evidence={"declared": want.create_sql, "actual": have.definition},
                    fix=Fix(
                        sql=f"DROP INDEX CONCURRENTLY {quote_ident(have.name)}; {want.create_sql}",
                        migration=want.operation,
                    ),
                )
            )
    for have in actual:
        if (
            have.table in models
            and (have.table, have.name) not in declared_keys
            and have.name not in known_names
            and not have.is_primary
            and have.constraint is None
        ):
            findings.append(
                Finding(
                    kind="drift",
                    severity="info",
                    table=have.table,
                    object=have.name,
                    message="in the database but declared by no model or migration (created "
                    "by hand or by RunSQL?)",
                    evidence={"actual": have.definition, "scans": have.scans},
                    fix=Fix(sql=None, migration="declare it in Meta.indexes, or drop it"),
                )
            )
    return findings
