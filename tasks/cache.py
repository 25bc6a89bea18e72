"""Cached global statistics, invalidated by a version token.

Global stats sum one counter row per owner (10k rows at scale): cheap, but the most expensive
read we serve repeatedly, so it is cached. Invalidation is a *version bump*, not a delete: a
reader stores what it computed under the version it read *before* querying, so a reader racing a
writer can only fill a version nobody reads any more, never re-cache pre-write data under the
current one. Writers bump twice: at once (so reads later in their own transaction recompute) and
after commit (so a reader that computed between the first bump and the commit is discarded too).
Every application write path calls ``invalidate_stats()`` (services, admin, seeddata); raw SQL
writes from outside the app are bounded by the TTL (``API_STATS_CACHE_SECONDS``).
Caching is on only with a cache every worker process shares (``API_STATS_CACHE``, default: when
``REDIS_URL`` is set); with the per-process local-memory cache an invalidation could not reach
the other workers.

With Redis away (taskproject.rediscache) the version cannot be read: the figures are computed
from the database, nothing is stored, and a bump that could not reach Redis is replayed when it
answers again; every process that saw the outage also drops the version then (another one's
bump may still be pending), so global statistics are the database's right after recovery.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from taskproject import rediscache

VERSION_KEY = "tasks:stats:global:version"
rediscache.delete_on_recovery(VERSION_KEY)


def _bump() -> None:
    cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=None)


def invalidate_stats() -> None:
    _bump()
    transaction.on_commit(_bump)


def _current_version() -> str | None:
    """The current version; None when the cache cannot say (Redis away)."""
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, uuid.uuid4().hex, timeout=None)
        version = cache.get(VERSION_KEY)
    return version


def cached_global_stats(compute: Callable[[], dict]) -> dict:
    if not settings.API_STATS_CACHE:
        return compute()
    version = _current_version()
    if version is None:
        return compute()
    key = f"tasks:stats:global:{version}"
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, timeout=settings.API_STATS_CACHE_SECONDS)
    return value


async def acached_global_stats(compute) -> dict:
    if not settings.API_STATS_CACHE:
        return await compute()
    version = await cache.aget(VERSION_KEY)
    if version is None:
        await cache.aadd(VERSION_KEY, uuid.uuid4().hex, timeout=None)
        version = await cache.aget(VERSION_KEY)
    if version is None:
        return await compute()
    key = f"tasks:stats:global:{version}"
    value = await cache.aget(key)
    if value is None:
        value = await compute()
        await cache.aset(key, value, timeout=settings.API_STATS_CACHE_SECONDS)
    return value
