"""The request handlers around Django: chunked request bodies (WSGI and ASGI), and Django's
ASGI handler without its last thread hops on requests that use no Django connection.

Chunked bodies. A body sent with ``Transfer-Encoding: chunked`` has no Content-Length, and
DRF's parsers read nothing without one: the API answered "title: required" for a task that had
a title. Here the body gets its length before Django sees the request: under WSGI
``ChunkedBodyWSGI`` reads it (gunicorn de-chunks it and says so with
``wsgi.input_terminated``; a server that does not gets a JSON 411), under ASGI the server has
de-chunked it and ``TaskprojectASGIHandler`` counts it. Either way the request then carries a
Content-Length, so taskproject.middleware.RequestBodyLimitMiddleware applies the usual limit
(JSON 413).

Django's ``ASGIHandler`` sends ``request_started`` with ``Signal.asend`` and closes the response
with ``sync_to_async(response.close)`` (which sends ``request_finished``): its sync receivers
(Django's ``reset_queries`` and ``close_old_connections``) run on a thread, a new one per
request (``ThreadSensitiveContext``). Those receivers only look after Django's database
connections. A request served by the native async path (taskproject.asyncdb) opens none, so for
it they have nothing to do: here they run inline, on the loop, when no Django connection is
open in the request's context and no async receiver is connected (``Signal.send`` cannot call
one from the loop). Any other request (session, ORM, bulk-complete) gets Django's own hops.

``handle`` is Django 5.2's, with those two changes (marked "taskproject").
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json

from asgiref.sync import SyncToAsync, sync_to_async
from django.core import signals
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.db import connections
from django.urls import set_script_prefix


def _ran_sync_code() -> bool:
    """Whether this request ran sync code on its thread (``ThreadSensitiveContext``): a sync
    view, the session or user lookup. Django's connections are per thread, so one opened there
    is invisible from the loop, and only a ``close_old_connections`` on that same thread closes
    it (with ``DB_POOL``: returns it to the pool; run on the loop, each such request kept one
    pooled connection for good, and the pool ran dry after ``DB_POOL_MAX_SIZE`` requests)."""
    context = SyncToAsync.thread_sensitive_context.get(None)
    return context is not None and context in SyncToAsync.context_to_thread_executor


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


def _inline_safe(signal, sender) -> bool:
    """Whether ``signal``'s receivers may run on the loop: no Django connection open in this
    context (so ``close_old_connections`` has nothing to close), no async receiver."""
    if _ran_sync_code():
        return False
    if any(conn.connection is not None for conn in connections.all(initialized_only=True)):
        return False
    _sync_receivers, async_receivers = signal._live_receivers(sender)
    return not async_receivers


class TaskprojectASGIHandler(ASGIHandler):
    async def handle(self, scope, receive, send):
        from django.core.exceptions import RequestAborted

        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        scope = _with_content_length(scope, body_file)  # taskproject: chunked bodies
        set_script_prefix(get_script_prefix(scope))
        # taskproject: request_started inline when it is safe.
        if _inline_safe(signals.request_started, self.__class__):
            signals.request_started.send(sender=self.__class__, scope=scope)
        else:
            await signals.request_started.asend(sender=self.__class__, scope=scope)
        request, error_response = self.create_request(scope, body_file)
        if request is None:
            body_file.close()
            await self.send_response(error_response, send)
            await sync_to_async(error_response.close)()
            return

        async def process_request(request, send):
            response = await self.run_get_response(request)
            # taskproject: judged in the context the view ran in (its connections are there).
            response._inline_close = _inline_safe(signals.request_finished, self.__class__)
            with contextlib.suppress(asyncio.CancelledError):
                await self.send_response(response, send)
            return response

        tasks = [
            asyncio.create_task(self.listen_for_disconnect(receive)),
            asyncio.create_task(process_request(request, send)),
        ]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            if task.done():
                try:
                    task.result()
                except RequestAborted:
                    pass
                except AssertionError:
                    body_file.close()
                    raise
            else:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

        try:
            response = tasks[1].result()
        except asyncio.CancelledError:
            await signals.request_finished.asend(sender=self.__class__)
        else:
            # taskproject: close inline (resource closers, request_finished) when it is safe.
            if getattr(response, "_inline_close", False):
                response.close()
            else:
                await sync_to_async(response.close)()

        body_file.close()
