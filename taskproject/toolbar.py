"""django-debug-toolbar panels that keep no credential (DEBUG only; docs/operations.md).

The toolbar stores what it records and serves it to anyone at an INTERNAL_IPS address, logged
in or not (/__debug__/render_panel/): so a secret must never reach its store. Each panel that
records request data is replaced by a subclass (same class name, so the panel id, cookie and
template stay the same) that masks at the source, before ``record_stats``:

* History: the POST (or JSON) data of every request, the admin login's and the token
  endpoint's passwords included; masked by key like Django's error reports, plus CSRF.
* Request: Django's filter already masks POST keys; here also the session cookie, the CSRF
  cookie and the session's password-derived hash.
* Headers: ``Authorization: Token <secret>`` (the toolbar hides only cookies): the scheme stays.
* SQL: parameters of statements on the session table (session keys) and of writes to the
  user table (password hashes). The token lookup sends only a digest (tasks.tokens), which
  stays visible.
* Templates: context values under sensitive keys, and the browsable API's rendered response
  (``content``): the token endpoint's answer holds the new token.
"""

import re

from debug_toolbar.panels.headers import HeadersPanel as BaseHeadersPanel
from debug_toolbar.panels.history import HistoryPanel as BaseHistoryPanel
from debug_toolbar.panels.request import RequestPanel as BaseRequestPanel
from debug_toolbar.panels.sql import SQLPanel as BaseSQLPanel
from debug_toolbar.panels.templates import TemplatesPanel as BaseTemplatesPanel
from django.http import QueryDict

MASK = "********************"
#: Django's SafeExceptionReporterFilter words, plus the session and CSRF secrets.
SENSITIVE = re.compile(
    r"API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|COOKIE|SESSION|CSRF|_HASH", re.IGNORECASE
)


def masked(value, key: str = ""):
    """``value`` with every entry under a sensitive key masked, nested dicts and lists too."""
    if key and SENSITIVE.search(key):
        return MASK
    if isinstance(value, QueryDict):
        return {k: masked(v if len(v) > 1 else v[0], k) for k, v in value.lists()}
    if isinstance(value, dict):
        return {k: masked(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [masked(v) for v in value]
    return value


def masked_headers(headers: dict) -> dict:
    masked_ = dict(headers)
    for name in ("Authorization", "Proxy-Authorization"):
        if name in masked_:
            scheme = str(masked_[name]).split(" ", 1)[0]
            masked_[name] = f"{scheme} {MASK}"
    return masked_


class HeadersPanel(BaseHeadersPanel):
    def record_stats(self, stats):
        if "request_headers" in stats:
            self.request_headers = masked_headers(stats["request_headers"])
            stats = {**stats, "request_headers": self.request_headers}
        super().record_stats(stats)


class HistoryPanel(BaseHistoryPanel):
    def record_stats(self, stats):
        if stats.get("data") is not None:
            stats = {**stats, "data": masked(stats["data"])}
        super().record_stats(stats)


def _masked_pairs(section):
    """The Request panel's {"list": [(key, value), ...]} with sensitive keys masked."""
    if not isinstance(section, dict) or "list" not in section:
        return section
    return {
        **section,
        "list": [(k, MASK if SENSITIVE.search(str(k)) else v) for k, v in section["list"]],
    }


class RequestPanel(BaseRequestPanel):
    def record_stats(self, stats):
        stats = {
            k: _masked_pairs(v) if k in {"cookies", "session"} else v for k, v in stats.items()
        }
        super().record_stats(stats)


def _holds_secrets(sql: str) -> bool:
    """A statement on the session table (session keys and data), or one writing the user table
    (a password hash). Reads of the user table stay visible: the token lookup joins it, and
    its parameter is the digest, which is no secret."""
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.models import Session

    if f'"{Session._meta.db_table}"' in sql:
        return True
    writes = sql.lstrip().upper().startswith(("INSERT", "UPDATE"))
    return writes and f'"{get_user_model()._meta.db_table}"' in sql


class SQLPanel(BaseSQLPanel):
    def record(self, **kwargs):
        raw, params = kwargs.get("raw_sql") or "", kwargs.get("params")
        if params and _holds_secrets(raw):
            if isinstance(params, dict):
                kwargs["params"] = dict.fromkeys(params, MASK)
            else:
                kwargs["params"] = [MASK] * len(params)
            kwargs["sql"] = raw.replace("%s", f"'{MASK}'")
        super().record(**kwargs)


class TemplatesPanel(BaseTemplatesPanel):
    def process_context_list(self, context_layers):
        safe_layers = [
            {
                key: MASK if SENSITIVE.search(str(key)) or key == "content" else value
                for key, value in layer.items()
            }
            for layer in context_layers
        ]
        return super().process_context_list(safe_layers)
