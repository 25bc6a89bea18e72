"""Async variants (ASGI) of the task list, stats, user tasks, bulk-complete and summaries.

Plain Django async views with the async ORM: no DRF (its views are sync) and no thread-pool
wrapper around the sync views. They reuse the same validation serializers (pure Python, no I/O),
the same query builders and row shaping as the sync selectors, so the JSON is identical.
Authentication mirrors DRF's Token + Session classes. Where Django still runs database work on a
thread (all of its async ORM, today) is documented in docs/api.md.
"""

from __future__ import annotations

import functools

import orjson
from asgiref.sync import sync_to_async
from django.http import HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.authtoken.models import Token

from tasks import selectors, services
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


class _CSRFCheck(CsrfViewMiddleware):
    def _reject(self, request, reason):
        return reason


async def _authenticate(request):
    """DRF's TokenAuthentication, then SessionAuthentication (with its CSRF check)."""
    parts = request.headers.get("Authorization", "").split()
    if parts and parts[0].lower() == "token":
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Invalid token header.")
        token = await Token.objects.select_related("user").filter(key=parts[1]).afirst()
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        return token.user
    user = await request.auser()
    if not (user.is_authenticated and user.is_active):
        raise exceptions.NotAuthenticated()
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        check = _CSRFCheck(lambda req: None)
        check.process_request(request)
        reason = check.process_view(request, None, (), {})
        if reason:
            raise exceptions.PermissionDenied(f"CSRF Failed: {reason}")
    return user


def endpoint(*methods: str):
    """Method check, authentication, and DRF's errors for an async view: the views raise DRF's
    own exceptions (and the permission helpers of tasks.permissions), rendered as DRF would."""

    def decorate(view):
        @csrf_exempt  # enforced in _authenticate for session users only, as DRF does
        @functools.wraps(view)
        async def wrapper(request, *args, **kwargs):
            try:
                request.api_user = await _authenticate(request)
                if request.method not in methods:
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

        return wrapper

    return decorate


@endpoint("GET")
async def task_list(request) -> HttpResponse:
    params = OwnTaskListParams.parse(request.GET)
    if params.pop("scope") == "all":
        require_staff(request.api_user, "scope=all")
        owner_id = None
    else:
        owner_id = request.api_user.pk
    page = await selectors.atask_list(owner_id=owner_id, **params)
    return json_response(with_next_link(request, page))


@endpoint("GET")
async def task_stats(request) -> HttpResponse:
    if StatsParams.parse(request.GET)["scope"] == "global":
        require_staff(request.api_user, "scope=global")
        return json_response(await selectors.atask_stats_global())
    return json_response(await selectors.atask_stats_for_owner(owner_id=request.api_user.pk))


@endpoint("GET")
async def user_tasks(request, pk: int) -> HttpResponse:
    require_self_or_staff(request.api_user, pk)
    params = TaskListParams.parse(request.GET)
    page = await selectors.atask_list(owner_id=pk, **params)
    return json_response(with_next_link(request, page))


@endpoint("POST")
async def bulk_complete(request) -> HttpResponse:
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
    if not request.api_user.is_staff:
        raise exceptions.PermissionDenied("Staff only.")
    params = SummaryParams.parse(request.GET)
    return json_response(await selectors.auser_summaries(ids=params["ids"]))
