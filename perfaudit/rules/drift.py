"""Drift between what models declare and what the database has."""

from __future__ import annotations

from perfaudit import ddl
from perfaudit.ddl import stored_name
from perfaudit.findings import Finding, Fix
from perfaudit.operations import RUN_SQL, FixOperation
from perfaudit.snapshots.declared import DeclaredIndex, IndexOrigin, ModelRef
from perfaudit.snapshots.indexes import IndexInfo


def _repair(want: DeclaredIndex, sql: list[str], reason: str) -> Fix:
    # The migration state already has this index: only the database needs repairing, so
    # RunSQL (state unchanged) with IF [NOT] EXISTS, which a fresh install runs harmlessly.
    # A unique one may meet duplicate rows and fail, stopping the operations after it: advice.
    if want.unique:
        return Fix(
            sql="\n".join(sql),
            app_label=want.model.app_label,
            unsafe="a unique index or constraint fails to build while duplicate keys exist: "
            "check for them, then run the SQL (left out of --write-migration)",
        )
    repair = FixOperation(
        RUN_SQL,
        want.model.app_label,
        model_name=want.model.model_name,
        table=want.table,
        name=want.name,
        sql=tuple(sql),
        reason=reason,
    )
    return Fix(sql="\n".join(sql), operations=(repair,), app_label=want.model.app_label)


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


def _missing(want: DeclaredIndex) -> Finding:
    return Finding(
        kind="drift",
        severity="warning",
        table=want.table,
        object=want.name,
        message=f"declared on {want.model.app_label}.{want.model.model_name} but "
        "absent from the database",
        evidence={"declared": want.create_sql, "missing": True},
        fix=_repair(
            want,
            [ddl.create_if_missing(want.create_sql, stored_name(want.name))],
            f"{want.name} is declared and in the migration state but missing from "
            "this database; IF NOT EXISTS keeps fresh installs (where the app's "
            "migration created it) working",
        ),
    )


def _different(want: DeclaredIndex, have: IndexInfo, diffs: list[str]) -> Finding:
    drop = (
        ddl.drop_index(have.name)
        if not have.constraint
        else ddl.drop_constraint(ddl.ident(have.table), have.constraint, if_exists=True)
    )
    return Finding(
        kind="drift",
        severity="warning",
        table=want.table,
        object=want.name,
        message="differs from its model declaration: " + "; ".join(diffs),
        evidence={"declared": want.create_sql, "actual": have.definition},
        fix=_repair(
            want,
            [drop, ddl.create_if_missing(want.create_sql, stored_name(want.name))],
            f"rebuild {want.name} as its model declares it; on a fresh install "
            "it is dropped and re-created, harmlessly",
        ),
    )


def _undeclared(have: IndexInfo, origin: IndexOrigin | None) -> Finding:
    if origin is not None and origin.kind == "runsql":
        how = f"created by the RunSQL of migration {origin.migration}, declared by no model"
    else:
        how = "declared by no model, migration state or migration (created by hand)"
    return Finding(
        kind="drift",
        severity="info",
        table=have.table,
        object=have.name,
        message=f"in the database but {how}: declare it in Meta.indexes (adopting it with "
        "SeparateDatabaseAndState(state_operations=[AddIndex(...)])), or drop it "
        "if nothing needs it",
        evidence={
            "actual": have.definition,
            "scans": have.scans,
            "origin": origin.kind if origin else "stray",
        },
    )


def drift_findings(
    declared: list[DeclaredIndex],
    actual: list[IndexInfo],
    *,
    known_names: set[str],
    models: dict[str, ModelRef],
    existing_tables: set[str],
    origins: dict | None = None,
) -> list[Finding]:
    """``origins``: (table, index) -> IndexOrigin (rules.indexes.origins.classify): an index
    whose origin is known (Django's own, a migration's RunSQL) is not undeclared."""
    by_name = {(i.table, i.name): i for i in actual}
    findings = []
    for want in declared:
        if want.table not in existing_tables:
            continue  # the table itself is missing: that is `migrate`'s business
        # PostgreSQL stores a name longer than 63 bytes cut short: look for that one.
        have = by_name.get((want.table, stored_name(want.name)))
        if have is None:
            findings.append(_missing(want))
        elif diffs := _differences(want, have):
            findings.append(_different(want, have, diffs))
    declared_keys = {(want.table, stored_name(want.name)) for want in declared}
    for have in actual:
        origin = (origins or {}).get((have.table, have.name))
        if (
            have.table in models
            and (have.table, have.name) not in declared_keys
            and have.name not in known_names
            and (origin is None or origin.kind in ("stray", "runsql"))
            and not have.is_primary
            and have.constraint is None
        ):
            findings.append(_undeclared(have, origin))
    return findings
