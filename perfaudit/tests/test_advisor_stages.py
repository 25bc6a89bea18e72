"""adviseindexes stage by stage, each alone: the request, collect inputs (catalog), propose
(rules, pure), verify (what-if in the sandbox), choose (rules, pure), report."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from perfaudit import whatif
from perfaudit.catalog import advisor as catalog
from perfaudit.conf import PerfauditSettings
from perfaudit.errors import ServiceError
from perfaudit.rules.advisor.decide import decide
from perfaudit.rules.advisor.propose import propose
from perfaudit.services.advisor.report import advisor_report
from perfaudit.services.advisor.request import advisor_request
from perfaudit.snapshots.advisor import (
    AdvisorSelection,
    AdvisorSnapshot,
    AdvisorStatement,
    ColumnFacts,
    ExistingIndex,
    Extensions,
    IndexTrial,
    ModelFields,
    TableFacts,
    Verification,
)
from perfaudit.snapshots.declared import ModelRef
from perfaudit.snapshots.plans import PlannedCost
from perfaudit.snapshots.statements import StatementsStatus

from .conftest import run_sql
from .factories import server_info

CONF = PerfauditSettings()
COLUMNS = {
    "id": ColumnFacts("id", "bigint", 0.0, -1.0),
    "owner_id": ColumnFacts("owner_id", "bigint", 0.0, 1000.0),
    "created_at": ColumnFacts("created_at", "timestamp with time zone", 0.0, -1.0),
    "title": ColumnFacts("title", "text", 0.0, -0.9, avg_width=30),
}
JOB = TableFacts(
    "pa_job", 100_000, columns=COLUMNS, indexes=(ExistingIndex("pa_job_pkey", "btree", ("id",)),)
)
MODEL = ModelFields(
    ModelRef("shop", "job", "Job"),
    {"id": "id", "owner_id": "owner", "created_at": "created", "title": "title"},
)
SQL = {
    "owner": "SELECT * FROM pa_job WHERE owner_id = $1 ORDER BY created_at DESC LIMIT 10",
    "title": "SELECT id FROM pa_job WHERE title LIKE '%x%'",
    "pk": "SELECT * FROM pa_job WHERE id = 5",
    "catalog": "SELECT relname FROM pg_class",
    "insert": "INSERT INTO pa_job (owner_id) VALUES (1)",
}


def snapshot(*statements, models=None, pg_trgm=False, status=None):
    return AdvisorSnapshot(
        server=server_info(),
        extensions=Extensions(False, True, pg_trgm),
        statements=tuple(statements),
        tables={"pa_job": JOB},
        models=models or {},
        statements_status=status,
    )


def typed(key, source="sql"):
    return AdvisorStatement(sql=SQL[key], source=source)


def test_request_checks_every_option_before_anything_runs():
    with pytest.raises(ServiceError, match="between 0 and 1"):
        advisor_request(CONF, sqls=["SELECT 1"], min_cost_reduction=1.0)
    with pytest.raises(ServiceError, match="--top must be 0 or more"):
        advisor_request(CONF, top=-1)
    with pytest.raises(ServiceError, match="cannot parse"):
        advisor_request(CONF, sqls=["SELECT FROM WHERE"])
    with pytest.raises(ServiceError, match=r"cannot be explained here \(allowed: SELECT, WITH\)"):
        advisor_request(CONF, sqls=["DELETE FROM pa_job"], select_only=True)
    with pytest.raises(ServiceError, match="starting with '/'"):
        advisor_request(CONF, urls=["api/"])
    with pytest.raises(ServiceError, match="no installed app 'nope'"):
        advisor_request(CONF, sqls=["SELECT 1"], write_migration="nope")
    request = advisor_request(CONF, sqls=["SELECT 1"])
    assert (request.top, request.min_cost_reduction) == (0, CONF.ADVISOR_MIN_COST_REDUCTION)
    assert advisor_request(CONF).top == CONF.ADVISOR_TOP_STATEMENTS


def test_propose_sets_statements_aside_with_the_reason():
    proposal = propose(
        snapshot(
            typed("owner", "pg_stat_statements"),
            typed("pk"),
            typed("catalog"),
            typed("insert", "pg_stat_statements"),
        ),
        CONF,
    )
    notes = [s.note for s in proposal.statements]
    assert notes == [None, None, "reads no table of this schema", "not a SELECT, UPDATE or DELETE"]
    assert [s.nparams for s in proposal.statements] == [1, 0, 0, 0]
    assert proposal.statements[1].served_by == ("pa_job_pkey",)
    assert [(t.number, t.nparams) for t in proposal.targets] == [(0, 1), (1, 0)]
    # Equality then the sort, and the equality alone (which the what-if step may prefer).
    assert [[k.sql() for k in c.keys] for c in proposal.candidates] == [
        ['"owner_id"', '"created_at" DESC'],
        ['"owner_id"'],
    ]
    assert [i.statements for i in proposal.indexes] == [(0,), (0,)]
    assert [i.name for i in proposal.indexes] == list(proposal.names)
    assert proposal.indexes[0].hypothetical_sql.startswith(
        'CREATE INDEX "hypo" ON "pa_job" USING btree ("owner_id", "created_at" DESC)'
    )


def test_propose_names_model_tables_the_django_way_and_builds_trigram_with_its_extension():
    proposal = propose(snapshot(typed("title"), models={"pa_job": MODEL}), CONF)
    [cand] = proposal.candidates
    assert cand.using == "gin" and proposal.names[0].endswith("_gin")
    [trial] = proposal.indexes
    assert trial.build_sql[0] == "CREATE EXTENSION IF NOT EXISTS pg_trgm"


def _verification(proposal, *, after: float | None, errors=()):
    """Every candidate tried (the first costing ``after``, the others 900) or none (after
    None, each failing with ``errors``)."""
    before = {t.number: PlannedCost(1000.0, frozenset(), {}) for t in proposal.targets}
    trials = []
    for index in proposal.indexes if after is not None else ():
        cost = after if index.number == 0 else 900.0
        plans = {n: PlannedCost(cost, frozenset({index.name}), {}) for n in index.statements}
        trials.append(IndexTrial(index.number, "build", index.name, 8192, plans))
    failed = {i.number: tuple(errors) for i in proposal.indexes}
    return Verification("build", before, {}, tuple(trials), failed)


def test_choose_keeps_a_verified_index_that_cuts_the_cost():
    snap = snapshot(typed("owner"), typed("pk"), models={"pa_job": MODEL})
    proposal = propose(snap, CONF)
    advice = decide(proposal, _verification(proposal, after=10.0), snap, min_reduction=0.5)
    [sug] = advice.suggestions
    assert (sug.verified_by, sug.cost_before, sug.cost_after) == ("build", 1000.0, 10.0)
    assert sug.migration["meta_index"] == (
        f"models.Index(fields=['owner', '-created'], name='{sug.name}')"
    )
    assert sug.write_cost["estimated_bytes"] == 8192
    [finding] = advice.findings
    assert (finding.kind, finding.severity) == ("missing_index", "warning")
    # The state gains the index; the database builds it IF NOT EXISTS (a rerun goes on).
    assert finding.fix.migration.startswith("migrations.SeparateDatabaseAndState(")
    assert "state_operations=[AddIndexConcurrently(model_name='job'" in finding.fix.migration
    assert "IF NOT EXISTS" in finding.fix.migration
    assert [s.note for s in advice.statements] == [None, "already served by pa_job_pkey"]


def test_choose_prints_an_unverified_candidate_with_why_and_notes_the_rest():
    snap = snapshot(
        typed("owner"),
        status=StatementsStatus(available=True, installed=False, preloaded=False),
    )
    proposal = propose(snap, CONF)
    timeout = "trial build: canceling statement due to statement timeout"
    advice = decide(
        proposal, _verification(proposal, after=None, errors=[timeout]), snap, min_reduction=0.5
    )
    [sug] = advice.suggestions
    assert not sug.verified and sug.note == timeout and sug.migration is None
    assert [f.kind for f in advice.findings] == ["pg_stat_statements_missing", "missing_index"]
    weak = decide(proposal, _verification(proposal, after=900.0), snap, min_reduction=0.5)
    assert weak.suggestions == ()
    assert weak.statements[0].note.startswith("no candidate lowered the plan cost by 50%")


@pytest.fixture
def jobs():
    run_sql(
        "CREATE TABLE pa_job (id bigserial PRIMARY KEY, owner_id bigint NOT NULL, "
        "created_at timestamptz NOT NULL, title text NOT NULL)",
        "INSERT INTO pa_job (owner_id, created_at, title) SELECT g % 500, "
        "timestamptz '2026-01-01' + g * interval '1 minute', md5(g::text) "
        "FROM generate_series(1, 20000) g",
        "ANALYZE pa_job",
    )


@pytest.mark.django_db
@pytest.mark.usefixtures("jobs")
def test_collect_inputs_reads_the_tables_the_statements_read():
    snap = catalog.collect(connection, AdvisorSelection(sqls=(SQL["owner"], SQL["catalog"])))
    assert [s.source for s in snap.statements] == ["sql", "sql"]
    assert set(snap.tables) == {"pa_job"}  # pg_class is no table of the schema
    facts = snap.tables["pa_job"]
    assert facts.rows == 20000 and set(facts.columns) == {"id", "owner_id", "created_at", "title"}
    assert [i.name for i in facts.indexes] == ["pa_job_pkey"]
    assert snap.statements_status is None  # no top statements asked for


@pytest.mark.django_db
@pytest.mark.usefixtures("jobs")
def test_verify_plans_before_and_with_each_candidate_then_undoes_it():
    snap = catalog.collect(connection, AdvisorSelection(sqls=(SQL["owner"],)))
    proposal = propose(snap, CONF)
    kwargs = {"hypopg": False, "timeout_ms": 10_000}
    unverified = whatif.verify(
        connection, proposal.targets, proposal.indexes, allow_build=False, **kwargs
    )
    assert unverified.mode == "unverified" and unverified.trials == ()
    assert set(unverified.before) == {0}
    built = whatif.verify(
        connection, proposal.targets, proposal.indexes, allow_build=True, **kwargs
    )
    assert len(built.trials) == len(proposal.indexes) == 2
    trial = built.trials[0]
    assert trial.verified_by == "build" and trial.index_name in trial.plans[0].index_names
    assert trial.plans[0].cost < built.before[0].cost
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_indexes WHERE tablename = 'pa_job'")
        assert cursor.fetchone()[0] == 1  # rolled back: only the primary key


@pytest.mark.django_db
def test_the_report_stage_keeps_the_json_contract():
    snap = snapshot(typed("owner"))
    proposal = propose(snap, CONF)
    verification = _verification(proposal, after=10.0)
    advice = decide(proposal, verification, snap, min_reduction=0.5)
    request = advisor_request(CONF, sqls=[SQL["owner"].replace("$1", "1")])
    report = advisor_report(connection, snap, verification, advice, request)
    document = report.to_dict()
    assert document["mode"] == "build" and document["written_migration"] is None
    assert document["hypopg"] == {"installed": False, "available": True}
    assert document["suggestions"][0]["reduction"] == pytest.approx(0.99)
    assert isinstance(report.generated_at, dt.datetime)
