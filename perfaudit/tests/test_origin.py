"""perfaudit.origin: whose statement is it (pure, no database)."""

import pytest

from perfaudit import origin


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ('SELECT "tasks_task"."id" FROM "tasks_task" WHERE "tasks_task"."owner_id" = $1', "app"),
        ("INSERT INTO tasks_task (title) VALUES ($1) RETURNING id", "app"),
        ("WITH x AS (SELECT id FROM tasks_task) UPDATE tasks_task SET done = $1", "app"),
        ("WITH recent AS (SELECT 1) SELECT * FROM recent", "app"),  # a CTE is not a table
        ("SELECT 1", "app"),  # e.g. a health check: the application's own
        ("COPY tasks_task (title) FROM STDIN", "app"),
        # a join of an application table with the catalog is the application's
        ("SELECT t.id FROM tasks_task t JOIN pg_class c ON c.relname = $1", "app"),
        ('INSERT INTO "silk_request" ("id", "path") VALUES ($1, $2)', "profiler"),
        ('UPDATE "silk_request" SET "num_sql_queries" = $1 WHERE "id" = $2', "profiler"),
        ("EXPLAIN (FORMAT JSON) SELECT * FROM tasks_task", "profiler"),
        (
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace",
            "catalog",
        ),
        ("SELECT calls FROM pg_stat_statements WHERE dbid = $1", "catalog"),
        ("SELECT * FROM information_schema.columns WHERE table_name = $1", "catalog"),
        ("SELECT pg_stat_statements_reset(0, $1, 0)", "catalog"),
        ("SELECT to_regclass($1) IS NOT NULL", "catalog"),
        ("CREATE INDEX CONCURRENTLY i ON tasks_task (owner_id)", "schema"),
        ("ALTER TABLE tasks_task ADD COLUMN x integer", "schema"),
        ("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", "schema"),
        ("VACUUM ANALYZE tasks_task", "schema"),
        ('INSERT INTO "django_migrations" ("app", "name") VALUES ($1, $2)', "schema"),
        ("BEGIN", "transaction"),
        ('SAVEPOINT "s140_x1"', "transaction"),
        ('RELEASE SAVEPOINT "s140_x1"', "transaction"),
        ("COMMIT", "transaction"),
        ("SET statement_timeout = $1", "transaction"),
        ("SELECT set_config($1, $2, $3)", "transaction"),
        ("SHOW server_version", "transaction"),
    ],
)
def test_classify(sql, expected):
    assert origin.classify(sql) == expected


def test_truncated_text_still_recognizes_profiler_tables():
    # pg_stat_statements cuts long statements at track_activity_query_size: unparseable.
    assert origin.classify('SELECT "silk_request"."id" FROM "silk_request" WHERE (') == "profiler"
    assert origin.classify("SELECT a FROM tasks_task WHERE (a = ") == "app"


def test_profiler_prefixes_are_configurable():
    sql = "INSERT INTO debugtool_log (a) VALUES ($1)"
    assert origin.classify(sql) == "app"
    assert origin.classify(sql, profiler_prefixes=("debugtool_",)) == "profiler"


def test_every_origin_has_a_label():
    assert set(origin.LABELS) == set(origin.ORIGINS)
    assert origin.visible("app", show_all=False)
    assert not origin.visible("catalog", show_all=False)
    assert origin.visible("catalog", show_all=True)
