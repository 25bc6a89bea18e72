"""Where statements come from (--url capture, pg_stat_statements) and trial helpers."""

from __future__ import annotations

from django.db import DatabaseError

from perfaudit import recording, sqltext
from perfaudit.catalog import advisor as catalog
from perfaudit.conf import get_settings
from perfaudit.errors import ServiceError
from perfaudit.errors import one_line as _one_line
from perfaudit.rules import advisor as rules
from perfaudit.sandbox import rolled_back
from perfaudit.services.advisor.report import ADVISABLE

# --- input -----------------------------------------------------------------------------------


def _capture_url(connection, url: str, username: str | None) -> list[catalog.AdvisorStatement]:
    """The statements one GET runs, recorded by perfaudit's one recorder in a rolled-back
    transaction (as ``explain --url``), each with its parameters inlined (the driver's own
    quoting) so the planner sees the values."""
    from django.conf import settings
    from django.test.utils import override_settings

    from perfaudit.services.explain import _client_for

    if not url.startswith("/"):
        raise ServiceError(f"--url must be a path starting with '/', got {url!r}")
    recorder = recording.QueryRecorder()
    with rolled_back(connection, timeout_ms=get_settings().STATEMENT_TIMEOUT_MS):
        client = _client_for(username)
        with (
            override_settings(ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]),
            recorder.installed([connection.alias]),
        ):
            client.get(url, secure=bool(settings.SECURE_SSL_REDIRECT))
        result = []
        for query in recorder.queries:
            if query.many or sqltext.first_keyword(query.sql) not in ADVISABLE:
                continue
            params = query.params
            text = connection.ops.compose_sql(query.sql, params) if params else query.sql
            result.append(catalog.AdvisorStatement(sql=text, source=f"url {url}"))
    return result


def _advisable_entry(sql: str) -> bool:
    if sqltext.first_keyword(sql) not in ADVISABLE:
        return False
    try:
        tables = rules.referenced_tables(sql)
    except rules.AdvisorInputError:
        return True  # listed, with the parser's reason
    return bool(tables) and not any(
        t.startswith(("pg_", "hypopg")) or t == "information_schema" for t in tables
    )


def _savepoint(connection):
    from django.db import transaction

    return transaction.atomic(using=connection.alias)


def _attempt(trial, errors: list, label: str):
    try:
        return trial()
    except DatabaseError as exc:
        errors.append(f"{label}: {_one_line(exc)}")
        return None


def _best_unverified(cands: list[rules.Candidate]) -> list[rules.Candidate]:
    """Without the planner, one candidate per statement: the widest of its B-trees (equality
    then sort/range), plus its GIN candidates; prefixes of a kept one are dropped."""
    kept: list[rules.Candidate] = []
    for cand in sorted(cands, key=lambda c: (-len(c.statements), -len(c.keys))):
        if any(rules.is_prefix(cand, k) and cand.statements <= k.statements for k in kept):
            continue
        if cand.using == "btree" and any(
            k.using == "btree" and k.table == cand.table and cand.statements <= k.statements
            for k in kept
        ):
            continue
        kept.append(cand)
    return kept


def _build_sql(cand: rules.Candidate, name: str, ext: catalog.Extensions) -> list[str]:
    """The statements of a real trial build (rolled back with it, the extension included)."""
    sql = [cand.create_sql(name, concurrently=False)]
    if any(k.opclass == "gin_trgm_ops" for k in cand.keys) and not ext.pg_trgm_installed:
        sql.insert(0, "CREATE EXTENSION IF NOT EXISTS pg_trgm")
    return sql
