"""explain: EXPLAIN one statement, a QuerySet, or every query of a request; diagnose each plan.

Every EXPLAIN runs in the sandbox (perfaudit.sandbox): rolled back, with a statement timeout.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from django.db import transaction

from perfaudit import gate, sandbox, sqltext, urlcapture
from perfaudit import origin as origins
from perfaudit.catalog import plans as catalog
from perfaudit.catalog import server
from perfaudit.conf import get_settings
from perfaudit.errors import ServiceError, one_line
from perfaudit.findings import Finding, Report
from perfaudit.rules import plans as rules
from perfaudit.services.base import envelope, get_connection


@dataclass(frozen=True)
class ExplainedPlan:
    sql: str
    params: list[Any]
    generic_plan: bool
    analyze: bool
    #: EXPLAIN (FORMAT JSON)'s document.
    plan: dict
    findings: list[Finding] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "sql": self.sql,
            "params": self.params,
            "generic_plan": self.generic_plan,
            "analyze": self.analyze,
            "plan": self.plan,
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass(frozen=True)
class ExplainedRequest:
    url: str
    user: str | None
    status: int
    #: Every statement the request ran (transaction plumbing included).
    queries: int
    #: Of those, the tools' (profiler tables, catalog reads; perfaudit.origin): counted,
    #: never explained (silk's own INSERTs used to be most of the plans).
    tool_queries: int = 0


@dataclass(kw_only=True)
class ExplainReport(Report):
    plans: list[ExplainedPlan] = field(default_factory=list)
    request: ExplainedRequest | None = None

    def payload(self) -> dict[str, Any]:
        document: dict[str, Any] = {"plans": [p.to_dict() for p in self.plans]}
        if self.request is not None:
            document["request"] = asdict(self.request)
        return document


def _explain_one(connection, sql, params, **options) -> ExplainedPlan:
    """sandbox.explain runs it; the catalog adds the row estimates; the rules judge."""
    snapshot = catalog.collect(connection, sandbox.explain(connection, sql, params, **options))
    explained = snapshot.explained
    return ExplainedPlan(
        sql=explained.sql,
        params=explained.params,
        generic_plan=explained.generic_plan,
        analyze=explained.analyze,
        plan=explained.document,
        findings=rules.evaluate(snapshot, get_settings()),
    )


def _report(connection, plans: list[ExplainedPlan], request=None) -> ExplainReport:
    findings = [f for item in plans for f in item.findings]
    return ExplainReport(
        **envelope(connection, server.server_info(connection), findings),
        plans=plans,
        request=request,
    )


def explain_sql(
    *,
    using: str = "default",
    sql: str,
    analyze: bool = False,
    buffers: bool = False,
    select_only: bool = False,
    timeout_ms: int | None = None,
) -> ExplainReport:
    """EXPLAIN one typed statement, through the gate (perfaudit.gate) and as SQL_ROLE.
    ``select_only`` (the admin's form): only queries, and even with ANALYZE they run in a
    read-only transaction. ``timeout_ms`` overrides STATEMENT_TIMEOUT_MS.
    """
    connection = get_connection(using)
    gate.check(connection, sql, allowed=sandbox.SELECT_ONLY if select_only else sandbox.EXPLAINABLE)
    conf = get_settings()
    item = _explain_one(
        connection,
        sql,
        None,
        analyze=analyze,
        buffers=buffers,
        read_only=select_only,
        timeout_ms=timeout_ms or conf.STATEMENT_TIMEOUT_MS,
        role=conf.SQL_ROLE,
    )
    return _report(connection, [item])


def explain_queryset(
    *, using: str = "default", path: str, analyze: bool = False, buffers: bool = False
) -> ExplainReport:
    from django.db.models import QuerySet
    from django.utils.module_loading import import_string

    connection = get_connection(using)
    try:
        factory = import_string(path)
    except ImportError as exc:
        raise ServiceError(f"cannot import {path!r}: {one_line(exc)}") from None
    queryset = factory()
    if not isinstance(queryset, QuerySet):
        raise ServiceError(f"{path} returned {type(queryset).__name__}, not a QuerySet")
    sql, params = queryset.query.get_compiler(using=using).as_sql()
    item = _explain_one(
        connection,
        sql,
        tuple(params),
        analyze=analyze,
        buffers=buffers,
        timeout_ms=get_settings().STATEMENT_TIMEOUT_MS,
    )
    return _report(connection, [item])


def explain_url(
    *,
    using: str = "default",
    url: str,
    username: str | None = None,
    analyze: bool = False,
    buffers: bool = False,
) -> ExplainReport:
    """Run GET ``url`` through the test client, then explain every query it made.

    The request and the explains share one transaction that is rolled back, so whatever the
    view writes (sessions, last_login, ...) disappears, and EXPLAIN sees the rows it saw.
    """
    connection = get_connection(using)
    if not url.startswith("/"):
        raise ServiceError(f"--url must be a path starting with '/', got {url!r}")
    timeout_ms = get_settings().STATEMENT_TIMEOUT_MS
    explained = []
    with urlcapture.requesting(connection, username, timeout_ms=timeout_ms) as (
        get,
        recorder,
        cursor,
    ):
        response = get(url)
        prefixes = tuple(get_settings().PROFILER_TABLE_PREFIXES)
        tools = 0
        for query in recorder.queries:
            if query.many or sqltext.first_keyword(query.sql) not in sandbox.EXPLAINABLE:
                continue
            kind = origins.classify(sqltext.as_postgres(query.sql), profiler_prefixes=prefixes)
            if kind != origins.APP:
                tools += 1
                continue
            with transaction.atomic(using=connection.alias):
                explained.append(
                    _explain_one(
                        connection,
                        query.sql,
                        query.params,
                        analyze=analyze,
                        buffers=buffers,
                        timeout_ms=timeout_ms,
                        cursor=cursor,
                    )
                )
    request = ExplainedRequest(
        url=url,
        user=username,
        status=response.status_code,
        queries=recorder.count,
        tool_queries=tools,
    )
    return _report(connection, explained, request)
