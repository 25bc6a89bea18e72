"""The request handlers around Django: chunked request bodies (WSGI and ASGI), and Django's
ASGI handler with no thread hop for ``request_started``.

Chunked bodies. A body sent with ``Transfer-Encoding: chunked`` has no Content-Length, and
DRF's parsers read nothing without one: the API answered "title: required" for a task that had
a title. Here the body gets its length before Django sees the request: under WSGI
``ChunkedBodyWSGI`` reads it (gunicorn de-chunks it and says so with
``wsgi.input_terminated``; a server that does not gets a JSON 411), under ASGI the server has
de-chunked it and ``TaskprojectASGIHandler`` counts it. Either way the request then carries a
Content-Length, so taskproject.middleware.RequestBodyLimitMiddleware applies the usual limit
(JSON 413).

Django's ASGI handler, through supported hooks only. It sends ``request_started`` with
``Signal.asend``, which runs sync receivers on a thread (a new one per request,
``ThreadSensitiveContext``). The only receivers are Django's own ``reset_queries`` and
``close_old_connections``, which look after Django's connections of the thread they run on: at
the start of an ASGI request nothing has opened one in its context (Django refuses to connect
from the event loop, and the request's database thread is new), so there is nothing for them
to do but they cost a hop. ``use_async_request_started`` replaces them on that signal, in ASGI
processes only (the handler does it), by one async receiver that runs them on the loop
(``asend`` awaits async receivers in place) unless a connection is open on the loop's thread,
when it hands them to a thread as Django would. ``request_finished`` keeps Django's receivers
and handler: ``close_old_connections`` must run on the request's database thread, where its
connections (and, with ``DB_POOL``, the pool's) live; Django closes the response there.
Chunked bodies use ``create_request``; nothing of ``ASGIHandler.handle`` is copied.
"""

from __future__ import annotations

import io
import json

from asgiref.sync import sync_to_async
from django import db
from django.core import signals
from django.core.handlers.asgi import ASGIHandler
from django.db import connections


def _chunked(transfer_encoding: str, content_length) -> bool:
    return "chunked" in transfer_encoding.lower() and not content_length


def _json_reply(start_response, status: str, detail: str) -> list[bytes]:
    body = json.dumps({"detail": detail}).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


class ChunkedBodyWSGI:
    """WSGI: give a chunked request body a Content-Length (read up to the body limit + 1)."""

    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        if _chunked(environ.get("HTTP_TRANSFER_ENCODING", ""), environ.get("CONTENT_LENGTH")):
            if not environ.get("wsgi.input_terminated"):
                return _json_reply(
                    start_response,
                    "411 Length Required",
                    "This server cannot read a chunked request body: send a Content-Length.",
                )
            from django.conf import settings

            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            # One byte over the limit is enough for the body-limit middleware to refuse it.
            body = environ["wsgi.input"].read(-1 if limit is None else limit + 1)
            environ = {**environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
        return self.application(environ, start_response)


def _with_content_length(scope, body_file):
    """ASGI: the de-chunked body's length as the request's Content-Length."""
    headers = dict(scope.get("headers") or ())
    if not _chunked(headers.get(b"transfer-encoding", b"").decode("latin-1"), None) or (
        b"content-length" in headers
    ):
        return scope
    size = body_file.seek(0, io.SEEK_END)
    body_file.seek(0)
    return {**scope, "headers": [*scope["headers"], (b"content-length", str(size).encode())]}


async def request_started(**kwargs) -> None:
    """Django's request_started receivers (django.db.reset_queries, close_old_connections) as
    one async receiver, so ``Signal.asend`` makes no thread hop for them."""
    if any(conn.connection is not None for conn in connections.all(initialized_only=True)):
        await sync_to_async(_django_request_started)()
    else:
        _django_request_started()


def _django_request_started() -> None:
    db.reset_queries()
    db.close_old_connections()


def use_async_request_started() -> None:
    """In an ASGI process: ``request_started``'s receivers as one async receiver (above)."""
    signals.request_started.disconnect(db.reset_queries)
    signals.request_started.disconnect(db.close_old_connections)
    signals.request_started.connect(request_started, dispatch_uid="taskproject.request_started")


def use_sync_request_started() -> None:
    """Django's own receivers again (tests that built an ASGI handler in their process)."""
    signals.request_started.disconnect(dispatch_uid="taskproject.request_started")
    signals.request_started.connect(db.reset_queries)
    signals.request_started.connect(db.close_old_connections)


class TaskprojectASGIHandler(ASGIHandler):
    """Django's ASGIHandler, with async request_started receivers and chunked bodies."""

    def __init__(self):
        super().__init__()
        use_async_request_started()

    def create_request(self, scope, body_file):
        return super().create_request(_with_content_length(scope, body_file), body_file)
