"""Commands: the JSON contract, human output, exit codes (0 / 1 with --fail-on / 2)."""

import datetime as dt
import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from .conftest import run_sql

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def validate_contract(document):
    assert set(document) >= {"generated_at", "database", "findings"}
    dt.datetime.fromisoformat(document["generated_at"])
    assert set(document["database"]) >= {"vendor", "version", "stats_reset"}
    assert document["database"]["vendor"] == "postgresql"
    for finding in document["findings"]:
        assert set(finding) == {
            "kind",
            "severity",
            "table",
            "object",
            "message",
            "evidence",
            "fix",
            "acknowledged",
        }
        assert finding["severity"] in {"info", "warning", "error"}
        assert isinstance(finding["kind"], str) and isinstance(finding["message"], str)
        assert isinstance(finding["evidence"], dict)
        assert set(finding["fix"]) == {
            "sql",
            "migration",
            "app_label",
            "command",
            "model_change",
            "unsafe",
        }


@pytest.mark.parametrize(
    ("args", "key"),
    [
        (("auditindexes",), "tables"),
        (("explain", "SELECT 1"), "plans"),
        (("explain", "--url", "/health/"), "plans"),
        (("slowqueries",), "queries"),
        (("tablestats",), "tables"),
        (("dbconnections",), "headroom"),
        (("profilequery", "SELECT 1", "--iterations", "2"), "profile"),
    ],
)
def test_json_contract(args, key):
    document = json.loads(run(*args, "--format", "json"))
    validate_contract(document)
    assert key in document


@pytest.mark.parametrize(
    "args",
    [
        ("auditindexes",),
        ("explain", "--analyze", "SELECT relname FROM pg_class ORDER BY relname"),
        ("slowqueries",),
        ("tablestats",),
        ("dbconnections",),
        ("profilequery", "SELECT 1", "--iterations", "3"),
    ],
)
def test_human_output_fits_100_columns(args):
    output = run(*args)
    assert output.strip()
    too_wide, in_command = [], False
    for line in output.splitlines():
        # A fix's shell command stays on its own line, whole, so it can be pasted and run.
        if line.strip() == "run:":
            in_command = True
            continue
        if in_command and line.startswith("      "):
            continue
        in_command = False
        if len(line) > 100:
            too_wide.append(line)
    # Only a single unbreakable token (a very long name) may exceed the width.
    assert all(" " not in line.strip() for line in too_wide), too_wide


def test_fail_on_exit_codes(parent_child):
    run_sql(
        "CREATE INDEX pa_c1 ON pa_child (parent_id)", "CREATE INDEX pa_c2 ON pa_child (parent_id)"
    )
    with pytest.raises(CommandError) as excinfo:
        run("auditindexes", "--table", "pa_child", "--fail-on", "warning")
    assert excinfo.value.returncode == 1
    run("auditindexes", "--table", "pa_child", "--fail-on", "error")  # no error-level finding


def test_clean_schema_passes_fail_on_warning(settings):
    # "Unused" depends on the workload, not the schema: earlier tests (the API fuzzer makes
    # thousands of seq scans on tiny tables) must not decide this test's outcome.
    settings.PERFAUDIT = {**settings.PERFAUDIT, "UNUSED_MIN_TABLE_SCANS": 10**9}
    run("auditindexes", "--fail-on", "warning")


@pytest.mark.parametrize(
    "args",
    [
        ("auditindexes", "--database", "nope"),
        ("auditindexes", "--bad-option"),
        ("auditindexes", "--fail-on", "panic"),
        ("explain", "SELECT 1; SELECT 2"),
        ("explain",),
        ("explain", "not sql at all"),
        ("slowqueries", "--order", "random"),
        ("profilequery", "SELECT 1", "--iterations", "0"),
    ],
)
def test_bad_input_is_returncode_2(args):
    with pytest.raises(CommandError) as excinfo:
        run(*args)
    assert excinfo.value.returncode == 2
    assert "\n" not in str(excinfo.value)


def manage(*args, env=None):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_subprocess_bad_argument_one_line_exit_2():
    result = manage("auditindexes", "--bad")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "unrecognized arguments: --bad" in result.stderr


def test_subprocess_unreachable_database_one_line_exit_2():
    result = manage("tablestats", env={"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"})
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "cannot connect" in result.stderr


def test_profilequery_shows_each_iteration_as_it_goes():
    output = run("profilequery", "SELECT 1", "--iterations", "3")
    lines = output.splitlines()
    progress = [line for line in lines if line.startswith("iteration ")]
    assert [line.split(":")[0] for line in progress] == [
        "iteration 1/3",
        "iteration 2/3",
        "iteration 3/3",
    ]
    # Before the report (it used to print nothing until the last iteration was done).
    assert lines.index(progress[-1]) < next(i for i, line in enumerate(lines) if "Profile" in line)
    # JSON stays one document.
    json.loads(run("profilequery", "SELECT 1", "--iterations", "2", "--format", "json"))


def test_acknowledged_finding_is_shown_and_does_not_fail(parent_child, settings):
    run_sql(
        "CREATE INDEX pa_c1 ON pa_child (parent_id)", "CREATE INDEX pa_c2 ON pa_child (parent_id)"
    )
    with pytest.raises(CommandError):
        run("auditindexes", "--table", "pa_child", "--fail-on", "warning")
    dup = json.loads(run("auditindexes", "--table", "pa_child", "--format", "json"))
    [finding] = [f for f in dup["findings"] if f["kind"] == "duplicate"]
    settings.PERFAUDIT = {
        **settings.PERFAUDIT,
        "ACKNOWLEDGED": [
            {
                "kind": "duplicate",
                "object": f"pa_child.{finding['object']}",
                "reason": "dropped in the next release (TICKET-1)",
            }
        ],
    }
    output = run("auditindexes", "--table", "pa_child", "--fail-on", "warning")  # exit 0
    assert "acknowledged: dropped in the next release (TICKET-1)" in output
    assert "1 acknowledged" in output
    document = json.loads(run("auditindexes", "--table", "pa_child", "--format", "json"))
    [acked] = [f for f in document["findings"] if f["kind"] == "duplicate"]
    assert acked["acknowledged"] == "dropped in the next release (TICKET-1)"


def test_kind_and_severity_filters(parent_child):
    run_sql(
        "CREATE INDEX pa_c1 ON pa_child (parent_id)", "CREATE INDEX pa_c2 ON pa_child (parent_id)"
    )
    every = json.loads(run("auditindexes", "--table", "pa_child", "--format", "json"))
    assert {f["kind"] for f in every["findings"]} > {"duplicate"}
    only = json.loads(
        run("auditindexes", "--table", "pa_child", "--kind", "duplicate", "--format", "json")
    )
    assert {f["kind"] for f in only["findings"]} == {"duplicate"}
    several = json.loads(
        run("auditindexes", "--table", "pa_child", "--kind", "duplicate,drift", "--format", "json")
    )
    assert {f["kind"] for f in several["findings"]} == {"duplicate", "drift"} & {
        f["kind"] for f in every["findings"]
    }
    warnings = json.loads(
        run("auditindexes", "--table", "pa_child", "--severity", "warning", "--format", "json")
    )
    assert warnings["findings"] and {f["severity"] for f in warnings["findings"]} <= {
        "warning",
        "error",
    }
    # Filtered out = not counted for --fail-on.
    run("auditindexes", "--table", "pa_child", "--kind", "drift", "--fail-on", "warning")
