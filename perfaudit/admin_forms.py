"""The admin pages with a form: EXPLAIN one query, advise indexes for the top queries or one.

Both send what was typed through perfaudit.gate (via the services). ANALYZE executes the
statement, so it needs ``PERFAUDIT['ADMIN_EXPLAIN_ANALYZE']`` (default: DEBUG) and the
``perfaudit.explain_analyze`` permission; asking without them is a 403, never a silent plain
EXPLAIN.
"""

from __future__ import annotations

import json

from django import forms
from django.conf import settings

from perfaudit import plantime, render, services, sqltext
from perfaudit.admin_base import findings as _findings
from perfaudit.admin_base import page as _page
from perfaudit.admin_base import run as _run
from perfaudit.conf import get_settings


class ExplainForm(forms.Form):
    sql = forms.CharField(
        label="SQL",
        widget=forms.Textarea(attrs={"rows": 8, "cols": 100, "spellcheck": "false"}),
        help_text="One SELECT (or WITH … SELECT). A statement from the Queries page has $1, $2, … "
        "where its values were: it gets PostgreSQL's generic plan (its plan for any value).",
    )
    analyze = forms.BooleanField(
        required=False,
        label="ANALYZE (executes the query, in a read-only transaction that is rolled back)",
    )
    buffers = forms.BooleanField(
        required=False, label="BUFFERS (blocks read from cache and disk, per node)"
    )


ANALYZE_PERMISSION = "perfaudit.explain_analyze"


def plan_picture(element_id: str, document: dict, sql: str) -> dict:
    """What _plan_picture.html needs: pev2 reads EXPLAIN's JSON output as text (a list of one
    document, as psql prints it)."""
    return {"id": element_id, "plan": json.dumps([document]), "query": sql}


def analyze_refusal(user) -> str | None:
    """Why ``user`` may not tick ANALYZE here, or None when they may."""
    enabled = get_settings().ADMIN_EXPLAIN_ANALYZE
    if not (settings.DEBUG if enabled is None else enabled):
        return (
            "ANALYZE is turned off on this site (PERFAUDIT['ADMIN_EXPLAIN_ANALYZE'], off by "
            "default outside DEBUG): it executes the statement"
        )
    if not user.has_perm(ANALYZE_PERMISSION):
        return f"ANALYZE executes the statement: it needs the {ANALYZE_PERMISSION} permission"
    return None


#: Why ANALYZE cannot run a statement with $n, in the page's words (the CLI says drop --analyze).
PLACEHOLDERS_AND_ANALYZE = (
    "ANALYZE runs the statement, and this one has placeholders ($1, $2, …) where "
    "pg_stat_statements removed the values it ran with. Untick ANALYZE to see PostgreSQL's "
    "generic plan (how it plans the statement for any value, nothing run), or replace each $n "
    "with a real value and explain it with ANALYZE."
)


def explain(model_admin, request):
    report = None
    rows = []
    timing = picture = None
    refusal = analyze_refusal(request.user)
    status = 200
    if request.method == "POST":
        form = ExplainForm(request.POST)
        if refusal and form.is_valid() and form.cleaned_data["analyze"]:
            form.add_error("analyze", refusal)
            status = 403
        elif (
            form.is_valid()
            and form.cleaned_data["analyze"]
            and sqltext.has_positional_params(form.cleaned_data["sql"])
        ):
            form.add_error("analyze", PLACEHOLDERS_AND_ANALYZE)
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
                rows = render.plan_rows(item.plan, [f.to_dict() for f in item.findings])
                timing = plantime.timing(item.plan)
                picture = plan_picture("perfaudit-plan-json", item.plan, item.sql)
    else:
        form = ExplainForm(initial={"sql": request.GET.get("sql", "")})
    if refusal:
        form.fields["analyze"].disabled = True
        form.fields["analyze"].help_text = refusal
    if status == 200 and request.method == "POST" and not form.is_valid():
        status = 400
    response = _page(
        model_admin,
        request,
        "explain",
        "EXPLAIN a query",
        {
            "form": form,
            "report": report,
            "rows": rows,
            "timing": timing,
            "picture": picture,
            "buffers": request.method == "POST"
            and form.is_valid()
            and form.cleaned_data["buffers"],
            "timeout_ms": get_settings().ADMIN_STATEMENT_TIMEOUT_MS,
            **_findings(report, request),
        },
    )
    response.status_code = status
    return response


def plan_comparisons(suggestions) -> list[dict]:
    """Each verified suggestion's statements planned without and with its index: text side by
    side, and the two documents for pev2 (drawn when the reader opens them)."""
    from perfaudit.render.plans import plan_text

    comparisons = []
    for s in suggestions:
        statements = []
        for number, (before, after) in sorted(s.plans.items()):
            ids = f"perfaudit-plan-{s.name}-{number}"
            statements.append(
                {
                    "number": number,
                    "sql": next((st["sql"] for st in s.statements if st["number"] == number), ""),
                    "before": {"text": plan_text(before), "cost": before["Plan"]["Total Cost"]}
                    | {"picture": plan_picture(f"{ids}-before", before, "")},
                    "after": {"text": plan_text(after), "cost": after["Plan"]["Total Cost"]}
                    | {"picture": plan_picture(f"{ids}-after", after, "")},
                }
            )
        if statements:
            comparisons.append({"name": s.name, "table": s.table, "statements": statements})
    return comparisons


class AdvisorForm(forms.Form):
    sql = forms.CharField(
        label="SQL",
        widget=forms.Textarea(attrs={"rows": 6, "cols": 100, "spellcheck": "false"}),
        help_text="One SELECT (or WITH … SELECT); $1 placeholders get a generic plan.",
    )


def advisor(model_admin, request):
    """Suggestions for the top queries (GET) or for one statement (POST)."""
    timeout_ms = get_settings().ADMIN_STATEMENT_TIMEOUT_MS
    if request.method == "POST":
        form = AdvisorForm(request.POST)
        report, error = None, None
        if form.is_valid():
            report, error = _run(
                services.advisor_page, sql=form.cleaned_data["sql"], timeout_ms=timeout_ms
            )
            if error:
                form.add_error("sql", error)
    else:
        form = AdvisorForm()
        report, error = _run(services.advisor_page, timeout_ms=timeout_ms)
    others = [f for f in report.findings if f.kind != "missing_index"] if report else []
    response = _page(
        model_admin,
        request,
        "advisor",
        "Index advisor",
        {
            "form": form,
            "report": report,
            "error": error if request.method == "GET" else None,
            "build_max_bytes": get_settings().ADVISOR_BUILD_MAX_BYTES,
            "comparisons": plan_comparisons(report.suggestions) if report else [],
            # The suggestions are the missing_index findings; the others are listed too.
            "findings": [{"finding": f, "evidence": ""} for f in others],
        },
    )
    if request.method == "POST" and not form.is_valid():
        response.status_code = 400
    return response
