"""Token authentication for DRF: hashed, expiring, revocable tokens (tasks.tokens).

DRF's TokenAuthentication runs ``Token.objects.select_related("user").get(key=...)`` on every
request, compiling that query each time, and compares the plain key in SQL. Here the statement is
fixed (tasks.tokens.lookup_statement: the digest of the presented secret, expiry and revocation in
the WHERE clause, the user joined in the same statement) and the rows are built with
``from_db``. Header parsing, messages and the ``WWW-Authenticate: Token`` challenge are DRF's
(this class subclasses TokenAuthentication for them; its plain-key model is never used).
"""

from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from tasks import tokens


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
