"""NOT VALID constraints: enforced for new rows only; old rows never checked."""

from __future__ import annotations

from perfaudit import ddl
from perfaudit.conf import PerfauditSettings
from perfaudit.findings import Finding, Fix
from perfaudit.operations import VALIDATE_CONSTRAINT, FixOperation
from perfaudit.snapshots.constraints import ConstraintsSnapshot, NotValidConstraint

TYPES = {"c": "CHECK", "f": "FOREIGN KEY", "n": "NOT NULL"}


def violations_query(c: NotValidConstraint) -> str | None:
    """A query listing the rows that would make VALIDATE CONSTRAINT fail."""
    table = ddl.table(c.schema, c.table)
    if c.type == "c" and c.check_expression:
        # A CHECK passes when its expression is true or NULL.
        return f"SELECT * FROM {table} WHERE NOT ({c.check_expression});"
    if c.type == "f" and c.referenced_table and c.columns:
        ref = ddl.ident(c.referenced_table)
        join = " AND ".join(
            f"p.{ddl.ident(rc)} = t.{ddl.ident(col)}"
            for col, rc in zip(c.columns, c.referenced_columns, strict=False)
        )
        present = " AND ".join(f"t.{ddl.ident(col)} IS NOT NULL" for col in c.columns)
        return (
            f"SELECT t.* FROM {table} t WHERE {present} "
            f"AND NOT EXISTS (SELECT 1 FROM {ref} p WHERE {join});"
        )
    if c.type == "n" and c.columns:
        return f"SELECT * FROM {table} WHERE {ddl.ident(c.columns[0])} IS NULL;"
    return None


def evaluate(snapshot: ConstraintsSnapshot, conf: PerfauditSettings) -> list[Finding]:
    models = snapshot.models
    findings = []
    for c in snapshot.not_valid:
        kind = TYPES.get(c.type, c.type)
        model = models.get(c.table)
        check = violations_query(c)
        validate = ddl.validate_constraint(ddl.table(c.schema, c.table), c.name)
        sql = validate
        if check:
            sql = f"-- rows that break it (fix or delete them first):\n{check}\n{validate}"
        findings.append(
            Finding(
                kind="not_valid_constraint",
                severity="warning",
                table=c.table,
                object=c.name,
                message=f"{kind} constraint added NOT VALID and never validated: new rows are "
                "checked, existing ones never were, so rows breaking it may exist and the "
                "planner cannot rely on it. VALIDATE takes a SHARE UPDATE EXCLUSIVE lock: "
                "reads and writes go on",
                evidence={
                    "type": kind,
                    "definition": c.definition,
                    "violations_query": check,
                },
                fix=Fix(
                    sql=sql,
                    # ValidateConstraint runs ALTER TABLE ... VALIDATE CONSTRAINT on the
                    # model's table and changes no migration state, so it is valid whatever
                    # the state says about the constraint.
                    operations=(
                        FixOperation(
                            VALIDATE_CONSTRAINT, model.app_label, model.model_name, c.table, c.name
                        ),
                    )
                    if model
                    else (),
                    app_label=model.app_label if model else None,
                ),
            )
        )
    return findings
