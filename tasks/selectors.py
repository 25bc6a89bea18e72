"""Reads: one function per use case, keyword-only. Each owns its query shape and returns plain
data (dicts of rows, no model instances), ready for orjson.

The hot statements are written out as SQL here (``*_sql``) and returned as
``tasks.serving.Statement``s (the SQL and the function shaping its rows): the routes of
tasks/routes.py yield them, the sync server runs them on Django's prepared cursor, the async one
on native async connections (taskproject/asyncdb.py). ``token_page_sql`` and
``token_stats_sql`` merge authentication with the data it guards: one round trip per request.
Tests compare the sync and async JSON byte for byte, and the written-out SQL with the ORM
queryset it mirrors.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import cache

from django.db import DEFAULT_DB_ALIAS
from django.db.models import BigIntegerField, Count, DecimalField, F, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import get_object_or_404

from tasks import tokens
from tasks.cache import acached_global_stats, cached_global_stats
from tasks.keyset import encode_cursor, keyset_before
from tasks.models import Task, TaskCounter, User
from tasks.serving import Op, Statement

TASK_FIELDS = (
    "id",
    "owner_id",
    "title",
    "description",
    "completed",
    "completed_at",
    "priority",
    "due_date",
    "created_at",
    "updated_at",
)
OWNER_FIELDS = ("owner__email", "owner__full_name")


def task_to_dict(task: Task) -> dict:
    return {name: getattr(task, name) for name in TASK_FIELDS}


# --- task lists (keyset pages) -------------------------------------------------------------


def _task_page_query(
    *,
    owner_id: int | None,
    with_owner: bool,
    page_size: int,
    cursor: tuple[datetime, int] | None = None,
    completed: bool | None = None,
    priority: str | None = None,
    due_before: datetime | None = None,
    due_after: datetime | None = None,
):
    """The keyset page as a queryset: the reference ``task_page_sql`` is written from (the
    tests compare the two, tasks/tests/test_query_plans.py)."""
    qs = Task.objects.all() if owner_id is None else Task.objects.filter(owner_id=owner_id)
    qs = qs.filtered(
        completed=completed, priority=priority, due_before=due_before, due_after=due_after
    )
    if cursor is not None:
        qs = qs.before(*cursor)
    fields = TASK_FIELDS + OWNER_FIELDS if with_owner else TASK_FIELDS
    # One row past the page tells whether a next page exists: no COUNT(*), no OFFSET.
    return qs.newest_first().values(*fields)[: page_size + 1]


def page_from_rows(rows: list[dict], *, page_size: int, with_owner: bool) -> dict:
    next_cursor = None
    if len(rows) > page_size:
        rows = rows[:page_size]
        last = rows[-1]
        next_cursor = encode_cursor(last["created_at"], last["id"])
    if with_owner:
        for row in rows:
            row["owner"] = {
                "id": row["owner_id"],
                "email": row.pop("owner__email"),
                "full_name": row.pop("owner__full_name"),
            }
    return {"next_cursor": next_cursor, "results": rows}


def _page_filters(
    *,
    completed: bool | None = None,
    priority: str | None = None,
    due_before: datetime | None = None,
    due_after: datetime | None = None,
    cursor: tuple[datetime, int] | None = None,
) -> tuple[list[str], list]:
    where, params = [], []
    for clause, value in (
        ('"tasks_task"."completed" = %s', completed),
        ('"tasks_task"."priority" = %s', priority),
        ('"tasks_task"."due_date" < %s', due_before),
        ('"tasks_task"."due_date" >= %s', due_after),
    ):
        if value is not None:
            where.append(clause)
            params.append(value)
    if cursor is not None:
        where.append('("tasks_task"."created_at", "tasks_task"."id") < (%s, %s)')
        params += cursor
    return where, params


TASK_COLUMNS = ", ".join(f'"tasks_task"."{name}"' for name in TASK_FIELDS)
_PAGE_ORDER_BY = 'ORDER BY "tasks_task"."created_at" DESC, "tasks_task"."id" DESC'
_PAGE_ORDER = f"{_PAGE_ORDER_BY} LIMIT %s"


def task_page_sql(
    *, owner_id: int | None, with_owner: bool, page_size: int, **filters
) -> tuple[str, list]:
    """The statement ``_task_page_query`` compiles to, written out: compiling that queryset costs
    ~0.4 ms of Python per request, as much as the rest of the page. Same columns, filters and
    order (tests compare this path's JSON with the ORM path's, byte for byte)."""
    where, params = _page_filters(**filters)
    if owner_id is not None:
        where.insert(0, '"tasks_task"."owner_id" = %s')
        params.insert(0, owner_id)
    columns, source = TASK_COLUMNS, '"tasks_task"'
    if with_owner:
        columns += ', "tasks_user"."email", "tasks_user"."full_name"'
        source += ' INNER JOIN "tasks_user" ON "tasks_task"."owner_id" = "tasks_user"."id"'
    sql = f"SELECT {columns} FROM {source} WHERE {' AND '.join(where) or 'TRUE'} {_PAGE_ORDER}"
    return sql, [*params, page_size + 1]


def token_page_sql(
    secret: str, *, owner_id: int | None = None, page_size: int, **filters
) -> tuple[str, list, list[str]]:
    """Authentication and the page in one statement (one round trip instead of two).

    The live token and its user (tasks.tokens.lookup_parts), LEFT JOIN LATERAL the keyset page
    of ``owner_id``'s tasks (default: the token's own user). The page is only read for an
    active user allowed to see it (self or staff, the rule of tasks.permissions), so rows of a
    forbidden page never leave the server. Result: no row = no live token; else one row per
    task in page order (a single row of NULL task columns for an empty or forbidden page). The
    token and user columns are sent in the first row only (NULL in the others): fetching and
    parsing them 51 times cost more than the page's own columns. Returns the SQL, its
    parameters and the user attnames for ``split_token_page``.
    """
    source, token_where, token_params = tokens.lookup_parts(secret)
    _columns, user_names = tokens.user_select()
    where, params = _page_filters(**filters)
    if owner_id is None:
        owner = ['"tasks_task"."owner_id" = "tasks_user"."id"']
        owner_params = []
    else:
        owner = [
            '"tasks_task"."owner_id" = %s',
            '("tasks_user"."id" = %s OR "tasks_user"."is_staff")',
        ]
        owner_params = [owner_id, owner_id]
    page_where = " AND ".join([*owner, '"tasks_user"."is_active"', *where])
    sql = (
        f"SELECT {_first_row_columns()}, page.* FROM {source} LEFT JOIN LATERAL (SELECT "
        f'{TASK_COLUMNS}, row_number() OVER ({_PAGE_ORDER_BY}) AS "n" FROM "tasks_task" '
        f'WHERE {page_where} {_PAGE_ORDER}) AS page ON TRUE WHERE {token_where} ORDER BY page."n"'
    )
    return sql, [*owner_params, *params, page_size + 1, *token_params], user_names


@cache
def _first_row_columns() -> str:
    """The token and user columns of ``token_page_sql``, NULL after the page's first row."""
    user_columns, _names = tokens.user_select()
    return ", ".join(
        f'CASE WHEN page."n" > 1 THEN NULL ELSE {column} END'
        for column in (*tokens.TOKEN_COLUMNS.split(", "), *user_columns.split(", "))
    )


def split_token_page(rows, user_names: list[str], *, page_size: int):
    """(token with its user, page dict) from ``token_page_sql``'s rows; (None, None) when the
    token is not live."""
    if not rows:
        return None, None
    width = len(tokens.TOKEN_FIELDS) + len(user_names)
    token = tokens.token_from_row(rows[0][:width], user_names)
    end = width + len(TASK_FIELDS)  # then the row number
    tasks = [dict(zip(TASK_FIELDS, row[width:end], strict=True)) for row in rows]
    if tasks[0]["id"] is None:
        tasks = []
    return token, page_from_rows(tasks, page_size=page_size, with_owner=False)


def task_page(*, owner_id: int | None, page_size: int, **filters) -> Statement:
    """One owner's tasks (owner_id) or everyone's (None, staff: owner joined in the same query),
    newest first."""
    with_owner = owner_id is None
    sql, params = task_page_sql(
        owner_id=owner_id, with_owner=with_owner, page_size=page_size, **filters
    )
    names = TASK_FIELDS + OWNER_FIELDS if with_owner else TASK_FIELDS

    def shape(rows):
        rows = [dict(zip(names, row, strict=True)) for row in rows]
        return page_from_rows(rows, page_size=page_size, with_owner=with_owner)

    return Statement(sql, params, shape)


def token_page(secret: str, *, owner_id: int | None = None, page_size: int, **filters):
    """``token_page_sql`` as a statement shaped (token, page); on the primary."""
    sql, params, names = token_page_sql(secret, owner_id=owner_id, page_size=page_size, **filters)
    return Statement(
        sql,
        params,
        lambda rows: split_token_page(rows, names, page_size=page_size),
        routed=False,
    )


def task_get(*, user, pk: int) -> Task:
    """Another user's task is a 404 for non-staff: its existence is not revealed."""
    qs = Task.objects.all() if user.is_staff else Task.objects.for_user(user)
    return get_object_or_404(qs, pk=pk)


def task_search(*, owner_id: int, q: str, mode: str, limit: int) -> dict:
    qs = Task.objects.filter(owner_id=owner_id)
    if mode == "fulltext":
        rows = list(qs.search(q).values(*TASK_FIELDS, "rank")[:limit])
        for row in rows:
            row["rank"] = round(row["rank"], 6)
    else:
        rows = list(qs.contains_text(q).newest_first().values(*TASK_FIELDS)[:limit])
    return {"mode": mode, "results": rows}


# --- statistics (from the per-owner counter rows, never from a scan of tasks) -------------


def _count(expression):
    # Users without a counter row (no task yet) count 0.
    return Coalesce(expression, 0, output_field=BigIntegerField())


# Aggregate aliases may not shadow the columns they sum (the active_users filter reads "total").
COUNTER_SUMS = {
    "sum_total": _count(Sum("total")),
    "sum_completed": _count(Sum("completed")),
    "sum_low": _count(Sum("low")),
    "sum_medium": _count(Sum("medium")),
    "sum_high": _count(Sum("high")),
    "sum_completion_seconds": Coalesce(
        Sum("completion_seconds"), Decimal(0), output_field=DecimalField()
    ),
    # The seed's COUNT(DISTINCT user_id) over tasks: owners with at least one task.
    "active_users": Count("pk", filter=Q(total__gt=0)),
}
COUNTER_FIELDS = ("total", "completed", "low", "medium", "high", "completion_seconds")


def stats_from_row(row: dict | None) -> dict:
    row = row or dict.fromkeys(COUNTER_FIELDS, 0)
    completed = row["completed"]
    average = float(round(Decimal(row["completion_seconds"]) / completed, 3)) if completed else None
    stats = {
        "total_tasks": row["total"],
        "completed_tasks": completed,
        "pending_tasks": row["total"] - completed,
        "high_priority_tasks": row["high"],
        "medium_priority_tasks": row["medium"],
        "low_priority_tasks": row["low"],
        "avg_completion_time_seconds": average,
    }
    if "active_users" in row:
        stats["active_users"] = row["active_users"]
    return stats


_COUNTER_COLUMNS = ", ".join(f'"tasks_taskcounter"."{name}"' for name in COUNTER_FIELDS)


def token_stats_sql(secret: str) -> tuple[str, list, list[str]]:
    """Authentication and the owner's counter row in one statement (cf. ``token_page_sql``):
    no row = no live token; NULL counter columns = no counter row yet (no task)."""
    source, token_where, token_params = tokens.lookup_parts(secret)
    user_columns, user_names = tokens.user_select()
    sql = (
        f"SELECT {tokens.TOKEN_COLUMNS}, {user_columns}, {_COUNTER_COLUMNS} FROM {source} "
        'LEFT JOIN "tasks_taskcounter" ON "tasks_taskcounter"."owner_id" = "tasks_user"."id" '
        f"WHERE {token_where}"
    )
    return sql, token_params, user_names


def split_token_stats(row, user_names: list[str]):
    """(token with its user, own stats dict) from ``token_stats_sql``'s row, or (None, None)."""
    if row is None:
        return None, None
    width = len(tokens.TOKEN_FIELDS) + len(user_names)
    token = tokens.token_from_row(row[:width], user_names)
    counter = row[width:]
    own = None if counter[0] is None else dict(zip(COUNTER_FIELDS, counter, strict=True))
    return token, {"scope": "own", **stats_from_row(own)}


def token_stats(secret: str) -> Statement:
    """``token_stats_sql`` as a statement shaped (token, own stats); on the primary."""
    sql, params, names = token_stats_sql(secret)
    return Statement(
        sql, params, lambda rows: split_token_stats(rows[0] if rows else None, names), routed=False
    )


# COUNTER_SUMS as the ORM compiles it, written out for the native async path (same types).
GLOBAL_STATS_SQL = (
    "SELECT "
    + ", ".join(
        f'COALESCE(SUM("tasks_taskcounter"."{name}"), 0) AS "sum_{name}"' for name in COUNTER_FIELDS
    )
    + ', COUNT("tasks_taskcounter"."owner_id") FILTER (WHERE "tasks_taskcounter"."total" > 0) '
    'AS "active_users" FROM "tasks_taskcounter"'
)
GLOBAL_STATS_NAMES = [*(f"sum_{name}" for name in COUNTER_FIELDS), "active_users"]

# Per-user figures from the counter rows (ids as one array parameter: one statement text).
SUMMARIES_SQL = (
    'SELECT "tasks_user"."id", COALESCE("tasks_taskcounter"."total", 0), '
    'COALESCE("tasks_taskcounter"."completed", 0), COALESCE("tasks_taskcounter"."high", 0) '
    'FROM "tasks_user" LEFT OUTER JOIN "tasks_taskcounter" '
    'ON ("tasks_user"."id" = "tasks_taskcounter"."owner_id") '
    'WHERE "tasks_user"."id" = ANY(%s) ORDER BY "tasks_user"."id" ASC'
)
SUMMARY_NAMES = ("user_id", "total_tasks", "completed_tasks", "high_priority_tasks")


def owner_stats(*, owner_id: int) -> Statement:
    """The owner's counter row (none yet: no task) as their statistics."""
    sql = (
        f'SELECT {_COUNTER_COLUMNS} FROM "tasks_taskcounter" '
        'WHERE "tasks_taskcounter"."owner_id" = %s LIMIT 1'
    )

    def shape(rows):
        own = dict(zip(COUNTER_FIELDS, rows[0], strict=True)) if rows else None
        return {"scope": "own", **stats_from_row(own)}

    return Statement(sql, [owner_id], shape)


def global_stats_from_sums(sums: dict) -> dict:
    return {
        "scope": "global",
        **stats_from_row({k.removeprefix("sum_"): v for k, v in sums.items()}),
    }


def task_stats_global() -> dict:
    # From the primary: the result goes into the cache every user reads, so it must include
    # every committed write (a lagging replica's figures would be served to the writer too).
    return cached_global_stats(
        lambda: global_stats_from_sums(
            TaskCounter.objects.using(DEFAULT_DB_ALIAS).aggregate(**COUNTER_SUMS)
        )
    )


def _global_stats_shape(rows) -> dict:
    return global_stats_from_sums(dict(zip(GLOBAL_STATS_NAMES, rows[0], strict=True)))


class GlobalStats(Op):
    """Everyone's statistics through the stats cache (tasks.cache), from the primary."""

    def run(self):
        return task_stats_global()

    async def arun(self):
        statement = Statement(
            GLOBAL_STATS_SQL,
            (),
            _global_stats_shape,
            routed=False,
        )
        return await acached_global_stats(statement.arun)


# --- users -----------------------------------------------------------------------------------


def user_list(*, page_size: int, cursor: tuple[datetime, int] | None = None) -> dict:
    """Active users newest first with their task count. The count is the counter row of each
    user on the page (a primary-key join per row), not a GROUP BY over the tasks table."""
    qs = User.objects.filter(is_active=True)
    if cursor is not None:
        qs = qs.filter(keyset_before(User._meta.db_table, *cursor))
    rows = list(
        qs.order_by("-created_at", "-id").values(
            "id",
            "username",
            "email",
            "full_name",
            "is_staff",
            "created_at",
            task_count=_count(F("task_counter__total")),
        )[: page_size + 1]
    )
    next_cursor = None
    if len(rows) > page_size:
        rows = rows[:page_size]
        next_cursor = encode_cursor(rows[-1]["created_at"], rows[-1]["id"])
    return {"next_cursor": next_cursor, "results": rows}


def user_dashboard(*, user_id: int) -> dict:
    """The seed's dashboard in one query: counters joined by primary key, latest task date from
    the top of task_owner_created_idx."""
    latest = Task.objects.filter(owner_id=OuterRef("pk")).order_by("-created_at", "-id")
    row = (
        User.objects.filter(pk=user_id)
        .values(
            "id",
            "email",
            "full_name",
            total_tasks=_count(F("task_counter__total")),
            completed_tasks=_count(F("task_counter__completed")),
            urgent_tasks=_count(F("task_counter__high_pending")),
            latest_task_date=Subquery(latest.values("created_at")[:1]),
        )
        .first()
    )
    if row is None:
        raise Http404("No User matches the given query.")
    row["pending_tasks"] = row["total_tasks"] - row["completed_tasks"]
    return row


def summaries(*, ids: list[int]) -> Statement:
    """Per-user total / completed / high priority for up to 1000 users in one statement (the
    seed ran one query per user). Unknown ids are left out."""
    return Statement(
        SUMMARIES_SQL,
        [ids],
        lambda rows: {"results": [dict(zip(SUMMARY_NAMES, row, strict=True)) for row in rows]},
    )
