"""The History, statement drill-down and Changes pages (issue 23's memory half).

Thin like perfaudit.admin_views: parse the request, call one service, render. perfaudit.admin
mounts them through admin_views.PAGES / SUBPAGES, so the same view_dashboard permission guards
them. The charts are dicts for the chart partial (perfaudit.render.charts).
"""

from __future__ import annotations

from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from perfaudit.admin_base import page as _page
from perfaudit.admin_base import run as _run
from perfaudit.history.windows import parse_moment
from perfaudit.services.advisor import advisor_page
from perfaudit.services.history import perf_changes
from perfaudit.services.history_pages import WINDOWS, history_page, statement_page

CHANGE_WINDOWS = ("1h", "6h", "24h", "7d")


def _windows(current: str, extra: str = "") -> list[dict]:
    return [{"key": w, "active": w == current, "query": f"?window={w}{extra}"} for w in WINDOWS]


def _window(request) -> tuple[str, str | None]:
    """The ?window= choice, or the error naming it (the page answers 400 then)."""
    window = request.GET.get("window") or WINDOWS[0]
    if window not in WINDOWS:
        return WINDOWS[0], f"window: {window[:20]!r} is not one of {', '.join(WINDOWS)}"
    return window, None


def _bad(response, error):
    if error:
        response.status_code = 400
    return response


def history(model_admin, request):
    show_all = request.GET.get("all") == "1"
    window, bad = _window(request)
    page, error = (None, bad) if bad else _run(history_page, window=window, show_all=show_all)
    site = model_admin.admin_site.name
    statements = []
    if page:
        statements = [
            {
                "queryid": queryid,
                "calls": calls,
                "total_ms": total_ms,
                "mean_ms": total_ms / calls if calls else None,
                "display": " ".join(text.split()),
                "url": reverse(f"{site}:perfaudit_history_statement", args=[queryid])
                + f"?window={page.window}",
            }
            for queryid, calls, total_ms, text in page.statements
        ]
    keep = "&all=1" if show_all else ""
    response = _page(
        model_admin,
        request,
        "history",
        "History",
        {
            "page": page,
            "error": error,
            "windows": _windows(page.window if page else WINDOWS[0], keep),
            "statements": statements,
            "show_all": show_all,
            "toggle_url": f"?window={page.window if page else WINDOWS[0]}"
            + ("" if show_all else "&all=1"),
        },
    )
    return _bad(response, bad)


def history_statement(model_admin, request, queryid):
    # pg_stat_statements' queryids are signed 64-bit: <int:> would not match the negative half.
    try:
        queryid = int(queryid)
    except ValueError:
        raise Http404("not a queryid") from None
    window, bad = _window(request)
    page, error = (None, bad) if bad else _run(statement_page, queryid=queryid, window=window)
    advice, advice_error = None, None
    if page and request.GET.get("advise") == "1":
        advice, advice_error = _run(advisor_page, sql=page.query)
    response = _page(
        model_admin,
        request,
        "history_statement",
        f"Statement {queryid}",
        {
            "page": page,
            "error": error,
            "active_tab": "history",
            "windows": _windows(page.window if page else WINDOWS[0]),
            "advice": advice,
            "advice_error": advice_error,
            "advise_url": f"?window={page.window if page else WINDOWS[0]}&advise=1",
        },
    )
    return _bad(response, bad)


def changes(model_admin, request):
    since = request.GET.get("since") or "24h"
    try:
        parse_moment(since, now=timezone.now())
    except ValueError as exc:
        report, error, bad = None, f"since: {exc}", True
    else:
        (report, error), bad = _run(perf_changes, since=since), False
    site = model_admin.admin_site.name
    rows = []
    if report:
        for change in report.changes:
            url = None
            if change.queryid is not None:
                url = reverse(f"{site}:perfaudit_history_statement", args=[change.queryid])
            rows.append({"change": change, "url": url})
    response = _page(
        model_admin,
        request,
        "changes",
        "What changed",
        {
            "changes_report": report,
            "error": error,
            "rows": rows,
            "since": since,
            "choices": [{"key": w, "active": w == since} for w in CHANGE_WINDOWS],
        },
    )
    if bad:
        response.status_code = 400
    return response
