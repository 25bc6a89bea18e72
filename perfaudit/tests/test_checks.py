"""One test per system check id, and which commands run them."""

from io import StringIO

import pytest
from django.core.checks.registry import registry
from django.core.management import call_command

from perfaudit import checks

from .conftest import run_sql


@pytest.mark.django_db
def test_w001_pg_stat_statements_not_collecting():
    # Dropped inside the test's transaction (rolled back afterwards).
    run_sql("DROP EXTENSION IF EXISTS pg_stat_statements")
    messages = checks.check_pg_stat_statements(databases=["default"])
    assert [m.id for m in messages] == ["perfaudit.W001"]
    assert "CREATE EXTENSION pg_stat_statements" in messages[0].hint


@pytest.mark.django_db
def test_w001_waits_for_pending_migrations_that_may_create_the_extension():
    # The very first `migrate` runs the checks before the migration that creates the extension
    # (here: tasks 0001): no "run CREATE EXTENSION" advice while migrations are pending.
    from django.db import connection
    from django.db.migrations.recorder import MigrationRecorder

    from perfaudit.catalog.statements import statements_status

    if not statements_status(connection).preloaded:
        # Then W001 rightly asks for shared_preload_libraries whatever the migrations do.
        pytest.skip("pg_stat_statements is not preloaded on this server")
    run_sql("DROP EXTENSION IF EXISTS pg_stat_statements")
    MigrationRecorder(connection).migration_qs.filter(app="contenttypes").delete()  # rolled back
    assert checks.check_pg_stat_statements(databases=["default"]) == []


def test_w001_is_a_deployment_check_only():
    # `check --deploy` runs it; migrate, runserver, shell and plain `check` never do.
    assert checks.check_pg_stat_statements in registry.get_checks(include_deployment_checks=True)
    assert checks.check_pg_stat_statements not in registry.get_checks()
    assert checks.check_settings in registry.get_checks()


def run_command(*args) -> str:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


@pytest.mark.django_db
def test_check_deploy_says_w001_and_migrate_does_not():
    run_sql("DROP EXTENSION IF EXISTS pg_stat_statements")  # rolled back
    assert "perfaudit.W001" not in run_command("migrate", "--noinput")
    assert "perfaudit.W001" not in run_command("check", "--database", "default")
    # No --database: Django hands a deployment check every alias; "default" is one of them.
    output = run_command("check", "--deploy")
    assert "perfaudit.W001" in output and "'default'" in output
    assert "perfaudit.W001" in run_command("check", "--deploy", "--tag", checks.TAG)


def test_w002_unknown_keys(settings):
    settings.PERFAUDIT = {"SLOW_QUERY_MS": 100, "SLOW_QUERIES_MS": 5}
    assert "perfaudit.W002" in [m.id for m in checks.check_settings()]


def test_w003_bad_repeated_mode(settings):
    settings.PERFAUDIT = {"REPEATED_QUERY_MODE": "loud"}
    assert "perfaudit.W003" in [m.id for m in checks.check_settings()]


def test_w004_runtime_settings_without_middleware(settings):
    settings.PERFAUDIT = {"SLOW_QUERY_MS": 50}
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != checks.MIDDLEWARE_PATH]
    assert [m.id for m in checks.check_settings()] == ["perfaudit.W004"]


def test_project_settings_are_clean():
    assert checks.check_settings() == []


def test_w005_malformed_acknowledgement(settings):
    settings.PERFAUDIT = {
        "ACKNOWLEDGED": [
            {"kind": "unused", "object": "t.i", "reason": "kept for the nightly report"},
            {"kind": "unused", "object": "t.j"},  # no reason: ignored, and said so
        ]
    }
    messages = [m for m in checks.check_settings() if m.id == "perfaudit.W005"]
    assert len(messages) == 1 and "reason" in messages[0].msg


def test_w006_advisor_thresholds_out_of_range(settings):
    assert checks.check_advisor_thresholds() == []
    settings.PERFAUDIT = {
        "ADVISOR_MIN_COST": -1,
        "ADVISOR_MIN_TABLE_ROWS": "1000",
        "ADVISOR_BUILD_MAX_BYTES": 0,  # 0 is allowed: never build unasked
        "ADVISOR_MIN_COST_REDUCTION": 1.0,
        "ADVISOR_NO_HELP_FRACTION": True,
    }
    messages = checks.check_advisor_thresholds()
    assert [m.id for m in messages] == ["perfaudit.W006"] * 4
    assert [m.msg for m in messages] == [
        "PERFAUDIT['ADVISOR_MIN_COST'] is -1; it must be a number, 0 or more.",
        "PERFAUDIT['ADVISOR_MIN_TABLE_ROWS'] is '1000'; it must be a number, 0 or more.",
        "PERFAUDIT['ADVISOR_MIN_COST_REDUCTION'] is 1.0; it must be a share between 0 and 1 "
        "(exclusive).",
        "PERFAUDIT['ADVISOR_NO_HELP_FRACTION'] is True; it must be a share between 0 and 1 "
        "(exclusive).",
    ]


def test_e001_history_database_not_an_alias(settings):
    assert checks.check_history_database() == []
    settings.PERFAUDIT = {"HISTORY_DATABASE": "default"}
    assert checks.check_history_database() == []
    settings.PERFAUDIT = {"HISTORY_DATABASE": "histroy"}
    [message] = checks.check_history_database()
    assert message.id == "perfaudit.E001" and "'histroy'" in message.msg


def test_history_router_sends_history_tables_to_their_alias(settings):
    from perfaudit.models import Capture, Dashboard
    from perfaudit.routers import HistoryRouter

    router = HistoryRouter()
    assert router.db_for_write(Capture) is None  # no HISTORY_DATABASE: the default routing
    settings.PERFAUDIT = {"HISTORY_DATABASE": "history"}
    assert router.db_for_write(Capture) == "history"
    assert router.db_for_read(Dashboard) is None
    assert router.allow_migrate("history", "perfaudit", "statementsample") is True
    assert router.allow_migrate("default", "perfaudit", "statementsample") is False
    assert router.allow_migrate("default", "perfaudit", "dashboard") is None
