"""The application's own requests, run in the sandbox: ``explain --url`` and ``adviseindexes
--url`` make one GET with Django's test client inside ``sandbox.rolled_back`` and record what it
ran with the one query recorder (perfaudit.recording)."""

from __future__ import annotations

from contextlib import contextmanager

from perfaudit import sqltext
from perfaudit.errors import ServiceError
from perfaudit.sandbox import rolled_back

__all__ = ["capture_request", "request_client", "requesting"]


def request_client(username: str | None):
    """A test client, logged in as ``username`` when one is given."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    if username:
        user_model = get_user_model()
        try:
            user = user_model._default_manager.get_by_natural_key(username)
        except user_model.DoesNotExist:
            raise ServiceError(f"no user {username!r}") from None
        client.force_login(user)
    return client


@contextmanager
def requesting(connection, username: str | None, *, timeout_ms: int):
    """A rolled-back transaction with a logged-in test client and the one query recorder:
    ``get(url)`` runs a GET and returns the response; ``recorder.queries`` is what it ran.
    What the view writes (sessions, last_login, ...) disappears with the transaction."""
    from django.conf import settings
    from django.test.utils import override_settings

    from perfaudit import recording

    recorder = recording.QueryRecorder()
    with rolled_back(connection, timeout_ms=timeout_ms) as cursor:
        client = request_client(username)

        def get(url: str):
            with (
                override_settings(ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]),
                recorder.installed([connection.alias]),
            ):
                # secure=: with SECURE_SSL_REDIRECT a plain-HTTP request only gets a redirect.
                return client.get(url, secure=bool(settings.SECURE_SSL_REDIRECT))

        yield get, recorder, cursor


def capture_request(
    connection, url: str, username: str | None, *, timeout_ms: int, keywords: frozenset[str]
) -> list[str]:
    """The statements one GET runs whose first keyword is in ``keywords``, each with its
    parameters inlined (the driver's own quoting) so the planner sees the values."""
    if not url.startswith("/"):
        raise ServiceError(f"--url must be a path starting with '/', got {url!r}")
    with requesting(connection, username, timeout_ms=timeout_ms) as (get, recorder, _cursor):
        get(url)
        return [
            connection.ops.compose_sql(q.sql, q.params) if q.params else q.sql
            for q in recorder.queries
            if not q.many and sqltext.first_keyword(q.sql) in keywords
        ]
