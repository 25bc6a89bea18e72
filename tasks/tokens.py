"""API tokens: the secret, its digest, and the one token-lookup statement every auth path uses.

The secret a client holds (``Authorization: Token <secret>``) never reaches the database: Python
computes its SHA-256 and the SQL compares digests, so no query text, parameter, server log,
pg_stat_activity row, silk record, debug-toolbar panel or perfaudit log can hold it. Expiry and
revocation are part of the WHERE clause, so an expired or revoked token finds no row: one
index scan on ``tasks_apitoken.digest`` joined to its user by primary key.

``lookup_fragment`` is the only place the lookup SQL is written. The authentication of both
servers (tasks/authentication.py) and any statement that merges
authentication with the page it serves build their SELECT from it, so a change to the predicate
is a one-place change.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from functools import cache

from django.db import connections, router
from django.utils import timezone

from taskproject import asyncdb, replicas
from tasks.models import ApiToken, User
from tasks.serving import Statement

PREFIX_LENGTH = 8
# last_used_at is written at most once per this interval per token (a write per request would
# turn every read into a write, and every token row into a hot row).
TOUCH_INTERVAL = timedelta(minutes=5)

_T = f'"{ApiToken._meta.db_table}"'
_U = f'"{User._meta.db_table}"'
# The token columns the auth paths read, in model field order (ApiToken.from_db relies on it).
TOKEN_FIELDS = ("id", "prefix", "created", "expires_at", "last_used_at")
TOKEN_COLUMNS = ", ".join(f'{_T}."{name}"' for name in TOKEN_FIELDS)


def new_secret() -> str:
    """256 random bits, URL-safe (43 characters): nothing to guess, no slow KDF needed."""
    return secrets.token_urlsafe(32)


def digest_of(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def prefix_of(secret: str) -> str:
    return secret[:PREFIX_LENGTH]


def lookup_parts(secret: str) -> tuple[str, str, list]:
    """The token lookup in pieces: ``FROM``/``JOIN`` source, ``WHERE`` predicate, parameters.

    For statements that join more to the token's user before the WHERE clause (the merged
    token + page statements of tasks.selectors). The one parameter is the digest, never the
    secret. Expiry is checked against ``statement_timestamp()``, not ``now()`` (the
    transaction's start), so a token that expires during a long transaction stops working at
    once.
    """
    source = f'{_T} INNER JOIN {_U} ON {_U}."id" = {_T}."user_id"'
    where = (
        f'{_T}."digest" = %s AND {_T}."revoked_at" IS NULL '
        f'AND {_T}."expires_at" > statement_timestamp()'
    )
    return source, where, [digest_of(secret)]


def lookup_fragment(secret: str) -> tuple[str, list]:
    """``FROM … JOIN … WHERE …`` finding the live token for ``secret`` and its user, and params.

    Select ``TOKEN_COLUMNS`` and the ``"tasks_user"`` columns you need in front of it.
    """
    source, where, params = lookup_parts(secret)
    return f"FROM {source} WHERE {where}", params


@cache
def user_select() -> tuple[str, list[str]]:
    fields = list(User._meta.concrete_fields)
    columns = ", ".join(f'{_U}."{f.column}"' for f in fields)
    return columns, [f.attname for f in fields]


def lookup_statement(secret: str) -> tuple[str, list, list[str]]:
    """The whole auth statement: token columns, then every user column; and the user attnames."""
    fragment, params = lookup_fragment(secret)
    columns, names = user_select()
    return f"SELECT {TOKEN_COLUMNS}, {columns} {fragment}", params, names


def token_from_row(row, names, alias: str = "default") -> ApiToken:
    """Build the token (request.auth) and its user from one row of ``lookup_statement``."""
    n = len(TOKEN_FIELDS)
    user = User.from_db(alias, names, row[n:])
    token = ApiToken.from_db(alias, TOKEN_FIELDS, row[:n])
    token.user = user
    return token


def lookup(secret: str, *, using: str = "default") -> ApiToken | None:
    """The live token for ``secret`` with its user, or None: one statement."""
    sql, params, names = lookup_statement(secret)
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return None if row is None else token_from_row(row, names, using)


def live_token(secret: str) -> Statement:
    """``lookup`` as a statement for either server (tasks.serving): the token or None. On the
    primary: a token revoked a moment ago must fail at once."""
    sql, params, names = lookup_statement(secret)
    return Statement(
        sql, params, lambda rows: token_from_row(rows[0], names) if rows else None, routed=False
    )


def needs_touch(token: ApiToken, now=None) -> bool:
    now = now or timezone.now()
    return token.last_used_at is None or token.last_used_at <= now - TOUCH_INTERVAL


def touch_sql(token: ApiToken, now) -> tuple[str, list]:
    """The last-use write: the interval is checked in SQL as well, so two workers racing on one
    token write it once. The sync server runs it on Django's connection (``touch``), the async
    one natively (``atouch``)."""
    return (
        f'UPDATE {_T} SET "last_used_at" = %s WHERE {_T}."id" = %s '
        f'AND ({_T}."last_used_at" IS NULL OR {_T}."last_used_at" <= %s)',
        [now, token.pk, now - TOUCH_INTERVAL],
    )


def touch(token: ApiToken) -> None:
    """Record a use; a no-op (no statement) within TOUCH_INTERVAL of the last recorded one."""
    now = timezone.now()
    if needs_touch(token, now):
        sql, params = touch_sql(token, now)
        # Bookkeeping, not the user's write: it does not pin the user's reads to the primary
        # (read-your-writes, taskproject.replicas).
        with replicas.bookkeeping(), connections[router.db_for_write(ApiToken)].cursor() as cursor:
            cursor.execute(sql, params)
        token.last_used_at = now


async def atouch(token: ApiToken) -> None:
    """``touch`` on the native async path (taskproject.asyncdb: never a user's write there)."""
    now = timezone.now()
    if needs_touch(token, now):
        sql, params = touch_sql(token, now)
        await asyncdb.execute(sql, params)
        token.last_used_at = now
