"""The Sessions page: every database session, what it does and for how long, who blocks whom;
and, for staff holding ``perfaudit.signal_backends``, cancelling a query or terminating a
session: a confirmation page (GET changes nothing), then a POST (CSRF-checked by the admin).

The page never decides alone which session may be signalled: perfaudit.services.sessions asks
the rules (the same session, the audited database, not perfaudit's own connection) and the
signal's SQL checks the same again; PostgreSQL applies its own role rules last.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import reverse

from perfaudit import services
from perfaudit.admin_base import findings as _findings
from perfaudit.admin_base import page as _page
from perfaudit.admin_base import run as _run
from perfaudit.rules.sessions import ACTIONS

SIGNAL_PERMISSION = "perfaudit.signal_backends"
#: Characters of each statement the page shows (the catalog reads more; the log none).
SHOWN_QUERY_CHARS = 300


class SignalForm(forms.Form):
    pid = forms.IntegerField(min_value=1)
    started = forms.IntegerField(help_text="the session's backend_start, in microseconds")
    action = forms.ChoiceField(choices=[(a, a) for a in ACTIONS])


def sessions(model_admin, request):
    report, error = _run(services.session_activity)
    site = model_admin.admin_site.name
    return _page(
        model_admin,
        request,
        "sessions",
        "Sessions",
        {
            "report": report,
            "error": error,
            "can_signal": request.user.has_perm(SIGNAL_PERMISSION),
            "signal_url": reverse(f"{site}:perfaudit_sessions_signal"),
            "query_chars": SHOWN_QUERY_CHARS,
            "actions": ACTIONS,
            **_findings(report, request),
        },
    )


def sessions_signal(model_admin, request):
    """GET: confirm (the session as it is now); POST: signal it, then back to Sessions."""
    if not request.user.has_perm(SIGNAL_PERMISSION):
        raise PermissionDenied(f"signalling sessions needs the {SIGNAL_PERMISSION} permission")
    back = reverse(f"{model_admin.admin_site.name}:perfaudit_sessions")
    data = request.POST if request.method == "POST" else request.GET
    form = SignalForm(data)
    if not form.is_valid():
        # No session named at all (the bare URL): say where to pick one. A half-named one: 400.
        response = _page(
            model_admin,
            request,
            "sessions_signal",
            "Signal a session",
            {"form": form if data else None, "active_tab": "sessions", "sessions_url": back},
        )
        response.status_code = 400 if data else 200
        return response
    target = {"pid": form.cleaned_data["pid"], "started_us": form.cleaned_data["started"]}
    action = form.cleaned_data["action"]
    if request.method == "POST":
        done, error = _run(
            services.signal_session, action=action, actor=request.user.get_username(), **target
        )
        if error:
            messages.error(request, error)
        else:
            messages.success(request, done)
        return HttpResponseRedirect(back)
    row, error = _run(services.session_lookup, **target)
    if error:
        messages.error(request, error)
        return HttpResponseRedirect(back)
    return _page(
        model_admin,
        request,
        "sessions_signal",
        f"{action.capitalize()} pid {target['pid']}?",
        {
            "form": form,
            "row": row,
            "action": action,
            "active_tab": "sessions",
            "sessions_url": back,
            "query_chars": SHOWN_QUERY_CHARS,
        },
    )
