"""adviseindexes on the demo project's data and on other sources of statements: the demo
tasks table with a migration that applies, --url capture, pg_stat_statements' top entries."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from perfaudit.errors import ServiceError
from perfaudit.services import advisor

from .conftest import requires_demo, run_sql
from .test_services_advisor import _by_statement, planted  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


@requires_demo
@pytest.mark.django_db(transaction=True)
def test_demo_data_suggestion_migrates_and_the_plan_uses_it(tmp_path, settings, monkeypatch):
    """tasks_task on seeddata's demo data: no index serves a completed_at range; the advisor's
    migration, written into a scratch copy of tasks' migrations, applies, and the plan then
    uses the new index. tasks/migrations is never touched."""
    import importlib
    import shutil
    from pathlib import Path

    from django.apps import apps

    call_command("seeddata", users=30, tasks=4000, no_progress=True, stdout=None)
    run_sql("ANALYZE tasks_task")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT date_trunc('day', min(completed_at)) + interval '3 days' FROM tasks_task"
        )
        day = cursor.fetchone()[0]
    start = day.isoformat()
    sql = (
        f"SELECT id, title FROM tasks_task WHERE completed_at >= '{start}' "
        f"AND completed_at < '{start}'::timestamptz + interval '1 day'"
    )
    scratch = tmp_path / "pa_scratch_migrations"
    # Through the app registry: perfaudit (tests included) never imports the demo project.
    source = Path(apps.get_app_config("tasks").path) / "migrations"
    shutil.copytree(source, scratch, ignore=shutil.ignore_patterns("__pycache__"))
    before_files = sorted(p.name for p in source.iterdir())
    monkeypatch.syspath_prepend(str(tmp_path))
    settings.MIGRATION_MODULES = {"tasks": "pa_scratch_migrations"}

    # The app's current leaf: the new migration goes on top of it, and the test returns to it.
    [leaf] = MigrationLoader(connection).graph.leaf_nodes("tasks")
    number = int(leaf[1][:4]) + 1
    report = advisor.advise_indexes(sqls=[sql], allow_build=True, write_migration="tasks")
    [sug] = report.suggestions
    assert (sug.table, sug.using, sug.columns, sug.where) == (
        "tasks_task",
        "btree",
        ["completed_at"],
        None,
    )
    assert sug.migration["meta_index"] == (
        f"models.Index(fields=['completed_at'], name='{sug.name}')"
    )
    assert sug.name.startswith("tasks_task_complet_") and len(sug.name) <= 30
    written = scratch / f"{number:04d}_adviseindexes.py"
    assert report.written == str(written)
    text = written.read_text()
    assert "atomic = False" in text and "AddIndexConcurrently" in text
    assert f"('tasks', '{leaf[1]}')" in text
    importlib.invalidate_caches()
    try:
        call_command("migrate", "tasks", verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN {sql}")
            plan = "\n".join(r[0] for r in cursor.fetchall())
        assert sug.name in plan
    finally:
        call_command("migrate", "tasks", leaf[1], verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_indexes WHERE indexname = %s", [sug.name])
        assert cursor.fetchone()[0] == 0
    assert sorted(p.name for p in source.iterdir()) == before_files


@requires_demo
def test_url_statements_are_captured_and_judged(owner, settings):
    """--url: the queries of GET /api/tasks/ (as the owner), through the explain --url capture,
    with their parameters inlined; our own indexes serve them, so nothing is suggested."""
    from django.apps import apps

    settings.PERFAUDIT = {"ADVISOR_MIN_TABLE_ROWS": 0}  # plan them on a 30-row table too
    Task = apps.get_model("tasks", "Task")
    Task.objects.bulk_create(Task(owner=owner, title=f"t{n}") for n in range(30))
    report = advisor.advise_indexes(
        urls=["/api/tasks/"], username=owner.get_username(), allow_build=True
    )
    sources = {s.source for s in report.statements}
    assert sources == {"url /api/tasks/"}
    task_queries = [s for s in report.statements if "tasks_task" in s.sql]
    assert task_queries and all("%s" not in s.sql for s in task_queries)
    assert all(s.cost_before is not None for s in task_queries)
    assert report.suggestions == []


def test_url_must_be_a_path():
    with pytest.raises(ServiceError, match="starting with '/'"):
        advisor.advise_indexes(urls=["api/tasks/"])


@pytest.mark.usefixtures("planted")
def test_top_statements_from_pg_stat_statements():
    from .conftest import statements_usable

    if not statements_usable():
        pytest.skip("pg_stat_statements is not collecting on this server")
    for n in range(3):
        run_sql(
            f"SELECT * FROM pa_orders WHERE customer_id = {n + 40} "
            "ORDER BY created_at DESC LIMIT 10"
        )
    report = advisor.advise_indexes(top=200, allow_build=True)
    mine = [s for s in report.statements if "pa_orders" in s.sql]
    # Normalized by pg_stat_statements: one entry, constants as $n, planned generically.
    [entry] = [s for s in mine if "ORDER BY created_at DESC" in s.sql]
    assert entry.source == "pg_stat_statements" and "$1" in entry.sql and entry.generic_plan
    found = _by_statement(report)
    assert found[entry.sql].columns == ["customer_id", "-created_at"]
    # perfaudit's own EXPLAIN statements and catalog queries are not listed.
    assert not any(s.sql.lstrip().upper().startswith("EXPLAIN") for s in report.statements)
