"""The native async serving (ASGI) of the routes declared in tasks/routes.py.

``route_view(route)`` is a plain Django async view, no DRF (its views are sync) and no thread hop
on a token request: the route's handler is driven on the event loop (tasks.serving.adrive),
its statements awaited on native async connections (taskproject.asyncdb), read replicas and
read-your-writes as on the sync server (taskproject.replicas). Everything else is the sync
server's own code: authentication (tasks.authentication, DRF's order, messages and CSRF check),
permissions (tasks.permissions), throttles (tasks.throttling), errors (tasks.errors: DRF's
exception handler) and rendering (tasks.renderers), so the JSON is identical (tests compare the
bytes). Session requests (the browser) and writes still use Django's ORM, on its thread.
"""

from __future__ import annotations

import functools

import orjson
from asgiref.sync import sync_to_async
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions

from tasks.authentication import (
    aauthenticate,
    amerged_read,
    merged_reads_enabled,
    token_secret,
)
from tasks.errors import error_response
from tasks.permissions import IsStaff
from tasks.renderers import json_response
from tasks.routes import Route
from tasks.serving import Call, adrive
from tasks.throttling import throttle_wait


def _json_body(request):
    try:
        return orjson.loads(request.body)
    except orjson.JSONDecodeError as exc:
        raise exceptions.ParseError(f"JSON parse error - {exc}") from None


async def _serve(route: Route, request, kwargs) -> HttpResponse:
    """DRF's APIView.dispatch, in order: authenticate, permissions, throttle, then the handler
    (a wrong method is a 405 only once authenticated, as in DRF)."""
    secret = token_secret(request)
    merged = statement = None
    if secret is not None and route.merged is not None and request.method == route.method:
        statement = route.merged(secret, request.GET, kwargs) if merged_reads_enabled() else None
    if statement is not None:
        merged = await amerged_read(request, statement)
    else:
        await aauthenticate(request, secret)
    if request.method != route.method:
        raise exceptions.MethodNotAllowed(request.method)
    if route.staff_only and not IsStaff().has_permission(request, None):
        raise exceptions.PermissionDenied(IsStaff.message)
    if route.throttle_scope is not None:
        # The same budget as the sync view (shared cache keys); the cache may be Redis, so it
        # is asked off the event loop.
        wait = await sync_to_async(throttle_wait)(
            scope=route.throttle_scope, user=request.user, meta=request.META
        )
        if wait is not None:
            raise exceptions.Throttled(wait)
    call = Call(request, request.user, kwargs, merged, body=lambda: _json_body(request))
    return json_response(await adrive(route.handle(call)))


def route_view(route: Route):
    """The async view of ``route``."""

    @csrf_exempt  # checked in aauthenticate for session users only, as DRF does
    async def view(request, **kwargs) -> HttpResponse:
        try:
            return await _serve(route, request, kwargs)
        except Exception as exc:
            response = error_response(request, exc)
            if response is None:
                raise
            return response

    functools.update_wrapper(view, route.handle, assigned=("__module__", "__doc__"))
    view.__name__ = view.__qualname__ = route.handle.__name__
    return view
