"""The advisor's rules on hand-built snapshots (no database): it reads the audit's view (restore
a declared index the database lacks, never credit one the audit condemns), never keys an index
after a unique lookup, skips tiny tables and cheap plans, and its text says what was verified."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from perfaudit.conf import PerfauditSettings
from perfaudit.findings import DatabaseRef
from perfaudit.render.advice import render_advice
from perfaudit.rules.advisor.decide import decide
from perfaudit.rules.advisor.propose import propose
from perfaudit.services.advisor.report import AdvisorReport
from perfaudit.snapshots.advisor import (
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
from perfaudit.snapshots.declared import DeclaredIndex, DeclaredSchema, ModelRef
from perfaudit.snapshots.indexes import IndexSnapshot
from perfaudit.snapshots.plans import PlannedCost
from perfaudit.snapshots.statements import StatementsStatus

from .factories import col, index, server_info

CONF = PerfauditSettings()
REF = ModelRef("shop", "job", "Job")
COLUMNS = {
    "id": ColumnFacts("id", "bigint", 0.0, -1.0),
    "owner_id": ColumnFacts("owner_id", "bigint", 0.0, 1000.0),
    "code": ColumnFacts("code", "text", 0.0, -1.0),
    "created_at": ColumnFacts("created_at", "timestamp with time zone", 0.0, 50_000.0),
}
PKEY = ExistingIndex("pa_job_pkey", "btree", ("id",), unique=True, primary=True)
JOB = TableFacts("pa_job", 100_000, size_bytes=50 << 20, columns=COLUMNS, indexes=(PKEY,))
MODEL = ModelFields(REF, {"id": "id", "owner_id": "owner", "code": "code", "created_at": "created"})
DECLARED = DeclaredIndex(
    "pa_job",
    "job_owner_created_idx",
    REF,
    "btree",
    False,
    ("owner_id", "created_at"),
    (False, True),
    False,
    (),
    'CREATE INDEX CONCURRENTLY "job_owner_created_idx" ON "pa_job" ("owner_id", "created_at" '
    "DESC);",
)
OWNER_SQL = "SELECT * FROM pa_job WHERE owner_id = $1 ORDER BY created_at DESC LIMIT 10"


def audit(*indexes, declared=()):
    return IndexSnapshot(
        server=server_info(),
        table_exists=True,
        indexes=list(indexes),
        foreign_keys=[],
        existing_tables={"pa_job"},
        declared=DeclaredSchema(models={"pa_job": REF}, indexes=tuple(declared)),
        table_rows={"pa_job": 100_000},
    )


def snap(*sqls, table=JOB, audited=None, status=None):
    return AdvisorSnapshot(
        server=server_info(),
        extensions=Extensions(False, False, False),
        statements=tuple(AdvisorStatement(sql=s, source="sql") for s in sqls),
        tables={"pa_job": table},
        models={"pa_job": MODEL},
        statements_status=status,
        audit=audited,
    )


def verified(proposal, *, before=1000.0, after=10.0):
    costs = {t.number: PlannedCost(before, frozenset(), {}) for t in proposal.targets}
    trials = tuple(
        IndexTrial(
            i.number,
            "build",
            i.name,
            8192,
            {n: PlannedCost(after, frozenset({i.name}), {}) for n in i.statements},
        )
        for i in proposal.indexes
    )
    return Verification("build", costs, {}, trials, {})


def test_a_declared_index_the_database_lacks_is_restored_by_name():
    s = snap(OWNER_SQL, audited=audit(declared=[DECLARED]))
    proposal = propose(s, CONF)
    assert list(proposal.names) == ["job_owner_created_idx"]
    advice = decide(proposal, verified(proposal), s, min_reduction=0.5, conf=CONF)
    [sug] = advice.suggestions
    assert (sug.restore, sug.name, sug.columns) == (
        "job_owner_created_idx",
        "job_owner_created_idx",
        ["owner_id", "-created_at"],
    )
    # The audit's own drift fix: Django's CREATE, IF NOT EXISTS, as a RunSQL.
    assert sug.sql == (
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS "job_owner_created_idx" ON "pa_job" '
        '("owner_id", "created_at" DESC);'
    )
    assert sug.migration["operation"].startswith("migrations.RunSQL(")
    assert sug.migration["note"].startswith("job_owner_created_idx is declared already")
    [finding] = advice.findings
    assert finding.message.startswith(
        "restore job_owner_created_idx (btree (owner_id, -created_at), declared on Job and "
        "missing from this database) lowers the plan cost of 1 statement(s) from 1,000.0 to 10.0"
    )
    # Once it is there, the statement is served by it: nothing to suggest.
    present = index(
        "job_owner_created_idx", col(2, "owner_id"), col(3, "created_at", desc=True), table="pa_job"
    )
    there = replace(
        JOB,
        indexes=(
            PKEY,
            ExistingIndex(present.name, "btree", ("owner_id", "created_at"), (False, True)),
        ),
    )
    again = propose(snap(OWNER_SQL, table=there, audited=audit(present, declared=[DECLARED])), CONF)
    assert again.candidates == () and again.statements[0].served_by == ("job_owner_created_idx",)


def test_an_index_the_audit_condemns_is_never_credited():
    kept = index("pa_job_owner_a", col(2, "owner_id"), table="pa_job", oid=1, scans=5)
    copy = index("pa_job_owner_b", col(2, "owner_id"), table="pa_job", oid=2)
    existing = tuple(ExistingIndex(i.name, "btree", ("owner_id",)) for i in (copy, kept))
    table = replace(JOB, indexes=(PKEY, *existing))
    proposal = propose(
        snap("SELECT * FROM pa_job WHERE owner_id = 5", table=table, audited=audit(kept, copy)),
        CONF,
    )
    assert proposal.statements[0].served_by == ("pa_job_owner_a",)


def test_no_key_after_a_unique_lookup():
    both = "SELECT * FROM pa_job WHERE id = 5 AND owner_id = 3 ORDER BY created_at"
    proposal = propose(snap(both), CONF)
    assert proposal.candidates == () and proposal.statements[0].served_by == ("pa_job_pkey",)
    # code is unique by its statistics, with no index: the index is on code alone.
    by_code = "SELECT * FROM pa_job WHERE code = 'x' AND owner_id = 3 AND created_at > $1"
    [cand] = propose(snap(by_code), CONF).candidates
    assert [k.column for k in cand.keys] == ["code"]


def test_tiny_tables_and_cheap_plans_get_nothing():
    tiny = replace(JOB, rows=999)
    proposal = propose(snap(OWNER_SQL, table=tiny), CONF)
    assert proposal.candidates == () and proposal.targets == ()
    assert proposal.statements[0].note == (
        "its tables are too small for an index to matter: pa_job (~999 rows), under "
        "ADVISOR_MIN_TABLE_ROWS (1,000)"
    )
    s = snap(OWNER_SQL)
    cheap = propose(s, CONF)
    advice = decide(cheap, verified(cheap, before=99.9, after=1.0), s, min_reduction=0.5, conf=CONF)
    assert advice.suggestions == ()
    assert advice.statements[0].note == (
        "its plan costs 99.9, under ADVISOR_MIN_COST (100): nothing for an index to save"
    )
    just = decide(cheap, verified(cheap, before=100.0, after=1.0), s, min_reduction=0.5, conf=CONF)
    assert len(just.suggestions) == 1


def report(advice, mode="auto"):
    database = DatabaseRef("postgresql", "18", None, "default", "db")
    return AdvisorReport(
        generated_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        database=database,
        findings=list(advice.findings),
        mode=mode,
        suggestions=list(advice.suggestions),
        statements=list(advice.statements),
    )


def test_text_separates_verified_from_unverified_and_shows_every_finding():
    status = StatementsStatus(available=True, installed=False, preloaded=True)
    s = snap(OWNER_SQL, status=status)
    proposal = propose(s, CONF)
    before = {t.number: PlannedCost(1000.0, frozenset(), {}) for t in proposal.targets}
    untried = Verification("auto", before, {}, (), {})
    text = render_advice(report(decide(proposal, untried, s, min_reduction=0.5, conf=CONF)))
    assert "Unverified candidates (the planner was not asked: no cost cut is claimed):" in text
    assert "Verified suggestions" not in text
    assert "not verified: no HypoPG here, and pa_job (50.0 MB) is over ADVISOR_BUILD_MAX_BYTES" in (
        " ".join(text.split())
    )
    assert "pg_stat_statements_missing" in text  # the JSON's other finding, in the text too
    done = render_advice(
        report(decide(proposal, verified(proposal), s, min_reduction=0.5, conf=CONF))
    )
    assert "Verified suggestions (the planner's cost falls by 50% or more with the index):" in done
    assert "Unverified candidates" not in done


def test_a_server_side_cursors_declare_is_advised_as_its_query():
    from perfaudit.services.advisor.request import advisor_request

    declare = (
        'DECLARE "_django_curs_140_sync_1" NO SCROLL CURSOR WITH HOLD FOR SELECT "pa_job"."id" '
        'FROM "pa_job" WHERE "pa_job"."owner_id" = 5'
    )
    request = advisor_request(CONF, sqls=[declare, "SELECT 1"])
    assert request.sqls == ("SELECT pa_job.id FROM pa_job WHERE pa_job.owner_id = 5", "SELECT 1")


def test_an_expression_holding_a_parameter_is_never_a_key():
    """pg_stat_statements' text of Django's full-text search: the configuration is $8. An
    index on to_tsvector($8::regconfig, ...) cannot be built: no candidate, and the note says
    why and how to advise on it."""
    sql = (
        "SELECT id FROM pa_job WHERE to_tsvector(CAST($1 AS regconfig), code) @@ "
        "websearch_to_tsquery(CAST($2 AS regconfig), $3)"
    )
    s = snap(sql)
    proposal = propose(s, CONF)
    assert proposal.candidates == () and proposal.statements[0].parameterized
    advice = decide(proposal, verified(proposal), s, min_reduction=0.5, conf=CONF)
    assert advice.statements[0].note.startswith(
        "it compares an expression holding a parameter ($n: pg_stat_statements removed the value)"
    )
    constant = sql.replace("CAST($1 AS regconfig)", "'english'::regconfig")
    [cand] = propose(snap(constant), CONF).candidates
    assert cand.using == "gin" and "$" not in cand.keys[0].expression
