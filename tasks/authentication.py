"""Token authentication for DRF: hashed, expiring, revocable tokens (tasks.tokens).

DRF's TokenAuthentication runs ``Token.objects.select_related("user").get(key=...)`` on every
request, compiling that query each time, and compares the plain key in SQL. Here the statement is
fixed (tasks.tokens.lookup_statement: the digest of the presented secret, expiry and revocation in
the WHERE clause, the user joined in the same statement) and the rows are built with
``from_db``. Header parsing, messages and the ``WWW-Authenticate: Token`` challenge are DRF's
(this class subclasses TokenAuthentication for them; its plain-key model is never used).
"""

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from tasks import selectors, tokens


class FastTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key):
        token = tokens.lookup(key)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        # A write at most once per TOUCH_INTERVAL per token, not per request.
        tokens.touch(token)
        return token.user, token


def token_secret(request) -> str | None:
    """The secret of an ``Authorization: Token <secret>`` header, None without one; DRF's
    TokenAuthentication messages for a malformed one (the async views use these too)."""
    parts = request.headers.get("Authorization", "").split()
    if not parts or parts[0].lower() != "token":
        return None
    if len(parts) == 1:
        raise exceptions.AuthenticationFailed("Invalid token header. No credentials provided.")
    if len(parts) > 2:
        raise exceptions.AuthenticationFailed(
            "Invalid token header. Token string should not contain spaces."
        )
    return parts[1]


def merged_token_read(request, statement):
    """Authenticate a token request in the statement that reads its data: one round trip.

    ``statement(secret)`` returns ``(sql, params, split)``; ``split(rows, user_names…)`` is
    applied to the rows and returns ``(token, data)``. On a live token of an active user the DRF
    request is authenticated exactly as FastTokenAuthentication would do it (user, auth,
    last use) and ``data`` is returned. In every other case (no or malformed header, dead token,
    inactive user, read replicas configured: token reads stay on the primary while pages go to
    a replica; DB_MERGED_TOKEN_READS off) this returns None, having changed nothing: DRF's own
    authentication then runs and gives its own answer, so errors are DRF's, byte for byte.
    """
    if settings.REPLICA_ALIASES or not settings.DB_MERGED_TOKEN_READS:
        return None
    try:
        secret = token_secret(request)
    except exceptions.AuthenticationFailed:
        return None
    if secret is None:
        return None
    prepared = statement(secret)
    if prepared is None:
        return None
    sql, params, split = prepared
    with selectors.hot_cursor(DEFAULT_DB_ALIAS) as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    token, data = split(rows)
    if token is None or not token.user.is_active:
        return None
    tokens.touch(token)
    request._authenticator = FastTokenAuthentication()
    request.user, request.auth = token.user, token
    return data
