"""The admin pages' views: parse the request, call one perfaudit.services function, render.

No SQL here: the service layer is what the commands and the JSON output use too, so the three
never disagree. A ServiceError (bad input, database unreachable) is shown on the page, not a 500.
``PAGES`` (at the end) lists the pages; perfaudit.admin mounts them.
"""

from __future__ import annotations

import json
from dataclasses import asdict

from django import forms
from django.template.response import TemplateResponse
from django.urls import reverse

from perfaudit import render, services, sqltext
from perfaudit.conf import get_settings
from perfaudit.errors import ServiceError
from perfaudit.findings import SEVERITIES, json_default

SEVERITY_ORDER = tuple(reversed(SEVERITIES))  # error, warning, info


def _page(model_admin, request, name: str, title: str, context: dict) -> TemplateResponse:
    tabs = [
        {
            "title": tab_title,
            "url": reverse(f"{model_admin.admin_site.name}:perfaudit_{tab}"),
            "active": tab == name,
        }
        for _route, _view, tab, tab_title in PAGES
    ]
    return TemplateResponse(
        request,
        f"admin/perfaudit/{name}.html",
        {
            **model_admin.admin_site.each_context(request),
            "opts": model_admin.opts,
            "title": title,
            "tabs": tabs,
            **context,
        },
    )


def _run(service, **kwargs):
    """(report, error): the page shows a service's one-line error instead of failing."""
    try:
        return service(**kwargs), None
    except ServiceError as exc:
        return None, str(exc)


def _findings(report, request) -> dict:
    """Findings for the template, filtered by ``?severity=`` (the overview's count links)."""
    if report is None:
        return {"findings": [], "severity": None}
    severity = request.GET.get("severity")
    if severity not in SEVERITIES:
        severity = None
    rows = []
    for finding in report.findings:
        if severity and finding.severity != severity:
            continue
        rows.append(
            {
                "finding": finding,
                "evidence": json.dumps(finding.evidence, indent=1, default=json_default),
            }
        )
    return {"findings": rows, "severity": severity, "total_findings": len(report.findings)}


def overview(model_admin, request):
    report, error = _run(services.overview)
    sections = []
    if report:
        titles = {"indexes": "Indexes", "tables": "Tables", "connections": "Connections"}
        titles["queries"] = "Queries"
        for section in report.sections:
            url = reverse(f"{model_admin.admin_site.name}:perfaudit_{section.name}")
            sections.append(
                {
                    "title": titles[section.name],
                    "url": url,
                    "counts": [
                        (severity, section.counts[severity], f"{url}?severity={severity}")
                        for severity in SEVERITY_ORDER
                    ],
                }
            )
    return _page(
        model_admin,
        request,
        "overview",
        "Performance overview",
        {"report": report, "error": error, "sections": sections},
    )


QUERY_ORDERS = {"total": "total time", "mean": "mean time", "calls": "calls"}


def queries(model_admin, request):
    order = request.GET.get("order", "total")
    if order not in QUERY_ORDERS:
        order = "total"
    report, error = _run(services.slow_queries, order=order, limit=50)
    rows = []
    if report:
        for query in report.queries:
            rows.append(
                asdict(query)
                | {
                    "hit_ratio": query.hit_ratio,
                    "display": " ".join(query.query.split()),
                    # Only queries get an EXPLAIN button: the form refuses anything else.
                    "explainable": sqltext.first_keyword(query.query) in sqltext.SELECT_ONLY,
                }
            )
    orders = [
        {"key": key, "label": label, "active": key == order} for key, label in QUERY_ORDERS.items()
    ]
    return _page(
        model_admin,
        request,
        "queries",
        "Top queries (pg_stat_statements)",
        {
            "report": report,
            "error": error,
            "rows": rows,
            "orders": orders,
            "explain_url": reverse(f"{model_admin.admin_site.name}:perfaudit_explain"),
            **_findings(report, request),
        },
    )


def indexes(model_admin, request):
    report, error = _run(services.audit_indexes)
    return _page(
        model_admin,
        request,
        "indexes",
        "Index audit",
        {"report": report, "error": error, **_findings(report, request)},
    )


def tables(model_admin, request):
    report, error = _run(services.table_stats)
    return _page(
        model_admin,
        request,
        "tables",
        "Table statistics",
        {"report": report, "error": error, **_findings(report, request)},
    )


def connections(model_admin, request):
    report, error = _run(services.db_connections)
    return _page(
        model_admin,
        request,
        "connections",
        "Connections",
        {"report": report, "error": error, **_findings(report, request)},
    )


class ExplainForm(forms.Form):
    sql = forms.CharField(
        label="SQL",
        widget=forms.Textarea(attrs={"rows": 8, "cols": 100, "spellcheck": "false"}),
        help_text="One SELECT (or WITH … SELECT). pg_stat_statements' $1 placeholders get a "
        "generic plan on PostgreSQL 16+.",
    )
    analyze = forms.BooleanField(
        required=False,
        label="ANALYZE (executes the query, in a read-only transaction that is rolled back)",
    )
    buffers = forms.BooleanField(required=False, label="BUFFERS")


def explain(model_admin, request):
    report = None
    rows = []
    if request.method == "POST":
        form = ExplainForm(request.POST)
        if form.is_valid():
            report, error = _run(
                services.explain_sql,
                sql=form.cleaned_data["sql"],
                analyze=form.cleaned_data["analyze"],
                buffers=form.cleaned_data["buffers"],
                select_only=True,
                timeout_ms=get_settings().ADMIN_STATEMENT_TIMEOUT_MS,
            )
            if error:
                form.add_error("sql", error)
            else:
                item = report.plans[0]
                rows = render.plan_rows(item.plan, [asdict(f) for f in item.findings])
    else:
        form = ExplainForm(initial={"sql": request.GET.get("sql", "")})
    status = 200 if request.method == "GET" or form.is_valid() else 400
    response = _page(
        model_admin,
        request,
        "explain",
        "EXPLAIN a query",
        {
            "form": form,
            "report": report,
            "rows": rows,
            "timeout_ms": get_settings().ADMIN_STATEMENT_TIMEOUT_MS,
            **_findings(report, request),
        },
    )
    response.status_code = status
    return response


#: (url, view, url name suffix, tab title). The first is the admin index's link.
PAGES = (
    ("", overview, "overview", "Overview"),
    ("queries/", queries, "queries", "Queries"),
    ("indexes/", indexes, "indexes", "Indexes"),
    ("tables/", tables, "tables", "Tables"),
    ("connections/", connections, "connections", "Connections"),
    ("explain/", explain, "explain", "Explain"),
)
