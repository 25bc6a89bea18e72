"""Constraints added NOT VALID and never validated (pg_constraint.convalidated = false).

Such a constraint is enforced for new and updated rows, but old rows were never checked, so the
planner cannot rely on it (a CHECK does not help constraint exclusion) and rows breaking it may
exist. ``ALTER TABLE ... VALIDATE CONSTRAINT`` checks them under SHARE UPDATE EXCLUSIVE, which
does not block reads or writes.
"""

from __future__ import annotations

from perfaudit.catalog import declared
from perfaudit.snapshots.constraints import (
    ConstraintsSelection,
    ConstraintsSnapshot,
    NotValidConstraint,
)

_SQL = """
SELECT n.nspname, t.relname, c.conname, c.contype::text, pg_get_constraintdef(c.oid),
       ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
             ORDER BY k.ord),
       r.relname,
       ARRAY(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY AS k(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum
             ORDER BY k.ord),
       CASE WHEN c.contype = 'c' THEN pg_get_expr(c.conbin, c.conrelid) END
FROM pg_constraint c
JOIN pg_class t ON t.oid = c.conrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
LEFT JOIN pg_class r ON r.oid = c.confrelid
WHERE NOT c.convalidated
  AND n.nspname = ANY(current_schemas(false))
  AND (%(table)s::text IS NULL OR t.relname = %(table)s::text)
ORDER BY t.relname, c.conname
"""


def collect(connection, selection: ConstraintsSelection) -> ConstraintsSnapshot:
    with connection.cursor() as cursor:
        cursor.execute(_SQL, {"table": selection.table})
        rows = cursor.fetchall()
    return ConstraintsSnapshot(
        models=declared.read(connection).models if rows else {},
        selection=selection,
        not_valid=tuple(
            NotValidConstraint(
                schema=schema,
                table=tbl,
                name=name,
                type=contype,
                definition=definition,
                columns=tuple(cols or ()),
                referenced_table=ref,
                referenced_columns=tuple(ref_cols or ()),
                check_expression=expr,
            )
            for schema, tbl, name, contype, definition, cols, ref, ref_cols, expr in rows
        ),
    )
