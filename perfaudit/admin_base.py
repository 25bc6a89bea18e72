"""What every perfaudit admin page shares: the tab bar, the page frame, errors shown on the
page (never a 500), findings filtered by ``?severity=``."""

from __future__ import annotations

import json

from django.template.response import TemplateResponse
from django.urls import reverse

from perfaudit.errors import ServiceError
from perfaudit.findings import SEVERITIES, json_default

#: (url name suffix, tab title), in tab order; perfaudit.admin_views.PAGES maps them to views.
TABS = (
    ("overview", "Overview"),
    ("queries", "Queries"),
    ("indexes", "Indexes"),
    ("tables", "Tables"),
    ("connections", "Connections"),
    ("sessions", "Sessions"),
    ("health", "Health"),
    ("explain", "Explain"),
    ("advisor", "Advisor"),
    ("history", "History"),
    ("changes", "Changes"),
)

SEVERITY_ORDER = tuple(reversed(SEVERITIES))  # error, warning, info


def page(model_admin, request, name: str, title: str, context: dict) -> TemplateResponse:
    tabs = [
        {
            "title": tab_title,
            "url": reverse(f"{model_admin.admin_site.name}:perfaudit_{tab}"),
            "active": tab == context.get("active_tab", name),
        }
        for tab, tab_title in TABS
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


def run(service, **kwargs):
    """(report, error): the page shows a service's one-line error instead of failing."""
    try:
        return service(**kwargs), None
    except ServiceError as exc:
        return None, str(exc)


def findings(report, request) -> dict:
    """Findings for the template, filtered by ``?severity=`` (the overview's count links).
    Info findings on the tables of installed packages (auth, sessions, silk, ...) are grouped
    under their app, apart: what the project can act on comes first."""
    if report is None:
        return {"findings": [], "severity": None}
    severity = request.GET.get("severity")
    if severity not in SEVERITIES:
        severity = None
    rows, groups = [], {}
    for finding in report.findings:
        if severity and finding.severity != severity:
            continue
        row = {
            "finding": finding,
            "evidence": json.dumps(finding.evidence, indent=1, default=json_default),
        }
        app = report.package_apps.get(finding.table)
        if app and finding.severity == "info":
            groups.setdefault(app, []).append(row)
        else:
            rows.append(row)
    return {
        "findings": rows,
        "package_groups": sorted(groups.items()),
        "severity": severity,
        "total_findings": len(report.findings),
    }
