"""Async variants (ASGI) of the task list, stats, user tasks, bulk-complete and summaries.

Plain Django async views, no DRF (its views are sync) and no thread hop on the hot paths: the
reads run the sync path's own SQL (tasks.selectors) on native async connections
(tasks.async_selectors, taskproject.asyncdb), and a token request authenticates in the same
statement as the data it asks for (one round trip). Validation reuses the sync serializers (pure
Python) and the row shaping is shared, so the JSON is identical (tests compare the bytes).
Authentication mirrors DRF's Token + Session classes, messages included; session requests (the
browser) and bulk-complete still go through Django's async ORM, which runs on a thread.
"""

from __future__ import annotations

import functools

import orjson
import psycopg
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions

from taskproject.middleware import database_unavailable_response
from tasks import async_selectors, services
from tasks.authentication import token_secret
from tasks.pagination import with_next_link
from tasks.permissions import require_self_or_staff, require_staff
from tasks.renderers import json_response
from tasks.serializers import (
    BulkCompleteSerializer,
    OwnTaskListParams,
    StatsParams,
    SummaryParams,
    TaskListParams,
)
from tasks.throttling import throttle_wait

# Down, unreachable, killed, statement timeout, no free connection (asyncdb.PoolTimeout).
_UNAVAILABLE = (OperationalError, InterfaceError, psycopg.OperationalError, psycopg.InterfaceError)


class _CSRFCheck(CsrfViewMiddleware):
    def _reject(self, request, reason):
        return reason


async def accept(request, token) -> None:
    """A looked-up token (or None) becomes the request's user, as DRF's class would do it."""
    if token is None:
        raise exceptions.AuthenticationFailed("Invalid token.")
    if not token.user.is_active:
        raise exceptions.AuthenticationFailed("User inactive or deleted.")
    await async_selectors.touch(token)
    request.api_token = token
    request.api_user = token.user


async def authenticate(request, secret: str | None) -> None:
    """DRF's TokenAuthentication, then SessionAuthentication (with its CSRF check)."""
    if secret is not None:
        await accept(request, await async_selectors.token(secret))
        return
    user = await request.auser()
    if not (user.is_authenticated and user.is_active):
        raise exceptions.NotAuthenticated()
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        check = _CSRFCheck(lambda req: None)
        check.process_request(request)
        reason = check.process_view(request, None, (), {})
        if reason:
            raise exceptions.PermissionDenied(f"CSRF Failed: {reason}")
    request.api_user = user


def endpoint(*methods: str):
    """Method check, DRF's errors and the database's 503 for an async view. The view
    authenticates (``authenticate``, or one merged statement with its data); the views raise
    DRF's own exceptions (and tasks.permissions'), rendered as DRF would."""

    def decorate(view):
        @csrf_exempt  # enforced in authenticate for session users only, as DRF does
        @functools.wraps(view)
        async def wrapper(request, *args, **kwargs):
            try:
                if request.method not in methods:
                    # DRF authenticates before it looks for a handler: 401 before 405.
                    await authenticate(request, token_secret(request))
                    raise exceptions.MethodNotAllowed(request.method)
                return await view(request, *args, **kwargs)
            except exceptions.ValidationError as exc:
                return json_response(exc.detail, status=400)
            except exceptions.APIException as exc:
                # DRF's exception_handler, minus the sync-only parts.
                response = json_response({"detail": exc.detail}, status=exc.status_code)
                if exc.status_code == 401:
                    response["WWW-Authenticate"] = "Token"
                if getattr(exc, "wait", None) is not None:
                    response["Retry-After"] = str(int(exc.wait))
                return response
            except _UNAVAILABLE as exc:
                # Native statements raise psycopg's errors, the ORM Django's: one 503 for both.
                return database_unavailable_response(request, exc)

        return wrapper

    return decorate


def _merged(secret, params) -> bool:
    """Authenticate in the data's statement (DB_MERGED_TOKEN_READS): a token and valid params."""
    return settings.DB_MERGED_TOKEN_READS and secret is not None and params is not None


@endpoint("GET")
async def task_list(request) -> HttpResponse:
    secret = token_secret(request)
    params = OwnTaskListParams.parse_or_none(request.GET)
    if _merged(secret, params) and params["scope"] == "own":
        params.pop("scope")
        token, page = await async_selectors.token_and_page(secret, **params)
        await accept(request, token)
        return json_response(with_next_link(request, page))
    await authenticate(request, secret)
    params = OwnTaskListParams.parse(request.GET)
    if params.pop("scope") == "all":
        require_staff(request.api_user, "scope=all")
        owner_id = None
    else:
        owner_id = request.api_user.pk
    page = await async_selectors.task_list(owner_id=owner_id, **params)
    return json_response(with_next_link(request, page))


@endpoint("GET")
async def task_stats(request) -> HttpResponse:
    secret = token_secret(request)
    params = StatsParams.parse_or_none(request.GET)
    if _merged(secret, params) and params["scope"] == "own":
        token, stats = await async_selectors.token_and_stats(secret)
        await accept(request, token)
        return json_response(stats)
    await authenticate(request, secret)
    if StatsParams.parse(request.GET)["scope"] == "global":
        require_staff(request.api_user, "scope=global")
        return json_response(await async_selectors.task_stats_global())
    own = await async_selectors.task_stats_for_owner(owner_id=request.api_user.pk)
    return json_response(own)


@endpoint("GET")
async def user_tasks(request, pk: int) -> HttpResponse:
    secret = token_secret(request)
    params = TaskListParams.parse_or_none(request.GET)
    if _merged(secret, params):
        # The statement reads the page only for the user themself or staff (token_page_sql).
        token, page = await async_selectors.token_and_page(secret, owner_id=pk, **params)
        await accept(request, token)
        require_self_or_staff(request.api_user, pk)
        return json_response(with_next_link(request, page))
    await authenticate(request, secret)
    require_self_or_staff(request.api_user, pk)
    params = TaskListParams.parse(request.GET)
    page = await async_selectors.task_list(owner_id=pk, **params)
    return json_response(with_next_link(request, page))


@endpoint("POST")
async def bulk_complete(request) -> HttpResponse:
    await authenticate(request, token_secret(request))
    # The same "bulk" budget as the sync endpoint (shared cache keys); the cache may be Redis,
    # so it is called off the event loop.
    wait = await sync_to_async(throttle_wait)(
        scope="bulk", user=request.api_user, meta=request.META
    )
    if wait is not None:
        raise exceptions.Throttled(wait)
    try:
        data = orjson.loads(request.body)
    except orjson.JSONDecodeError as exc:
        raise exceptions.ParseError(f"JSON parse error - {exc}") from None
    serializer = BulkCompleteSerializer(data=data)
    serializer.is_valid(raise_exception=True)
    # One UPDATE ... RETURNING through a raw cursor, which Django has no async API for; the
    # service (transaction and all) runs on Django's database thread, like every async ORM call.
    result = await sync_to_async(services.tasks_bulk_complete)(
        user=request.api_user, **serializer.validated_data
    )
    return json_response(result)


@endpoint("GET")
async def user_summaries(request) -> HttpResponse:
    await authenticate(request, token_secret(request))
    if not request.api_user.is_staff:
        raise exceptions.PermissionDenied("Staff only.")
    params = SummaryParams.parse(request.GET)
    return json_response(await async_selectors.user_summaries(ids=params["ids"]))
