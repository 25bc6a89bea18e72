"""adviseindexes, stage by stage: collect inputs -> propose (rules) -> verify (what-if in the
sandbox) -> choose (rules) -> report. Each stage is one function of its own module, testable
alone; this is the only place they meet."""

from __future__ import annotations

from perfaudit import gate, whatif
from perfaudit.conf import get_settings
from perfaudit.rules.advisor.decide import decide
from perfaudit.rules.advisor.propose import propose
from perfaudit.services.advisor.inputs import collect_inputs
from perfaudit.services.advisor.report import AdvisorReport, advisor_report
from perfaudit.services.advisor.request import advisor_request
from perfaudit.services.base import get_connection


def advise_indexes(*, using: str = "default", **options) -> AdvisorReport:
    """Suggest indexes for the given statements (``sqls``, the queries of ``urls``) and/or
    pg_stat_statements' ``top`` entries by total time, verified by the planner when HypoPG or
    ``allow_build`` allows. The options: services.advisor.request.advisor_request."""
    conf = get_settings()
    request = advisor_request(conf, **options)
    connection = get_connection(using)
    for sql in request.sqls:  # typed: the whole gate, and planned as SQL_ROLE
        gate.check(connection, sql, allowed=request.allowed)
    snapshot = collect_inputs(connection, request, conf)
    proposal = propose(snapshot, conf)
    verification = whatif.verify(
        connection,
        list(proposal.targets),
        list(proposal.indexes),
        hypopg=snapshot.extensions.hypopg_installed,
        allow_build=request.allow_build,
        timeout_ms=request.timeout_ms,
        role=conf.SQL_ROLE,
        typed=frozenset(request.sqls),
        build_max_bytes=conf.ADVISOR_BUILD_MAX_BYTES,
        min_cost=conf.ADVISOR_MIN_COST,
    )
    advice = decide(
        proposal, verification, snapshot, min_reduction=request.min_cost_reduction, conf=conf
    )
    return advisor_report(connection, snapshot, verification, advice, request)
