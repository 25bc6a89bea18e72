"""Token authentication for DRF: hashed, expiring, revocable tokens (tasks.tokens).

DRF's TokenAuthentication runs ``Token.objects.select_related("user").get(key=...)`` on every
request, compiling that query each time, and compares the plain key in SQL. Here the statement is
fixed (tasks.tokens.lookup_statement: the digest of the presented secret, expiry and revocation in
the WHERE clause, the user joined in the same statement) and the rows are built with
``from_db``. Header parsing, messages and the ``WWW-Authenticate: Token`` challenge are DRF's
(this class subclasses TokenAuthentication for them; its plain-key model is never used).

This module is the API's one authentication, for both servers: the sync views (DRF) use
``FastTokenAuthentication`` and DRF's SessionAuthentication; the native async views use
``aauthenticate``, the same order (token, then session with DRF's own CSRF check), the same
statement, checks and messages. Either server may authenticate a token request in the
statement that reads its data (``merged_token_read``, ``aaccept``; tasks/routes.py).
"""

from django.conf import settings
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication, TokenAuthentication

from tasks import tokens
from tasks.serving import Statement


def check_token(token):
    """A looked-up token (or None) that may authenticate, with DRF's messages otherwise."""
    if token is None:
        raise exceptions.AuthenticationFailed("Invalid token.")
    if not token.user.is_active:
        raise exceptions.AuthenticationFailed("User inactive or deleted.")
    return token


class FastTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key):
        token = check_token(tokens.lookup(key))
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


def merged_reads_enabled() -> bool:
    """Whether token reads may merge with their data (DB_MERGED_TOKEN_READS); not with read
    replicas, where token reads stay on the primary while the data goes to a replica."""
    return settings.DB_MERGED_TOKEN_READS and not settings.REPLICA_ALIASES


def merged_token_read(request, statement):
    """Authenticate a token request in the statement that reads its data: one round trip.

    ``statement(secret)`` returns a ``Statement`` shaped ``(token, data)`` (tasks/routes.py's
    ``merged``), or None. On a live token of an active user the DRF request is authenticated
    exactly as FastTokenAuthentication would do it (user, auth, last use) and ``data`` is
    returned. In every other case (no or malformed header, dead token, inactive user, merged
    reads off: ``merged_reads_enabled``) this returns None, having changed nothing: DRF's own
    authentication then runs and gives its own answer, so errors are DRF's, byte for byte.
    """
    if not merged_reads_enabled():
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
    token, data = prepared.run()
    if token is None or not token.user.is_active:
        return None
    tokens.touch(token)
    request._authenticator = FastTokenAuthentication()
    request.user, request.auth = token.user, token
    return data


# --- the native async server ---------------------------------------------------------------------


async def aaccept(request, token) -> None:
    """A looked-up token (or None) becomes the async request's user, as DRF's class does it."""
    check_token(token)
    await tokens.atouch(token)
    request.user, request.auth = token.user, token


async def aauthenticate(request, secret: str | None) -> None:
    """DRF's authentication classes in DRF's order, for the async views: the token, else the
    session (with DRF's own CSRF check); 401 for neither."""
    if secret is not None:
        await aaccept(request, await tokens.live_token(secret).arun())
        return
    user = await request.auser()
    if not (user.is_authenticated and user.is_active):
        raise exceptions.NotAuthenticated()
    if request.method not in ("GET", "HEAD", "OPTIONS", "TRACE"):
        # DRF's SessionAuthentication check (the CSRF cookie and header: no I/O); it accepts
        # the safe methods without looking.
        SessionAuthentication().enforce_csrf(request)
    request.user, request.auth = user, None


async def amerged_read(request, statement: Statement) -> object:
    """``merged_token_read`` for the async views: authenticates (or fails, DRF's messages) and
    returns the data."""
    token, data = await statement.arun()
    await aaccept(request, token)
    return data


def authenticate_header(request) -> str:
    """The WWW-Authenticate challenge of a 401, as DRF's APIView takes it (first class)."""
    return FastTokenAuthentication().authenticate_header(request)
