"""Redis as a helper, not a single point of failure (docs/operations.md, "Redis faults").

With ``REDIS_URL`` the app keeps its cache, throttle counters, session cache and read-your-writes
positions in Redis. None of them is needed for a correct answer, so Redis being down, hung,
restarted or flushed must cost speed, never a request:

- **Short timeouts.** Every connection has a connect and a read timeout of ``REDIS_TIMEOUT_MS``
  (50 ms; redis-py's default is 5 s) and no retries.
- **A breaker per process.** The first failure (timeout, refused connection, any Redis error)
  opens it: the process skips Redis entirely (reads are misses, writes are dropped) and logs one
  warning. A watcher thread then asks Redis every ``REDIS_RETRY_SECONDS`` (2 s); requests never
  pay for a probe. When it answers, the watcher logs one warning and closes the breaker.
- **Nothing stale afterwards.** A write dropped while Redis was away (an invalidation, a session
  save or delete) is remembered by key; on recovery the watcher deletes those keys and the
  registered ``delete_on_recovery`` keys (the statistics version) and runs the ``on_recovery``
  hooks (read-your-writes positions) *before* the process reads from Redis again. Writes resume
  as the replay starts (a write racing it is at worst deleted again: a miss); reads one retry
  interval after it, by when every other live process that saw the outage has done the same, so
  no process serves a value another one failed to invalidate. A process that saw
  no outage (it made no Redis call during it) can read such a value until the writer's watcher
  has replayed it, i.e. within ``REDIS_RETRY_SECONDS`` of Redis answering again; at worst within
  the value's TTL if that writer exited before Redis came back.
- **A restarted Redis is not trusted.** Each new connection reads the server's ``run_id``; a new
  one means Redis restarted, empty or from an old snapshot (which can hold values invalidated
  after it was taken). The process treats that as an outage it missed: breaker open, then the
  watcher deletes every key of this cache (``SCAN`` over the key prefix, never ``FLUSHDB``: the
  Redis may be shared) before reads resume.

The state is per process (module-level, one breaker per Redis URL), shared by the sync and the
async code paths; Django's per-thread cache objects all use it and one connection pool.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterable

import redis
from asgiref.sync import sync_to_async
from django.core.cache import caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from django.core.exceptions import ImproperlyConfigured
from django.utils.functional import cached_property

logger = logging.getLogger("taskproject.redis")

UP, DOWN, RECOVERING = "up", "down", "recovering"
DEFAULT_TIMEOUT_SECONDS = 0.05
DEFAULT_RETRY_SECONDS = 2.0
#: Dropped writes remembered by key; past this many, recovery clears the whole cache instead.
MAX_REMEMBERED = 10_000
_MISSING = object()

# Registered at import by the modules that need them (tasks.cache, taskproject.replicas).
_recovery_keys: set[str] = set()
_recovery_hooks: list[Callable[[redis.Redis], None]] = []


def delete_on_recovery(key: str) -> None:
    """Delete ``key`` (a cache key, as passed to ``cache.get``) whenever a process finds Redis
    back: for values another process may have failed to invalidate while it was away."""
    _recovery_keys.add(key)


def on_recovery(hook: Callable[[redis.Redis], None]) -> None:
    """Run ``hook(client)`` whenever a process finds Redis back, before it reads from it again."""
    if hook not in _recovery_hooks:
        _recovery_hooks.append(hook)


class Breaker:
    """One process's view of one Redis: its connection pool, state, and what it must replay."""

    def __init__(self, url: str, *, timeout: float, retry_seconds: float, pool_options: dict):
        self.url = url
        self.timeout = timeout
        self.retry_seconds = retry_seconds
        self.run_id: str | None = None
        self.make_key: Callable[[str], str] = lambda key: key
        self.clear_pattern = "*"
        self.reset()
        self.pool = redis.ConnectionPool.from_url(
            url,
            **pool_options,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=redis.retry.Retry(redis.backoff.NoBackoff(), 0),
            redis_connect_func=self._on_connect,
        )

    def reset(self) -> None:
        self.state = UP
        # Monotonic times: reads resume at reads_from after a recovery.
        self.reads_from = self.down_since = 0.0
        self.last_error = ""
        self.restarted = self.overflow = False
        self.remembered: set[str] = set()
        self._lock = threading.Lock()
        self._watcher: threading.Thread | None = None

    def client(self) -> redis.Redis:
        return redis.Redis(connection_pool=self.pool)

    # --- what requests ask -------------------------------------------------------------------
    def readable(self) -> bool:
        if self.state == UP:
            return True
        if self.state == RECOVERING and time.monotonic() >= self.reads_from:
            with self._lock:
                if self.state == RECOVERING:
                    self.state = UP
            return self.state == UP
        return False

    def writable(self) -> bool:
        return self.state != DOWN

    def read(self, call: Callable[[], object], default=None):
        """``call()``'s result, or ``default`` when Redis is skipped or fails."""
        if not self.readable():
            return default
        try:
            return call()
        except redis.RedisError as exc:
            self.trip(exc)
            return default

    def write(
        self,
        call: Callable[[], object],
        *,
        keys: Iterable[str] = (),
        missed: Callable[[], None] | None = None,
        default=None,
    ):
        """``call()``'s result; when Redis is skipped or fails, ``keys`` are remembered (deleted
        on recovery), ``missed()`` runs, and ``default`` is returned."""
        if self.writable():
            try:
                return call()
            except redis.RedisError as exc:
                self.trip(exc)
        self.remember(keys)
        if missed is not None:
            missed()
        return default

    def remember(self, keys: Iterable[str]) -> None:
        with self._lock:
            if self.overflow:
                return
            self.remembered.update(keys)
            if len(self.remembered) > MAX_REMEMBERED:
                self.overflow, self.remembered = True, set()

    def status(self) -> str:
        """``up``, ``down`` or ``recovering``; asks Redis (a PING) when it is believed up."""
        if self.readable():
            self.read(lambda: self.client().ping())
        self.readable()  # RECOVERING -> UP once its time has come
        return self.state

    # --- failure and recovery ------------------------------------------------------------------
    def trip(self, exc: BaseException) -> None:
        with self._lock:
            self.last_error = _describe(exc)
            if self.state == DOWN:
                return
            self.state = DOWN
            self.down_since = time.monotonic()
            if self._watcher is None:
                self._watcher = threading.Thread(
                    target=self._watch, name="redis-breaker", daemon=True
                )
                self._watcher.start()
        logger.warning(
            "Redis at %s unavailable (%s): skipping it in this process, retrying every %.1f s",
            _safe_url(self.url),
            self.last_error,
            self.retry_seconds,
        )

    def _watch(self) -> None:
        while True:
            time.sleep(self.retry_seconds)
            try:
                done = self._recover()
            except redis.RedisError as exc:
                self.last_error = _describe(exc)
                continue
            except Exception:  # a bug in a hook must not leave the breaker open for good
                logger.exception(
                    "Redis recovery failed; trying again in %.1f s", self.retry_seconds
                )
                continue
            with self._lock:
                if self.state == DOWN:  # failed again while replaying: keep watching
                    continue
                self._watcher = None
            logger.warning(
                "Redis at %s answers again after %.1f s: %s; cached reads resume in %.1f s",
                _safe_url(self.url),
                time.monotonic() - self.down_since,
                done,
                self.retry_seconds,
            )
            return

    def _recover(self) -> str:
        """Replay what this process missed. Writes resume at once (a write racing the replay
        is at worst deleted again: a miss), reads one retry interval after the replay."""
        client = self.client()
        client.ping()
        with self._lock:
            keys, self.remembered = self.remembered, set()
            clear = self.overflow or self.restarted
            self.overflow = self.restarted = False
            self.state, self.reads_from = RECOVERING, math.inf
        done = []
        try:
            if clear:
                done.append(f"cleared the cache ({self.clear(client)} keys)")
            keys |= {self.make_key(key) for key in _recovery_keys}
            for chunk in _chunks(sorted(keys), 500):
                client.delete(*chunk)
            done.append(f"{len(keys)} keys invalidated")
            for hook in _recovery_hooks:
                hook(client)
        except Exception:
            with self._lock:  # all of it again at the next attempt
                self.state = DOWN
                self.remembered |= keys
                self.overflow = self.overflow or clear
            raise
        with self._lock:
            if self.state == RECOVERING:
                # Other processes that saw the outage replay within one retry interval of
                # Redis answering (their watchers ask that often): read nothing before that.
                self.reads_from = time.monotonic() + self.retry_seconds + 2 * self.timeout
                self.last_error = ""
        return ", ".join(done)

    def clear_later(self) -> None:
        with self._lock:
            self.overflow = True

    def clear(self, client: redis.Redis | None = None) -> int:
        """Delete every key of this cache (SCAN over its prefix); the number deleted."""
        client = client or self.client()
        deleted = 0
        for chunk in _chunks(client.scan_iter(match=self.clear_pattern, count=1000), 500):
            deleted += client.delete(*chunk)
        return deleted

    def _on_connect(self, connection) -> None:
        """Every new connection: the handshake, then the server's run_id (a restart check)."""
        connection.on_connect()
        connection.send_command("INFO", "server")
        try:
            info = connection.read_response()
        except redis.ResponseError:  # INFO renamed away (some managed services): no check
            return
        if isinstance(info, bytes):
            info = info.decode()
        lines = info.splitlines()
        run_id = next((line[7:].strip() for line in lines if line.startswith("run_id:")), None)
        with self._lock:
            changed = self.run_id is not None and run_id != self.run_id
            self.run_id = run_id
            if not changed:
                return
            self.restarted = True
            tripping = self.state != DOWN
        if tripping:
            # Not an error of this connection, but the command must not read the restarted
            # server's data before the cache is cleared: fail it like an outage.
            raise redis.ConnectionError("Redis restarted (new run_id): its data is not trusted")


def _describe(exc: BaseException) -> str:
    return f"{exc.__class__.__name__}: {str(exc).strip()[:200]}"


def _chunks(items: Iterable, size: int):
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _safe_url(url: str) -> str:
    """The URL without its password (logs must never hold one)."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.rsplit("@", 1)[1]
    return f"{scheme}{sep}{rest}"


_breakers: dict[str, Breaker] = {}
_breakers_lock = threading.Lock()


def _reset_after_fork() -> None:
    # A forked child (gunicorn --preload) has no watcher thread, and a lock another thread held
    # at the fork stays held: each breaker starts afresh (cache objects made before the fork
    # keep theirs; redis-py's pool replaces its connections in a new process by itself).
    global _breakers_lock
    _breakers_lock = threading.Lock()
    for breaker in _breakers.values():
        breaker.reset()


os.register_at_fork(after_in_child=_reset_after_fork)


#: OPTIONS of this backend; the rest go to redis-py's pool, except the ones Django's client takes.
_OWN_OPTIONS = ("timeout", "retry_seconds")
_CLIENT_OPTIONS = ("serializer", "pool_class")


def _breaker_for(url: str, options: dict) -> Breaker:
    with _breakers_lock:
        breaker = _breakers.get(url)
        if breaker is None:
            pool_options = {
                k: v for k, v in options.items() if k not in _OWN_OPTIONS + _CLIENT_OPTIONS
            }
            breaker = _breakers[url] = Breaker(
                url,
                timeout=options.get("timeout", DEFAULT_TIMEOUT_SECONDS),
                retry_seconds=options.get("retry_seconds", DEFAULT_RETRY_SECONDS),
                pool_options=pool_options,
            )
        return breaker


class _GuardedClient(RedisCacheClient):
    """Django's client on the breaker's pool; each operation through the breaker. Keys here are
    full Redis keys (prefix and version applied)."""

    def __init__(self, servers, breaker: Breaker, **options):
        super().__init__(servers, **options)
        self._breaker = breaker

    def _get_connection_pool(self, write):
        return self._breaker.pool

    def get(self, key, default):
        return self._breaker.read(lambda: _Base.get(self, key, default), default)

    def get_many(self, keys):
        return self._breaker.read(lambda: _Base.get_many(self, keys), {})

    def has_key(self, key):
        return self._breaker.read(lambda: _Base.has_key(self, key), False)

    def add(self, key, value, timeout):
        return self._breaker.write(
            lambda: _Base.add(self, key, value, timeout), keys=[key], default=False
        )

    def set(self, key, value, timeout):
        self._breaker.write(lambda: _Base.set(self, key, value, timeout), keys=[key])

    def touch(self, key, timeout):
        return self._breaker.write(
            lambda: _Base.touch(self, key, timeout), keys=[key], default=False
        )

    def delete(self, key):
        return self._breaker.write(lambda: _Base.delete(self, key), keys=[key], default=False)

    def incr(self, key, delta):
        def missed():
            raise ValueError(f"Key '{key}' not found (Redis unavailable).")

        return self._breaker.write(lambda: _Base.incr(self, key, delta), keys=[key], missed=missed)

    def set_many(self, data, timeout):
        self._breaker.write(lambda: _Base.set_many(self, data, timeout), keys=data)

    def delete_many(self, keys):
        self._breaker.write(lambda: _Base.delete_many(self, keys), keys=keys)

    def clear(self):
        # Never FLUSHDB a Redis that may be shared: this cache's keys only (and all of them at
        # recovery when Redis is away now).
        return self._breaker.write(
            lambda: self._breaker.clear() >= 0, missed=self._breaker.clear_later, default=False
        )


_Base = RedisCacheClient


_READS = ("get", "get_many", "has_key")
_WRITES = ("add", "set", "touch", "delete", "incr", "set_many", "delete_many", "clear")


class RedisCache(DjangoRedisCache):
    """Django's Redis cache that never raises for Redis's sake (see the module docstring).

    OPTIONS: ``timeout`` (seconds, connect and read; 0.05), ``retry_seconds`` (2.0); the rest
    goes to redis-py's connection pool as with Django's backend.
    """

    def __init__(self, server, params):
        super().__init__(server, params)
        if len(self._servers) != 1:
            raise ImproperlyConfigured("taskproject.rediscache.RedisCache: one Redis URL")
        self._breaker = _breaker_for(self._servers[0], self._options)
        self._breaker.make_key = self.make_key
        self._breaker.clear_pattern = _glob_escape(self.make_key("")) + "*"

    @property
    def breaker(self) -> Breaker:
        return self._breaker

    @cached_property
    def _cache(self):
        options = {k: v for k, v in self._options.items() if k in _CLIENT_OPTIONS}
        return _GuardedClient(self._servers, self._breaker, **options)

    def _skips(self, name: str) -> bool:
        if name in _READS:
            return not self._breaker.readable()
        return not self._breaker.writable()


def _async_twin(name: str):
    sync = getattr(RedisCache, name)

    async def method(self, *args, **kwargs):
        if self._skips(name):
            # No I/O will happen (a miss, or a remembered write): no thread hop either.
            return sync(self, *args, **kwargs)
        # Redis I/O needs no particular thread: not the one thread Django's async ORM calls
        # share, which a slow Redis call would hold up.
        return await sync_to_async(sync, thread_sensitive=False)(self, *args, **kwargs)

    method.__name__ = method.__qualname__ = f"a{name}"
    return method


for _name in _READS + _WRITES:
    setattr(RedisCache, f"a{_name}", _async_twin(_name))


def _glob_escape(text: str) -> str:
    return "".join(f"\\{char}" if char in "*?[]\\" else char for char in text)


# --- helpers for callers --------------------------------------------------------------------


def breaker(alias: str = "default") -> Breaker | None:
    """The breaker of cache ``alias``, or None when it is not a Redis cache of this module."""
    backend = caches[alias]
    return backend.breaker if isinstance(backend, RedisCache) else None


def status(alias: str = "default") -> str | None:
    """``up`` / ``down`` / ``recovering`` for /health/; None without Redis."""
    found = breaker(alias)
    return None if found is None else found.status()


class FailOpenCache:
    """For DRF's throttles: the shared cache while Redis answers; this process's memory while
    it does not. So a throttle never fails a request and never stops limiting: during an outage
    each process applies the rate on its own (a client gets at most processes x rate)."""

    def __init__(self, alias: str = "default"):
        self.alias = alias
        self.local = LocMemCache(
            f"taskproject-failopen-{alias}", {"OPTIONS": {"MAX_ENTRIES": 10_000}}
        )

    def get(self, key, default=None, version=None):
        shared = caches[self.alias]
        found = breaker(self.alias)
        if found is None:
            return shared.get(key, default, version=version)
        if found.readable():
            value = shared.get(key, _MISSING, version=version)
            if found.readable():
                return default if value is _MISSING else value
        return self.local.get(key, default, version=version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        shared = caches[self.alias]
        found = breaker(self.alias)
        if found is None:
            return shared.set(key, value, timeout, version=version)
        # Always here too: the count to fall back on when Redis goes (or is not read yet).
        self.local.set(key, value, timeout, version=version)
        if found.writable():
            shared.set(key, value, timeout, version=version)
        return None
