"""Sequences and how far each has gone towards the largest value it (or its column) can take.

A sequence is tied to the column it feeds through pg_depend: deptype 'a' for serial /
``OWNED BY``, 'i' for identity columns (Django's AutoField since 4.1). The limit is the smaller
of the sequence's own MAXVALUE and the column type's maximum: a bigint sequence feeding an
integer column fails at 2,147,483,647, whatever the sequence allows.
"""

from __future__ import annotations

from perfaudit.snapshots.sequences import SequenceInfo, SequencesSelection, SequencesSnapshot

# pg_sequences.last_value is NULL when the session may not read the sequence, instead of the
# error a SELECT on the sequence itself would raise (PgHero's approach needs a privilege check
# first); has_sequence_privilege avoids the error on older servers too.
_SQL = """
SELECT s.schemaname, s.sequencename, s.data_type::text, s.increment_by, s.min_value,
       s.max_value, s.cycle,
       CASE WHEN has_sequence_privilege(c.oid, 'SELECT') THEN s.last_value END,
       t.relname, a.attname, format_type(a.atttypid, NULL), d.deptype = 'i'
FROM pg_sequences s
JOIN pg_namespace n ON n.nspname = s.schemaname
JOIN pg_class c ON c.relname = s.sequencename AND c.relnamespace = n.oid AND c.relkind = 'S'
LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid
                     AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
LEFT JOIN pg_class t ON t.oid = d.refobjid
LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
WHERE s.schemaname = ANY(current_schemas(false))
  AND (%(table)s::text IS NULL OR t.relname = %(table)s::text)
ORDER BY s.schemaname, s.sequencename
"""


def collect(connection, selection: SequencesSelection) -> SequencesSnapshot:
    with connection.cursor() as cursor:
        cursor.execute(_SQL, {"table": selection.table})
        rows = cursor.fetchall()
    return SequencesSnapshot(
        selection=selection,
        sequences=tuple(
            SequenceInfo(
                schema=schema,
                name=name,
                data_type=data_type,
                increment=increment,
                min_value=min_value,
                max_value=max_value,
                cycle=cycle,
                last_value=last_value,
                table=tbl,
                column=column,
                column_type=column_type,
                identity=bool(identity),
            )
            for (
                schema,
                name,
                data_type,
                increment,
                min_value,
                max_value,
                cycle,
                last_value,
                tbl,
                column,
                column_type,
                identity,
            ) in rows
        ),
    )
