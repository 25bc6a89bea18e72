"""Read replicas: which database a read goes to (``DATABASE_REPLICA_URLS``, docs/scaling.md).

Rules, in order (``current_read_alias``):

1. Outside a request (management commands, shell): the primary.
2. Inside ``atomic()`` on the primary, in a request that is not GET/HEAD/OPTIONS, after the
   request wrote, or before the user is known (authentication itself): the primary.
3. Otherwise ``read_alias_for(user_id)``: a healthy replica, unless that user wrote recently and
   the replica has not replayed that write yet (read-your-writes by LSN).

Read-your-writes: after a request that wrote on the primary, the middleware stores
``pg_current_wal_lsn()`` for the user in Redis (shared by every process and app server; only
ever raised). A replica serves that user again once its ``pg_last_wal_replay_lsn()`` has passed
it. Each process keeps every replica's replay position and lag for ``DB_REPLICA_STATUS_MS``
(one tiny query on the replica, at most that often), so the common case costs one Redis GET
per request and no extra database round trip.

Health: a replica whose status query or connection fails is skipped for
``DB_REPLICA_RETRY_SECONDS``; a replica seen behind for longer than ``DB_REPLICA_MAX_LAG_MS``
(pending WAL older than that) is skipped until it catches up. A statement that fails on a
replica mid-request is re-run on the primary (``_replica_fallback``): no failed request.

Both servers: the middleware runs sync under WSGI and natively async under ASGI, where the
native async views ask ``aread_alias`` (the same rules; the decision runs on a thread only when
replicas are configured) and a statement that fails on a replica is re-run on the primary too
(``replica_failed``). Bookkeeping writes (a token's last use, ``bookkeeping()``) are not the
user's writes: they do not pin the user to the primary.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import psycopg
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections
from django.db.backends.signals import connection_created
from django.utils.functional import SimpleLazyObject, empty

from taskproject import rediscache
from taskproject.middleware import SyncAndAsyncMiddleware

logger = logging.getLogger("taskproject.replicas")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Replay position and lag, read on the replica. Lag counts only while WAL is waiting to be
# applied (an idle replica that has applied everything is not behind, however old its last
# commit).
STATUS_SQL = (
    "SELECT pg_last_wal_replay_lsn() - '0/0'::pg_lsn, "
    "coalesce(pg_last_wal_receive_lsn() - '0/0'::pg_lsn, 0), "
    "coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000, 0)::float"
)
# Only ever raise a user's pending LSN: two requests of one user may finish out of order.
_RAISE_LSN = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return 1
"""


# --- per-process replica status ---------------------------------------------------------------


@dataclass
class ReplicaStatus:
    alias: str
    replay_lsn: int = 0
    receive_lsn: int = 0
    lag_ms: float = 0.0  # how stale its data is; 0 when it has applied all it received
    checked_at: float = 0.0  # monotonic; 0 = never, or down
    down_until: float = 0.0
    behind_since: float | None = None  # first seen with received WAL not yet applied
    last_error: str = ""

    def usable(self, now: float) -> bool:
        if now < self.down_until or not self.checked_at:
            return False
        return self.lag_ms <= settings.DB_REPLICA_MAX_LAG_MS


_status: dict[str, ReplicaStatus] = {}
_lock = threading.Lock()


def replica_aliases() -> list[str]:
    return list(getattr(settings, "REPLICA_ALIASES", []))


def _refresh(alias: str) -> ReplicaStatus:
    status = _status.setdefault(alias, ReplicaStatus(alias))
    connection = connections[alias]
    try:
        connection.close_if_health_check_failed()
        connection.ensure_connection()
        # The raw psycopg cursor: no execute wrappers (the primary fallback must not answer
        # for the replica here).
        with connection.connection.cursor() as cursor:
            cursor.execute(STATUS_SQL)
            replay, receive, replay_age_ms = cursor.fetchone()
    except (OperationalError, InterfaceError, psycopg.Error) as exc:
        _mark_down(alias, exc)
        return status
    now = time.monotonic()
    with _lock:
        status.replay_lsn, status.receive_lsn = int(replay or 0), int(receive)
        status.checked_at = now
        status.last_error = ""
        if status.receive_lsn <= status.replay_lsn:
            status.behind_since, status.lag_ms = None, 0.0
        else:
            if status.behind_since is None:
                status.behind_since = now
            # The age of the last applied commit overstates the lag right after an idle spell
            # (the last commit is old, the waiting one new); the time it has been seen behind
            # understates it only by one status interval. The smaller of the two.
            status.lag_ms = min(replay_age_ms, (now - status.behind_since) * 1000)
    return status


def _status_interval() -> float:
    return settings.DB_REPLICA_STATUS_MS / 1000


def _mark_down(alias: str, exc: BaseException, *, close: bool = True) -> None:
    status = _status.setdefault(alias, ReplicaStatus(alias))
    with _lock:
        status.down_until = time.monotonic() + settings.DB_REPLICA_RETRY_SECONDS
        status.checked_at = 0.0
        status.last_error = f"{exc.__class__.__name__}: {str(exc).strip()[:200]}"
    logger.warning(
        "replica %s skipped for %.1f s: %s", alias, settings.DB_REPLICA_RETRY_SECONDS, exc
    )
    if not close:
        return
    try:
        connections[alias].close()
    except Exception:  # a broken connection may fail to close; it is gone anyway
        logger.debug("closing %s failed", alias, exc_info=True)


def replica_status(alias: str, *, max_age: float | None = None) -> ReplicaStatus:
    """This process's view of ``alias``, refreshed when older than ``max_age`` seconds."""
    status = _status.get(alias)
    now = time.monotonic()
    max_age = _status_interval() if max_age is None else max_age
    if status is not None and now < status.down_until:
        return status
    if status is None or not status.checked_at or now - status.checked_at > max_age:
        status = _refresh(alias)
    return status


# --- read-your-writes ---------------------------------------------------------------------------
# Redis through the cache's breaker (taskproject.rediscache): while Redis is away, or in the
# retry interval after it returns, nobody's position can be read, so every user reads the
# primary; a position that could not be written is kept here and written when Redis answers
# again, before any process reads positions from it.

_unrecorded: dict[int, int] = {}  # user id -> highest LSN not yet in Redis
_unrecorded_lock = threading.Lock()


def _lsn_key(user_id: int) -> str:
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    return f"{prefix}:replicas:lsn:{user_id}"


def _pin_ms() -> int:
    # How long a pending write position is kept: a replica further behind than this is long
    # past DB_REPLICA_MAX_LAG_MS and skipped anyway.
    return max(60_000, 4 * settings.DB_REPLICA_MAX_LAG_MS)


def _raise_lsn(client, user_id: int, lsn: int) -> None:
    client.eval(_RAISE_LSN, 1, _lsn_key(user_id), lsn, _pin_ms())


def _record_unrecorded(client) -> None:
    """On Redis's return (a rediscache recovery hook): the positions it missed."""
    with _unrecorded_lock:
        pending = dict(_unrecorded)
    for user_id, lsn in pending.items():
        _raise_lsn(client, user_id, lsn)
        with _unrecorded_lock:
            if _unrecorded.get(user_id) == lsn:
                del _unrecorded[user_id]


rediscache.on_recovery(_record_unrecorded)


def _breaker() -> rediscache.Breaker:
    found = rediscache.breaker()
    if found is None:  # settings refuse replicas without REDIS_URL
        raise ImproperlyConfigured("read replicas need the Redis cache (REDIS_URL)")
    return found


def record_write(user_id: int) -> int:
    """After a request of ``user_id`` wrote: remember the primary's WAL position for them."""
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")
        lsn = int(cursor.fetchone()[0])

    def keep():
        # The write is committed and acknowledged; failing the response now would make the
        # client retry it. Until Redis has it, nobody reads a replica (pending_lsn: UNKNOWN).
        with _unrecorded_lock:
            _unrecorded[user_id] = max(lsn, _unrecorded.get(user_id, 0))

    breaker = _breaker()
    breaker.write(lambda: _raise_lsn(breaker.client(), user_id, lsn), missed=keep)
    return lsn


#: pending_lsn's answer when Redis cannot say: larger than any LSN, so the user reads the primary.
UNKNOWN = 2**64


def pending_lsn(user_id: int) -> int | None:
    breaker = _breaker()
    raw = breaker.read(lambda: breaker.client().get(_lsn_key(user_id)), default=UNKNOWN)
    if raw is UNKNOWN:
        return UNKNOWN
    return int(raw) if raw is not None else None


def read_alias_for(user_id: int | None) -> str:
    """The alias ``user_id``'s reads should use now: a replica that has everything this user
    wrote, else the primary. ``None`` (unknown user) reads the primary."""
    aliases = replica_aliases()
    if not aliases or user_id is None:
        return DEFAULT_DB_ALIAS
    now = time.monotonic()
    candidates = [a for a in aliases if replica_status(a).usable(now)]
    if not candidates:
        return DEFAULT_DB_ALIAS
    pending = pending_lsn(user_id)
    if pending is not None:
        caught_up = [a for a in candidates if _status[a].replay_lsn >= pending]
        if not caught_up:
            # The cached replay positions are older than the write: look again (at most once per
            # DB_REPLICA_STATUS_MS/4, so a pinned user's requests do not each query the replica).
            for alias in candidates:
                replica_status(alias, max_age=_status_interval() / 4)
            caught_up = [a for a in candidates if _status[a].replay_lsn >= pending]
        if not caught_up:
            return DEFAULT_DB_ALIAS
        candidates = caught_up
    return random.choice(candidates)  # noqa: S311 - load spreading, not security


# --- per request ----------------------------------------------------------------------------------


@dataclass
class _Request:
    request: object
    safe: bool
    wrote: bool = False
    alias: str | None = None
    reads: dict[str, int] = field(default_factory=dict)

    def user_id(self) -> int | None:
        # The user once authentication has run: DRF assigns request.user; Django's middleware
        # leaves a lazy object that counts only once something evaluated it. Never evaluated
        # here: that would run the session/user lookup from inside the router.
        user = self.request.__dict__.get("user")
        if isinstance(user, SimpleLazyObject):
            user = user._wrapped
            if user is empty:
                return None
        if user is None or not getattr(user, "is_authenticated", False):
            return None
        return user.pk


_current: ContextVar[_Request | None] = ContextVar("taskproject_replicas_request", default=None)


def current_read_alias() -> str:
    state = _current.get()
    if state is None or not state.safe or state.wrote:
        return DEFAULT_DB_ALIAS
    if connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return DEFAULT_DB_ALIAS
    if state.alias is None:
        user_id = state.user_id()
        if user_id is None:
            return DEFAULT_DB_ALIAS
        alias = read_alias_for(user_id)
        if alias != DEFAULT_DB_ALIAS:
            alias = _connectable(alias)
        state.alias = alias
    return state.alias


async def aread_alias() -> str:
    """``current_read_alias`` for the native async views (taskproject.asyncdb statements)."""
    if not replica_aliases():
        return DEFAULT_DB_ALIAS
    state = _current.get()
    if state is None or not state.safe or state.wrote:
        return DEFAULT_DB_ALIAS
    if state.alias is None:
        user_id = state.user_id()
        if user_id is None:
            return DEFAULT_DB_ALIAS
        # The replicas' status (a query on each, at most every DB_REPLICA_STATUS_MS) and the
        # user's position (Redis) are sync I/O: on a thread, once per request.
        state.alias = await sync_to_async(read_alias_for)(user_id)
    return state.alias


def replica_failed(alias: str, exc: BaseException) -> None:
    """A native async statement failed on replica ``alias``: skip it, this request reads the
    primary from now on (what ``_replica_fallback`` does for Django's connections)."""
    # The Django connection to it belongs to another thread; it is health-checked there.
    _mark_down(alias, exc, close=False)
    state = _current.get()
    if state is not None:
        state.alias = DEFAULT_DB_ALIAS


def _connectable(alias: str) -> str:
    """Connect (or health-check the persistent connection) before handing the alias out: a
    replica that went away since its last status check costs a fallback, not a 503."""
    connection = connections[alias]
    try:
        connection.close_if_health_check_failed()
        connection.ensure_connection()
    except (OperationalError, InterfaceError) as exc:
        _mark_down(alias, exc)
        return DEFAULT_DB_ALIAS
    if _replica_fallback not in connection.execute_wrappers:
        # At the bottom of the stack, outermost: per-request wrappers (perfaudit's recorder,
        # pushed and popped with execute_wrapper()) stay last, so their pop removes them and
        # not this one; and it sees their errors too.
        connection.execute_wrappers.insert(0, _replica_fallback)
    return alias


def _replica_fallback(execute, sql, params, many, context):
    """A statement that fails on a replica (it stopped mid-request) runs on the primary instead;
    the caller's cursor then reads the primary's result."""
    try:
        return execute(sql, params, many, context)
    except (OperationalError, InterfaceError) as exc:
        connection = context["connection"]
        if connection.in_atomic_block:
            raise
        _mark_down(connection.alias, exc)
        state = _current.get()
        if state is not None:
            state.alias = DEFAULT_DB_ALIAS
        primary = connections[DEFAULT_DB_ALIAS].cursor()
        if many:
            primary.executemany(sql, params)
        else:
            primary.execute(sql, params)
        context["cursor"].cursor = primary.cursor
        return None


_bookkeeping: ContextVar[bool] = ContextVar("taskproject_replicas_bookkeeping", default=False)


@contextmanager
def bookkeeping():
    """Writes in this block are the application's bookkeeping (a token's last use), not the
    user's: they do not make the request a writing one, so they do not pin the user's reads to
    the primary (there is nothing of theirs to read back)."""
    token = _bookkeeping.set(True)
    try:
        yield
    finally:
        _bookkeeping.reset(token)


def _watch_primary(execute, sql, params, many, context):
    """On every connection to the primary: a transaction (every write path is atomic()) or a
    statement that is not a plain read makes the current request a writing one. The request is
    found through its context (``_current``), which Django's and asgiref's threads inherit, so
    this also sees the statements an ASGI request runs on Django's database thread."""
    state = _current.get()
    if state is not None and not state.wrote and not _bookkeeping.get():
        head = sql.lstrip()[:6].upper()
        if not context["connection"].get_autocommit() or head not in {"SELECT", "SHOW"}:
            state.wrote = True
    return execute(sql, params, many, context)


def _watch(connection) -> None:
    if connection.alias == DEFAULT_DB_ALIAS and _watch_primary not in connection.execute_wrappers:
        # Outermost, like _replica_fallback: per-request wrappers stay last.
        connection.execute_wrappers.insert(0, _watch_primary)


def _watch_created(sender, connection, **kwargs):
    _watch(connection)


class ReplicaRouter:
    """Reads per ``current_read_alias``; writes, relations and migrations on the primary."""

    def db_for_read(self, model, **hints):
        instance = hints.get("instance")
        if instance is not None and instance._state.db == DEFAULT_DB_ALIAS:
            return DEFAULT_DB_ALIAS
        return current_read_alias()

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True  # every alias holds the same data

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == DEFAULT_DB_ALIAS


class ReplicaRoutingMiddleware(SyncAndAsyncMiddleware):
    """Scopes the routing state to one request; records the user's LSN after a write. Sync
    under WSGI, natively async under ASGI (no thread hop unless the request wrote)."""

    def __init__(self, get_response):
        super().__init__(get_response)
        # Every thread's connection to the primary, including the ones an ASGI request's sync
        # code (DRF views, the ORM) opens on Django's database thread.
        connection_created.connect(_watch_created, dispatch_uid="taskproject.replicas.watch")

    def __call__(self, request):
        if self.is_async:
            return self._acall(request)
        state = _Request(request=request, safe=request.method in SAFE_METHODS)
        token = _current.set(state)
        try:
            _watch(connections[DEFAULT_DB_ALIAS])
            response = self.get_response(request)
            if state.wrote:
                user_id = state.user_id()
                if user_id is not None:
                    # After the view: every transaction of this request has committed.
                    record_write(user_id)
            return self._finish(state, response)
        finally:
            _current.reset(token)

    async def _acall(self, request):
        state = _Request(request=request, safe=request.method in SAFE_METHODS)
        token = _current.set(state)
        try:
            response = await self.get_response(request)
            if state.wrote:
                user_id = state.user_id()
                if user_id is not None:
                    await sync_to_async(record_write)(user_id)
            return self._finish(state, response)
        finally:
            _current.reset(token)

    @staticmethod
    def _finish(state: _Request, response):
        if settings.DB_REPLICA_DEBUG_HEADER:
            response["X-Read-Alias"] = state.alias or DEFAULT_DB_ALIAS
        return response
