"""Django's own indexes missing from the database: a ``db_index=True`` field's index or a
CharField's ``_like`` index someone dropped (a ForeignKey's is missing_fk_index's business).

The fix restores it under the name a fresh install gives it, IF NOT EXISTS, as RunSQL: the
model already declares it (field-level), so no ``Meta.indexes`` entry, and a fresh install,
which has it, stays as it is.
"""

from __future__ import annotations

from perfaudit.findings import Finding
from perfaudit.rules.indexes.fixes import restore_own_index
from perfaudit.rules.indexes.origins import matches
from perfaudit.snapshots.declared import ImplicitIndex
from perfaudit.snapshots.indexes import IndexInfo


def missing_implicit(
    implicit: tuple[ImplicitIndex, ...],
    indexes: list[IndexInfo],
    *,
    existing_tables: set[str],
    fk_columns: set[tuple[str, tuple[str, ...]]],
) -> list[Finding]:
    """``fk_columns``: (table, columns) of the foreign keys (missing_fk_index judges those)."""
    findings = []
    for spec in implicit:
        if spec.kind not in ("field", "like") or spec.table not in existing_tables:
            continue
        if (spec.table, spec.columns) in fk_columns and spec.kind == "field":
            continue
        if any(matches(i, spec) for i in indexes):
            continue
        what = "its _like pattern-ops index" if spec.kind == "like" else "its index"
        findings.append(
            Finding(
                kind="drift",
                severity="warning",
                table=spec.table,
                object=spec.name,
                message=f"Django creates {what} for {spec.model.app_label}."
                f"{spec.model.model_name}.{spec.field} (db_index or unique), but it is absent "
                "from the database",
                evidence={"missing": True, "column": spec.columns[0], "origin": spec.kind},
                fix=restore_own_index(spec),
            )
        )
    return findings
