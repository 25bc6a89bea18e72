"""The async endpoints' reads: tasks.selectors' statements on native async connections.

No ORM and no thread hop: each function awaits one statement on taskproject.asyncdb's pool and
shapes the rows with the same helpers as the sync selectors, so the JSON is identical. Reads
go to the primary (the async path does not route to replicas: DB_POOL with replicas is refused,
docs/scaling.md).
"""

from __future__ import annotations

from django.utils import timezone

from taskproject import asyncdb
from tasks import selectors, tokens
from tasks.cache import acached_global_stats
from tasks.models import ApiToken


async def token(secret: str) -> ApiToken | None:
    """tasks.tokens.lookup, natively: the live token for ``secret`` with its user, or None."""
    sql, params, names = tokens.lookup_statement(secret)
    row = await asyncdb.fetchone(sql, params)
    return None if row is None else tokens.token_from_row(row, names)


async def token_and_page(secret: str, *, owner_id: int | None = None, page_size: int, **filters):
    """(token, page) in one round trip (selectors.token_page_sql); (None, None): no live token."""
    sql, params, names = selectors.token_page_sql(
        secret, owner_id=owner_id, page_size=page_size, **filters
    )
    rows = await asyncdb.fetchall(sql, params)
    return selectors.split_token_page(rows, names, page_size=page_size)


async def token_and_stats(secret: str):
    """(token, own stats) in one round trip (selectors.token_stats_sql)."""
    sql, params, names = selectors.token_stats_sql(secret)
    return selectors.split_token_stats(await asyncdb.fetchone(sql, params), names)


async def task_list(*, owner_id: int | None, page_size: int, **filters) -> dict:
    with_owner = owner_id is None
    sql, params = selectors.task_page_sql(
        owner_id=owner_id, with_owner=with_owner, page_size=page_size, **filters
    )
    names = selectors.TASK_FIELDS + selectors.OWNER_FIELDS if with_owner else selectors.TASK_FIELDS
    rows = [dict(zip(names, row, strict=True)) for row in await asyncdb.fetchall(sql, params)]
    return selectors.page_from_rows(rows, page_size=page_size, with_owner=with_owner)


async def task_stats_for_owner(*, owner_id: int) -> dict:
    sql, params = selectors.owner_stats_sql(owner_id)
    row = await asyncdb.fetchone(sql, params)
    own = None if row is None else dict(zip(selectors.COUNTER_FIELDS, row, strict=True))
    return {"scope": "own", **selectors.stats_from_row(own)}


async def task_stats_global() -> dict:
    async def compute():
        row = await asyncdb.fetchone(selectors.GLOBAL_STATS_SQL)
        return selectors.global_stats_from_sums(
            dict(zip(selectors.GLOBAL_STATS_NAMES, row, strict=True))
        )

    return await acached_global_stats(compute)


async def user_summaries(*, ids: list[int]) -> dict:
    rows = await asyncdb.fetchall(selectors.SUMMARIES_SQL, [ids])
    return {"results": [dict(zip(selectors.SUMMARY_NAMES, row, strict=True)) for row in rows]}


async def touch(token: ApiToken) -> None:
    """tasks.tokens.touch, natively: at most one write per TOUCH_INTERVAL per token."""
    now = timezone.now()
    if tokens.needs_touch(token, now):
        sql, params = tokens.touch_sql(token, now)
        await asyncdb.execute(sql, params)
        token.last_used_at = now
