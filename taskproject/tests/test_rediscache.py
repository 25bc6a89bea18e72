"""taskproject.rediscache in one process, against a real Redis of the test's own.

Each test gets a fresh redis-server on a free port (never the machine's Redis at 6379), which it
kills, restarts (empty or from its last SAVE) or freezes (SIGSTOP: connections are accepted,
nothing answers). A fresh port is a fresh URL, so each test has its own breaker. Waits are
bounded polls; nothing asserts a duration.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import time

import pytest
from django.test import override_settings

from taskproject import rediscache
from taskproject.rediscache import DOWN, RECOVERING, UP, RedisCache
from taskproject.redisparts import HungListener, RedisServer


@pytest.fixture
def server(redis_server):
    return redis_server


def backend(url: str, *, timeout=0.5, retry_seconds=0.2) -> RedisCache:
    return RedisCache(
        url,
        {"KEY_PREFIX": "t24", "OPTIONS": {"timeout": timeout, "retry_seconds": retry_seconds}},
    )


def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def wait_state(cache: RedisCache, state: str) -> None:
    wait_for(lambda: (cache.breaker.readable(), cache.breaker.state)[1] == state)


def wait_replayed(cache: RedisCache) -> None:
    """Until the watcher has replayed what the process missed (writes are back; reads soon)."""
    breaker = cache.breaker
    wait_for(
        lambda: (
            breaker.state == UP or (breaker.state == RECOVERING and breaker.reads_from < math.inf)
        )
    )


def trip_by_freezing(server: RedisServer, cache: RedisCache) -> None:
    server.freeze()
    assert cache.get("anything", "miss") == "miss"  # times out: the breaker opens
    assert cache.breaker.state == DOWN


def redis_log(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "taskproject.redis"]


def test_a_down_redis_fails_no_call_and_logs_once(server, caplog):
    cache = backend(server.url)
    cache.set("kept", 1)
    server.kill()
    caplog.set_level(logging.WARNING, "taskproject.redis")
    for _ in range(20):
        assert cache.get("kept", "miss") == "miss"
        assert cache.get_many(["kept"]) == {}
        assert cache.has_key("kept") is False
        assert cache.add("new", 1) is False
        cache.set("kept", 2)
        assert cache.delete("kept") is False
        cache.set_many({"a": 1})
        cache.delete_many(["a"])
        with pytest.raises(ValueError, match="not found"):
            cache.incr("kept")
    assert cache.breaker.state == DOWN
    messages = redis_log(caplog)
    assert len(messages) == 1 and "unavailable" in messages[0]
    assert "ConnectionError" in messages[0]
    # The dropped writes are remembered by their full keys, for the recovery.
    assert {"t24:1:kept", "t24:1:new", "t24:1:a"} <= cache.breaker.remembered

    server.start(with_data=False)
    wait_state(cache, UP)
    messages = redis_log(caplog)
    assert len(messages) == 2 and "answers again" in messages[1]
    cache.set("kept", 3)
    assert cache.get("kept") == 3


def test_a_hung_redis_is_skipped_after_the_first_timeout():
    with HungListener() as listener:
        cache = backend(listener.url, timeout=0.05, retry_seconds=60)
        assert cache.get("k", "miss") == "miss"
        assert cache.breaker.state == DOWN
        connections = len(listener.accepted)
        for _ in range(50):
            assert cache.get("k", "miss") == "miss"
            cache.set("k", 1)
        # Skipped: no new connection, no request waits for the timeout again.
        assert len(listener.accepted) == connections
        assert "TimeoutError" in cache.breaker.last_error


def test_writes_dropped_while_hung_are_invalidated_before_reads_resume(server):
    cache = backend(server.url)
    raw = server.client()
    cache.set("version", "old")
    trip_by_freezing(server, cache)
    cache.set("version", "new")  # dropped: a write another process could not see either
    assert "t24:1:version" in cache.breaker.remembered
    server.thaw()  # Redis still holds "old"
    wait_replayed(cache)
    # Replayed before anything is read: the stale value is gone from Redis itself.
    assert raw.get("t24:1:version") is None
    assert cache.breaker.remembered == set()
    wait_state(cache, UP)
    assert cache.get("version", "miss") == "miss"


def test_reads_resume_one_retry_interval_after_recovery(server):
    # Another process may still be replaying what it missed: the recovering process writes at
    # once (its own invalidations must land) but reads nothing until that interval is over.
    cache = backend(server.url, retry_seconds=1.0)
    raw = server.client()
    trip_by_freezing(server, cache)
    server.thaw()
    wait_for(lambda: cache.breaker.state == RECOVERING)
    raw.set("t24:1:fresh", b"1")
    assert cache.get("fresh", "miss") == "miss"
    cache.set("written", 5)
    assert raw.exists("t24:1:written")
    wait_state(cache, UP)
    assert cache.get("fresh") == 1


def test_recovery_drops_the_registered_keys_even_without_a_missed_write(server, monkeypatch):
    # The process that missed the invalidation may have exited: every process that saw the
    # outage drops the global statistics version when Redis answers again.
    monkeypatch.setattr(rediscache, "_recovery_keys", {"stats-version"})
    cache = backend(server.url)
    cache.set("stats-version", "v1")
    cache.set("other", 1)
    trip_by_freezing(server, cache)
    server.thaw()
    wait_replayed(cache)
    raw = server.client()
    assert raw.get("t24:1:stats-version") is None
    assert raw.exists("t24:1:other")


def test_recovery_hooks_run_before_the_breaker_closes(server, monkeypatch):
    seen = []
    monkeypatch.setattr(rediscache, "_recovery_hooks", [lambda client: seen.append(client.ping())])
    cache = backend(server.url)
    trip_by_freezing(server, cache)
    assert seen == []
    server.thaw()
    wait_replayed(cache)
    assert seen == [True]


def test_a_restarted_redis_is_not_trusted(server):
    # Restarted from an old snapshot, Redis holds values invalidated after the snapshot. A
    # process that made no call during the outage learns it from the new run_id on reconnect.
    cache = backend(server.url)
    raw = server.client()
    cache.set("stats", "from the snapshot")
    raw.set("someone-else:key", b"kept")  # another application's key in the same Redis
    raw.save()
    cache.set("stats", "after the snapshot")
    server.kill()
    server.start(with_data=True)
    assert raw.get("t24:1:stats") is not None  # the old value is back in Redis
    assert cache.get("stats", "miss") == "miss"  # never served
    assert cache.breaker.state == DOWN
    wait_replayed(cache)
    assert raw.get("t24:1:stats") is None
    assert raw.get("someone-else:key") == b"kept"
    wait_state(cache, UP)
    assert cache.get("stats", "miss") == "miss"


def test_a_flushed_redis_is_a_cache_miss(server):
    cache = backend(server.url)
    cache.set("k", 1)
    server.client().flushall()
    assert cache.get("k", "miss") == "miss"
    assert cache.breaker.state == UP


def test_clear_deletes_this_caches_keys_only(server):
    cache = backend(server.url)
    raw = server.client()
    raw.set("someone-else:key", b"kept")
    cache.set_many({"a": 1, "b": 2})
    assert cache.clear() is True
    assert cache.get_many(["a", "b"]) == {}
    assert raw.get("someone-else:key") == b"kept"


def test_async_calls_skip_redis_without_a_thread_hop_while_it_is_down(server, monkeypatch):
    cache = backend(server.url)

    async def run():
        await cache.aset("k", "v")
        assert await cache.aget("k") == "v"
        server.kill()
        assert await cache.aget("k", "miss") == "miss"  # trips (on a worker thread)
        assert cache.breaker.state == DOWN

        def no_hop(*args, **kwargs):
            raise AssertionError("a thread hop while Redis is skipped")

        monkeypatch.setattr(rediscache, "sync_to_async", no_hop)
        assert await cache.aget("k", "miss") == "miss"
        assert await cache.aadd("k2", 1) is False
        await cache.aset("k", "w")
        assert await cache.adelete("k") is False
        assert await cache.aget_many(["k"]) == {}

    asyncio.run(run())
    assert {"t24:1:k", "t24:1:k2"} <= cache.breaker.remembered


def test_one_breaker_per_process_for_every_cache_object(server):
    # Django makes one cache object per thread; they share the breaker and its pool.
    first, second = backend(server.url), backend(server.url)
    assert first.breaker is second.breaker
    server.kill()
    assert first.get("k", "miss") == "miss"
    assert second.breaker.state == DOWN


def test_a_restart_seen_while_down_clears_at_recovery(server):
    cache = backend(server.url)
    cache.set("k", "old")
    server.client().save()
    server.kill()
    assert cache.get("k", "miss") == "miss"
    server.start(with_data=True)
    wait_replayed(cache)
    assert server.client().get("t24:1:k") is None


def test_too_many_dropped_writes_clear_the_whole_cache_at_recovery(server, monkeypatch):
    monkeypatch.setattr(rediscache, "MAX_REMEMBERED", 3)
    cache = backend(server.url)
    cache.set_many({f"k{n}": n for n in range(6)})
    trip_by_freezing(server, cache)
    for n in range(5):
        cache.set(f"k{n}", -n)
    assert cache.breaker.overflow and not cache.breaker.remembered
    server.thaw()
    wait_replayed(cache)
    assert server.client().keys("t24:*") == []


def test_logs_and_errors_never_show_the_password():
    url = "redis://user:s3cret-pass@127.0.0.1:1/0"
    assert "s3cret" not in rediscache._safe_url(url)
    assert rediscache._safe_url(url) == "redis://***@127.0.0.1:1/0"
    assert rediscache._safe_url("unix:///run/redis.sock") == "unix:///run/redis.sock"


def test_only_one_redis_url():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="one Redis URL"):
        RedisCache("redis://127.0.0.1:1/0,redis://127.0.0.1:2/0", {})


def test_without_redis_there_is_no_breaker(settings):
    assert rediscache.breaker() is None
    assert rediscache.status() is None


# --- in the app: health, throttles, statistics ------------------------------------------------


def redis_caches(url: str) -> dict:
    return {
        "default": {
            "BACKEND": "taskproject.rediscache.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "t24app",
            "OPTIONS": {"timeout": 0.5, "retry_seconds": 0.2},
        }
    }


@pytest.mark.django_db
def test_health_reports_redis_in_each_state(server, client):
    with override_settings(CACHES=redis_caches(server.url)):
        answer = client.get("/health/")
        assert answer.status_code == 200
        assert answer.json() == {"status": "ok", "database": "up", "redis": "up"}
        server.freeze()
        answer = client.get("/health/")  # the health check's PING times out
        assert answer.status_code == 200
        assert answer.json() == {"status": "degraded", "database": "up", "redis": "down"}
        server.thaw()
        wait_replayed(rediscache.caches["default"])
        answer = client.get("/health/")
        assert answer.json() == {"status": "degraded", "database": "up", "redis": "recovering"}
        wait_state(rediscache.caches["default"], UP)
        assert client.get("/health/").json()["redis"] == "up"


@pytest.mark.django_db
def test_liveness_asks_no_dependency(server, client, django_assert_num_queries):
    with override_settings(CACHES=redis_caches(server.url)):
        server.kill()
        with django_assert_num_queries(0):
            answer = client.get("/health/live/")
        assert answer.status_code == 200 and answer.json() == {"status": "ok"}
        assert rediscache.breaker().state == UP  # not asked either
        assert client.head("/health/live/").status_code == 200
        assert client.post("/health/live/").status_code == 405


@pytest.mark.django_db
def test_throttles_fall_back_to_a_per_process_limit(server, client, settings, django_user_model):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "auth": "3/min"}
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    django_user_model.objects.create_user(username="thr", email="t@example.com", password="pw")
    from tasks.throttling import ScopedThrottle

    ScopedThrottle.cache.local.clear()
    body = {"username": "thr", "password": "pw"}
    with override_settings(CACHES=redis_caches(server.url)):
        statuses = [client.post("/api/auth/token/", body).status_code for _ in range(2)]
        assert statuses == [200, 200]  # counted in Redis (and in this process)
        server.kill()
        # Redis gone: neither a 500 nor unlimited; this process's own count goes on.
        statuses = [client.post("/api/auth/token/", body).status_code for _ in range(2)]
        assert statuses == [200, 429]
    ScopedThrottle.cache.local.clear()


@pytest.mark.django_db(transaction=True)
def test_global_statistics_come_from_the_database_while_redis_is_down(
    server, client, django_user_model, settings
):
    from rest_framework.test import APIClient

    from tasks import services

    settings.API_STATS_CACHE = True
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    staff = django_user_model.objects.create_user(
        username="boss24", email="b@example.com", password="pw", is_staff=True
    )
    with override_settings(CACHES=redis_caches(server.url)):
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Token {services.token_issue(user=staff)[1]}")

        def total():
            answer = api.get("/api/tasks/stats/?scope=global")
            assert answer.status_code == 200
            return answer.json()["total_tasks"]

        services.task_create(owner=staff, data={"title": "one"})
        assert total() == 1  # cached in Redis now
        trip_by_freezing(server, rediscache.caches["default"])
        created = api.post("/api/tasks/", {"title": "two"}, format="json")
        assert created.status_code == 201
        assert total() == 2  # computed, not the cached 1
        server.thaw()
        wait_state(rediscache.caches["default"], UP)
        assert total() == 2  # the cached 1 was invalidated on recovery


@pytest.mark.django_db(transaction=True)
def test_recovery_drops_global_statistics_a_lost_writer_could_not_invalidate(
    server, django_user_model, settings
):
    # A process that wrote during the outage and exited before Redis came back took its
    # remembered invalidation with it: the survivors drop the statistics version on recovery.
    from tasks import selectors, services
    from tasks.models import Task

    settings.API_STATS_CACHE = True
    staff = django_user_model.objects.create_user(
        username="boss24b", email="b2@example.com", password="pw", is_staff=True
    )
    with override_settings(CACHES=redis_caches(server.url)):
        services.task_create(owner=staff, data={"title": "one"})
        assert selectors.task_stats_global()["total_tasks"] == 1  # cached in Redis
        trip_by_freezing(server, rediscache.caches["default"])
        Task.objects.create(owner=staff, title="two")  # committed; its invalidation is lost
        server.thaw()
        wait_state(rediscache.caches["default"], UP)
        assert selectors.task_stats_global()["total_tasks"] == 2


def test_a_forked_child_starts_with_a_closed_breaker(server):
    # gunicorn --preload forks workers from a process that may have met an outage: the child
    # has no watcher thread, so an inherited open breaker would never close.
    cache = backend(server.url, retry_seconds=60)
    server.kill()
    assert cache.get("k", "miss") == "miss"
    assert cache.breaker.state == DOWN
    pid = os.fork()
    if pid == 0:  # the child: report through the exit code only
        breaker = cache.breaker
        fresh = breaker.state == UP and breaker._watcher is None
        os._exit(0 if fresh and breaker._lock.acquire(timeout=1) else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert cache.breaker.state == DOWN  # the parent's own view is unchanged
