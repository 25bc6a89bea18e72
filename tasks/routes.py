"""The API routes both servers serve, each declared once: its query, output shape, permissions,
throttle and errors. tasks/views.py derives the sync DRF view of each (``/api/<path>``, WSGI or
ASGI), tasks/async_views.py the native async view (``/api/async/<path>``, no thread hop);
tasks/urls.py mounts both. Adding a field or an endpoint is a change here (and in the selector
that builds its statement), nowhere else.

A handler (tasks.serving) is a generator: it yields each I/O step and returns the response
data. It raises DRF's exceptions (tasks.permissions' too), which both servers answer with DRF's
exception handler (tasks.errors). ``merged`` builds the statement that authenticates a token
request and reads its data in one round trip (tasks.authentication); when it applies, the
handler finds that data in ``call.merged``.

Routes only the sync server serves (token issue, task detail, bulk create, search, user list,
dashboard) are plain DRF views in tasks/views.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers as s

from tasks import selectors, services
from tasks.pagination import with_next_link
from tasks.permissions import require_self_or_staff, require_staff
from tasks.serializers import (
    BulkCompleteSerializer,
    OwnTaskListParams,
    StatsParams,
    SummaryParams,
    TaskListParams,
    TaskPageSerializer,
)
from tasks.serving import Call, Handler, Service, Statement

ANY_OBJECT = OpenApiResponse(description="JSON object, see docs/api.md")


@dataclass(eq=False)
class Route:
    name: str  # the URL name; the async view's is "async-<name>"
    path: str  # under /api/ (sync) and /api/async/ (native async)
    method: str
    title: str  # the browsable API's page title
    handle: Handler
    params: type | None = None  # query parameters: parsed by the handler, in the schema
    body: type | None = None  # request body serializer: validated by the handler, in the schema
    response: Any = ANY_OBJECT  # the output shape, for the schema
    staff_only: bool = False  # else any authenticated user (tasks.permissions.IsStaff)
    throttle_scope: str | None = None  # tasks.throttling.ScopedThrottle's scope
    merged: Any = None  # (secret, query, kwargs) -> Statement shaped (token, data), or None
    operation_id: str | None = None

    def schema(self) -> dict:
        """drf-spectacular's extend_schema() arguments."""
        found = {"request": self.body, "responses": self.response}
        if self.params is not None:
            found["parameters"] = [self.params]
        if self.operation_id:
            found["operation_id"] = self.operation_id
        return found


# --- task pages --------------------------------------------------------------------------------


def _own_page_merged(secret, query, kwargs) -> Statement | None:
    params = OwnTaskListParams.parse_or_none(query)
    if params is None or params.pop("scope") != "own":
        return None
    return selectors.token_page(secret, **params)


def task_list(call: Call):
    if call.merged is not None:
        return with_next_link(call.request, call.merged)
    params = OwnTaskListParams.parse(call.query)
    if params.pop("scope") == "all":
        require_staff(call.user, "scope=all")
        owner_id = None
    else:
        owner_id = call.user.pk
    page = yield selectors.task_page(owner_id=owner_id, **params)
    return with_next_link(call.request, page)


def _user_page_merged(secret, query, kwargs) -> Statement | None:
    params = TaskListParams.parse_or_none(query)
    # The statement reads the page only for the user themself or staff (token_page_sql).
    return None if params is None else selectors.token_page(secret, owner_id=kwargs["pk"], **params)


def user_tasks(call: Call):
    pk = call.kwargs["pk"]
    require_self_or_staff(call.user, pk)
    if call.merged is not None:
        # token_page_sql read the page only because the permission above holds.
        return with_next_link(call.request, call.merged)
    params = TaskListParams.parse(call.query)
    page = yield selectors.task_page(owner_id=pk, **params)
    return with_next_link(call.request, page)


# --- statistics --------------------------------------------------------------------------------


def _own_stats_merged(secret, query, kwargs) -> Statement | None:
    params = StatsParams.parse_or_none(query)
    if params is None or params["scope"] != "own":
        return None
    return selectors.token_stats(secret)


def task_stats(call: Call):
    if call.merged is not None:
        return call.merged
    if StatsParams.parse(call.query)["scope"] == "global":
        require_staff(call.user, "scope=global")
        return (yield selectors.GlobalStats())
    return (yield selectors.owner_stats(owner_id=call.user.pk))


# --- writes and staff reads --------------------------------------------------------------------


def bulk_complete(call: Call):
    serializer = BulkCompleteSerializer(data=call.body())
    serializer.is_valid(raise_exception=True)
    return (
        yield Service(
            services.tasks_bulk_complete, {"user": call.user, **serializer.validated_data}
        )
    )


def user_summaries(call: Call):
    params = SummaryParams.parse(call.query)
    return (yield selectors.summaries(ids=params["ids"]))


TASK_LIST = Route(
    "task-list",
    "tasks/",
    "GET",
    "Tasks",  # DRF would say "Task List Create"
    task_list,
    params=OwnTaskListParams,
    response=TaskPageSerializer,
    merged=_own_page_merged,
    operation_id="tasks_list",
)
TASK_STATS = Route(
    "task-stats",
    "tasks/stats/",
    "GET",
    "Task statistics",
    task_stats,
    params=StatsParams,
    merged=_own_stats_merged,
)
BULK_COMPLETE = Route(
    "task-bulk-complete",
    "tasks/bulk-complete/",
    "POST",
    "Bulk complete tasks",
    bulk_complete,
    body=BulkCompleteSerializer,
    response=inline_serializer(
        "BulkCompleted",
        {"updated": s.IntegerField(), "ids": s.ListField(child=s.IntegerField())},
    ),
    throttle_scope="bulk",
)
USER_TASKS = Route(
    "user-tasks",
    "users/<id:pk>/tasks/",
    "GET",
    "A user's tasks",
    user_tasks,
    params=TaskListParams,
    response=TaskPageSerializer,
    merged=_user_page_merged,
)
USER_SUMMARIES = Route(
    "user-summaries",
    "users/summaries/",
    "GET",
    "User summaries",
    user_summaries,
    params=SummaryParams,
    staff_only=True,
)

ROUTES = (TASK_LIST, TASK_STATS, BULK_COMPLETE, USER_TASKS, USER_SUMMARIES)
