"""The admin pages' views: parse the request, call one perfaudit.services function, render.

No SQL here: the service layer is what the commands and the JSON output use too, so the three
never disagree. A ServiceError (bad input, database unreachable) is shown on the page, not a 500.
``PAGES`` (at the end) lists the pages; perfaudit.admin mounts them.
"""

from __future__ import annotations

from dataclasses import asdict

from django.urls import reverse

from perfaudit import admin_history, services, sqltext
from perfaudit.admin_base import SEVERITY_ORDER, TABS
from perfaudit.admin_base import findings as _findings
from perfaudit.admin_base import page as _page
from perfaudit.admin_base import run as _run
from perfaudit.admin_forms import advisor, explain
from perfaudit.admin_sessions import sessions, sessions_signal


def overview(model_admin, request):
    """Every report counted (those with errors, then warnings, first), and what to act on
    before anything else: their errors and warnings, errors first."""
    report, error = _run(services.overview)
    sections, actions = [], []
    if report:
        titles = dict(TABS)
        urls = {
            s.name: reverse(f"{model_admin.admin_site.name}:perfaudit_{s.name}")
            for s in report.sections
        }
        for section in sorted(
            report.sections, key=lambda s: (-s.counts["error"], -s.counts["warning"])
        ):
            url = urls[section.name]
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
        actions = [
            {"finding": f, "title": titles[name], "url": f"{urls[name]}?severity={f.severity}"}
            for name, f in report.actions()
        ]
    return _page(
        model_admin,
        request,
        "overview",
        "Performance overview",
        {"report": report, "error": error, "sections": sections, "actions": actions},
    )


QUERY_ORDERS = {"total": "total time", "mean": "mean time", "calls": "calls"}


def queries(model_admin, request):
    order = request.GET.get("order", "total")
    if order not in QUERY_ORDERS:
        order = "total"
    show_all = request.GET.get("all") == "1"
    report, error = _run(services.slow_queries, order=order, limit=50, show_all=show_all)
    rows = []
    if report:
        for query in report.queries:
            rows.append(
                asdict(query)
                | {
                    "hit_ratio": query.hit_ratio,
                    "share": report.share(query),
                    "display": " ".join(query.query.split()),
                    # Only queries get an EXPLAIN button: the form refuses anything else.
                    "explainable": sqltext.first_keyword(query.query) in sqltext.SELECT_ONLY,
                }
            )
    keep = "&all=1" if show_all else ""
    orders = [
        {"key": key, "label": label, "active": key == order, "query": f"?order={key}{keep}"}
        for key, label in QUERY_ORDERS.items()
    ]
    site = model_admin.admin_site.name
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
            "show_all": show_all,
            "toggle_url": f"?order={order}" + ("" if show_all else "&all=1"),
            "explain_url": reverse(f"{site}:perfaudit_explain"),
            "reset_url": reverse(f"{site}:perfaudit_queries_reset"),
            "can_reset": request.user.has_perm(RESET_PERMISSION),
            **_findings(report, request),
        },
    )


RESET_PERMISSION = "perfaudit.reset_statistics"


def queries_reset(model_admin, request):
    """Reset pg_stat_statements: GET asks for confirmation, only a POST (CSRF-checked by the
    admin) resets. It wipes everyone's statistics: the reset_statistics permission."""
    from django.contrib import messages
    from django.core.exceptions import PermissionDenied
    from django.http import HttpResponseRedirect

    if not request.user.has_perm(RESET_PERMISSION):
        raise PermissionDenied(f"resetting the statistics needs the {RESET_PERMISSION} permission")
    site = model_admin.admin_site.name
    if request.method == "POST":
        status, error = _run(services.reset_statistics)
        if error:
            messages.error(request, error)
        else:
            messages.success(
                request, f"Statement statistics reset at {status.stats_reset or 'now'}."
            )
        return HttpResponseRedirect(reverse(f"{site}:perfaudit_queries"))
    report, error = _run(services.slow_queries, limit=1, show_all=True)
    return _page(
        model_admin,
        request,
        "queries_reset",
        "Reset statement statistics?",
        {
            "report": report,
            "error": error,
            "active_tab": "queries",
            "queries_url": reverse(f"{site}:perfaudit_queries"),
        },
    )


def indexes(model_admin, request):
    report, error = _run(services.audit_indexes)
    every_index = [i.size_bytes for t in report.tables for i in t.indexes] if report else []
    return _page(
        model_admin,
        request,
        "indexes",
        "Index audit",
        {
            "report": report,
            "error": error,
            "largest_bytes": max(every_index, default=0),
            **_findings(report, request),
        },
    )


def tables(model_admin, request):
    report, error = _run(services.table_stats)
    largest = max((t.total_bytes or 0 for t in report.tables), default=0) if report else 0
    return _page(
        model_admin,
        request,
        "tables",
        "Table statistics",
        {"report": report, "error": error, "largest_bytes": largest, **_findings(report, request)},
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


def health(model_admin, request):
    report, error = _run(services.db_health)
    used = [s for s in report.sequences.sequences if s.used_ratio is not None] if report else []
    used.sort(key=lambda s: -s.used_ratio)
    return _page(
        model_admin,
        request,
        "health",
        "Database health",
        {"report": report, "error": error, "sequences": used[:20], **_findings(report, request)},
    )


#: Pages without a tab of their own: (url, view, url name suffix).
SUBPAGES = (
    ("queries/reset/", queries_reset, "queries_reset"),
    ("sessions/signal/", sessions_signal, "sessions_signal"),
    ("history/statement/<str:queryid>/", admin_history.history_statement, "history_statement"),
)

#: (url, view, url name suffix, tab title), in admin_base.TABS order. The first is the admin
#: index's link.
_VIEWS = {
    "overview": ("", overview),
    "queries": ("queries/", queries),
    "indexes": ("indexes/", indexes),
    "tables": ("tables/", tables),
    "connections": ("connections/", connections),
    "sessions": ("sessions/", sessions),
    "health": ("health/", health),
    "explain": ("explain/", explain),
    "advisor": ("advisor/", advisor),
    "history": ("history/", admin_history.history),
    "changes": ("changes/", admin_history.changes),
}
PAGES = tuple((*_VIEWS[name], name, title) for name, title in TABS)
