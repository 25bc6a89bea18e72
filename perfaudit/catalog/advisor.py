"""What the index advisor reads before judging: statements, tables, column statistics, indexes,
models, extensions. Static SQL with bound parameters; nothing here decides anything.
"""

from __future__ import annotations

from perfaudit import origin, sqltext
from perfaudit.catalog import declared, server
from perfaudit.catalog import indexes as index_catalog
from perfaudit.catalog import statements as statement_catalog
from perfaudit.snapshots.advisor import (
    AdvisorSelection,
    AdvisorSnapshot,
    AdvisorStatement,
    ColumnFacts,
    ExistingIndex,
    Extensions,
    ModelFields,
    TableFacts,
)
from perfaudit.snapshots.indexes import IndexInfo, IndexSelection
from perfaudit.snapshots.statements import StatementsStatus


def extensions(connection) -> Extensions:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'hypopg'),
                   EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'hypopg'),
                   EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm')
            """
        )
        return Extensions(*cursor.fetchone())


def _plannable(sql: str, prefixes: tuple[str, ...]) -> bool:
    """An application statement the advisor can plan: a SELECT, UPDATE or DELETE reading
    tables of the schema (not the catalog's, nor HypoPG's)."""
    if sqltext.first_keyword(sql) not in sqltext.ADVISABLE:
        return False
    if origin.classify(sql, profiler_prefixes=prefixes) != origin.APP:
        return False
    try:
        tables = sqltext.referenced_tables(sql)
    except sqltext.SQLTextError:
        return True  # listed, with the parser's reason
    return bool(tables) and not any(
        t.startswith(("pg_", "hypopg")) or t == "information_schema" for t in tables
    )


def top_statements(
    connection, selection: AdvisorSelection
) -> tuple[StatementsStatus, list[AdvisorStatement]]:
    """The current database's top ``selection.top`` application entries of
    pg_stat_statements by total time (normalized text, ``$n``)."""
    status = statement_catalog.statements_status(connection)
    if not status.usable or selection.top <= 0:
        return status, []
    # Utility statements, catalog queries and the profiler's bookkeeping (silk's tables) fill
    # the top of pg_stat_statements too: read more, keep the first ``top`` plannable ones.
    rows, _total_ms = statement_catalog.list_statements(
        connection,
        min_mean_ms=0.0,
        min_calls=selection.min_calls,
        order="total",
        limit=selection.top * 10,
    )
    plannable = [r for r in rows if _plannable(r.query, selection.profiler_prefixes)]
    return status, [
        AdvisorStatement(
            sql=row.query,
            source="pg_stat_statements",
            queryid=row.queryid,
            calls=row.calls,
            total_ms=row.total_ms,
            mean_ms=row.mean_ms,
        )
        for row in plannable[: selection.top]
    ]


_COLUMNS_SQL = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
       s.null_frac, s.n_distinct, s.most_common_vals::text::text[],
       s.most_common_freqs::float8[], s.avg_width
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname
                    AND s.attname = a.attname AND NOT s.inherited
WHERE c.relname = ANY(%(tables)s) AND n.nspname = ANY(current_schemas(false))
  AND c.relkind IN ('r', 'p', 'm')
ORDER BY c.relname, a.attnum
"""

_TABLES_SQL = """
SELECT c.relname, greatest(c.reltuples, 0)::float8, pg_total_relation_size(c.oid),
       coalesce(s.n_tup_ins, 0), coalesce(s.n_tup_upd, 0), coalesce(s.n_tup_del, 0),
       c.relpages
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid
WHERE c.relname = ANY(%(tables)s) AND n.nspname = ANY(current_schemas(false))
  AND c.relkind IN ('r', 'p', 'm')
"""


def table_facts(connection, tables: list[str]) -> dict[str, TableFacts]:
    """Rows, size, write counters, column statistics and indexes of the named tables (three
    queries whatever their number). Tables not on the search path are left out."""
    names = sorted(set(tables))
    if not names:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(_COLUMNS_SQL, {"tables": names})
        column_rows = cursor.fetchall()
        cursor.execute(_TABLES_SQL, {"tables": names})
        table_rows = cursor.fetchall()
    columns: dict[str, dict[str, ColumnFacts]] = {}
    for table, name, type_, null_frac, n_distinct, mcv, mcf, width in column_rows:
        columns.setdefault(table, {})[name] = ColumnFacts(
            name=name,
            type=type_,
            null_frac=null_frac,
            n_distinct=n_distinct,
            mcv=tuple(mcv or ()),
            mcf=tuple(mcf or ()),
            avg_width=width,
        )
    existing: dict[str, list[ExistingIndex]] = {}
    for index in index_catalog.list_indexes(connection):
        if index.table in columns:
            existing.setdefault(index.table, []).append(existing_index(index))
    facts = {}
    for table, rows, size, ins, upd, dele, relpages in table_rows:
        if rows == 0 and relpages > 0:
            rows = float(relpages)  # never analyzed: at least a row per page
        facts[table] = TableFacts(
            name=table,
            rows=rows,
            size_bytes=size,
            columns=columns.get(table, {}),
            indexes=tuple(existing.get(table, ())),
            writes=ins + upd + dele,
            inserts=ins,
            updates=upd,
        )
    return facts


def existing_index(index: IndexInfo) -> ExistingIndex:
    return ExistingIndex(
        name=index.name,
        method=index.method,
        keys=tuple(c.name for c in index.columns),
        descending=tuple(c.descending for c in index.columns),
        opclasses=tuple(c.opclass_name for c in index.columns),
        predicate=index.predicate,
        unique=index.is_unique,
        primary=index.is_primary,
        valid=index.is_valid and index.is_ready,
        expression_positions=tuple(c.attnum == 0 for c in index.columns),
    )


def model_fields(connection, schema=None) -> dict[str, ModelFields]:
    """Table -> its model and fields by column, for models a project migration can change
    (not contrib's or an installed package's). ``schema``: declared.read's, when read."""
    from django.apps import apps

    schema = schema or declared.read(connection)
    result = {}
    for table, ref in schema.models.items():
        if table in schema.unactionable:
            continue
        model = apps.get_model(ref.app_label, ref.model_name)
        fields = {f.column: f.name for f in model._meta.concrete_fields}
        result[table] = ModelFields(model=ref, fields=fields)
    return result


def _referenced(statements: list[AdvisorStatement]) -> list[str]:
    names = []
    for statement in statements:
        try:
            names += sqltext.referenced_tables(statement.sql)
        except sqltext.SQLTextError:
            continue  # the rules say why it is not advised on
    return names


def collect(connection, selection: AdvisorSelection) -> AdvisorSnapshot:
    """The statements (typed, captured, top of pg_stat_statements) and everything about the
    tables they read."""
    statements = [AdvisorStatement(sql=sql, source="sql") for sql in selection.sqls]
    statements += [AdvisorStatement(sql=sql, source=src) for src, sql in selection.captured]
    status = None
    if selection.top:
        status, top = top_statements(connection, selection)
        statements += top
    audit = index_catalog.collect(connection, IndexSelection()) if selection.with_audit else None
    return AdvisorSnapshot(
        server=audit.server if audit else server.server_info(connection),
        extensions=extensions(connection),
        statements=tuple(statements),
        tables=table_facts(connection, _referenced(statements)),
        models=model_fields(connection, audit.declared) if audit else {},
        statements_status=status,
        selection=selection,
        audit=audit,
    )
