"""perfaudit's settings: ``settings.PERFAUDIT = {...}`` over typed defaults.

Read on every call (not cached at import; the last result is reused while ``PERFAUDIT`` is the
same dict with the same items) so ``override_settings`` in tests and per-process settings both
work, and importing perfaudit has no side effects.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from django.conf import settings

REPEATED_QUERY_MODES = ("off", "log", "raise")


@dataclass(frozen=True)
class PerfauditSettings:
    # --- runtime (perfaudit.runtime.PerfauditMiddleware) ---
    #: Log queries slower than this (logger ``perfaudit.slow_queries``); None turns it off.
    SLOW_QUERY_MS: float | None = 100.0
    #: Same SQL fingerprint this many times in one request counts as N+1 / repeated queries.
    REPEATED_QUERY_THRESHOLD: int = 5
    #: off | log (logger ``perfaudit.repeated_queries``) | raise (RepeatedQueriesError).
    REPEATED_QUERY_MODE: str = "off"
    #: Add ``Server-Timing: db;dur=...;desc="N queries"`` to every response.
    SERVER_TIMING: bool = True

    # --- slowqueries / the Queries page ---
    #: Tables of profilers (silk's by default): their statements are hidden with the other tool
    #: noise unless asked for (``slowqueries --all``, the page's toggle). perfaudit.origin.
    PROFILER_TABLE_PREFIXES: tuple[str, ...] = ("silk_",)

    # --- explain / profilequery ---
    #: statement_timeout for EXPLAIN ANALYZE and profilequery (they execute the statement).
    STATEMENT_TIMEOUT_MS: int = 30_000
    #: The same for the admin's EXPLAIN form: it runs inside a web worker, so it must end well
    #: before the worker's own timeout (gunicorn: 30 s by default).
    ADMIN_STATEMENT_TIMEOUT_MS: int = 10_000
    # --- user SQL: the gate every typed statement passes (perfaudit.gate; docs/operations.md,
    # "perfaudit security") ---
    #: EXPLAIN ANALYZE on the admin's EXPLAIN page (it executes the statement): None follows
    #: settings.DEBUG. Even when on, only users with perfaudit.explain_analyze may tick it.
    ADMIN_EXPLAIN_ANALYZE: bool | None = None
    #: A database role the typed statement runs as (SET LOCAL ROLE inside the rolled-back
    #: transaction), created with ``manage.py perfauditrole``; None runs it as the connecting
    #: user (the gate alone stands between the statement and that user's rights).
    SQL_ROLE: str | None = None
    #: Tables a typed statement may not read, as fnmatch patterns on the table name (or
    #: ``schema.table``); the user model's tables and the session table are always added.
    SQL_PROTECTED_TABLES: tuple[str, ...] = (
        "django_session",
        "django_admin_log",
        "auth_*",
        "*token*",
        "*password*",
        "*secret*",
        "perfaudit_*",
        "silk_*",
    )
    #: Functions outside PostgreSQL's and the extensions' own that a typed statement may call
    #: (``name`` or ``schema.name``); they must still be STABLE or IMMUTABLE.
    SQL_ALLOWED_FUNCTIONS: tuple[str, ...] = ()
    #: Longest statement accepted, in characters (checked before anything parses it).
    SQL_MAX_LENGTH: int = 65_536
    #: Deepest parse tree accepted (a Django query is ~15 levels deep).
    SQL_MAX_DEPTH: int = 100
    #: lock_timeout for EXPLAIN, EXPLAIN ANALYZE and profilequery: a statement waiting behind a
    #: migration's lock gives up instead of queueing every later query behind it.
    LOCK_TIMEOUT_MS: int = 2_000

    #: A sequential scan over a table with more rows than this is flagged.
    SEQ_SCAN_MIN_ROWS: int = 50_000
    #: Estimated vs actual rows off by this factor (either way) is flagged.
    ROW_ESTIMATE_FACTOR: float = 10.0
    #: An index-only scan with more heap fetches than this share of its rows is flagged.
    HEAP_FETCH_RATIO: float = 0.1
    #: Rows removed by a filter after an index scan, as a multiple of the rows kept.
    FILTER_DISCARD_FACTOR: float = 10.0
    #: Plan rules ignore nodes handling fewer rows than this (noise on tiny tables).
    PLAN_MIN_ROWS: int = 1_000

    # --- auditindexes ---
    #: A stats reset younger than this makes an unused-index finding ``info``.
    UNUSED_RECENT_RESET_DAYS: int = 7
    #: Below this many scans of its table, an index with no scans is only ``info``: the
    #: table has not been read enough to say the index is useless.
    UNUSED_MIN_TABLE_SCANS: int = 1_000
    #: Estimated btree bloat ratio for info / warning, on indexes of at least BLOAT_MIN_BYTES.
    BLOAT_INFO_RATIO: float = 0.3
    BLOAT_WARNING_RATIO: float = 0.5
    BLOAT_MIN_BYTES: int = 10 * 1024 * 1024

    # --- adviseindexes ---
    #: pg_stat_statements entries (top by total time) the advisor reads when no statement is given.
    ADVISOR_TOP_STATEMENTS: int = 20
    #: Suggest an index only when it lowers a statement's plan cost by at least this share
    #: (Dexter's rule is 50 %).
    ADVISOR_MIN_COST_REDUCTION: float = 0.5
    #: A constant condition on a flag/state column keeping at most this share of the table
    #: becomes the WHERE of a partial index.
    ADVISOR_PARTIAL_MAX_FRACTION: float = 0.1
    #: Conditions keeping at least this share of the table leave nothing for an index to do
    #: (reading a fifth of a table through an index is rarely cheaper than a sequential scan).
    ADVISOR_NO_HELP_FRACTION: float = 0.2
    #: A statement whose plan costs less than this as it is gets no suggestion (Dexter's
    #: "low initial cost" bar is 100): an index cannot save what is not spent.
    ADVISOR_MIN_COST: float = 100.0
    #: Tables with fewer rows get no index suggestion: a sequential scan reads them in a few
    #: pages, and every index is one more to maintain on each write.
    ADVISOR_MIN_TABLE_ROWS: int = 1_000
    #: Without HypoPG, candidates on tables up to this size (pg_total_relation_size) are
    #: verified by building them in a transaction that is rolled back (milliseconds, but the
    #: build holds a SHARE lock: writes to the table wait); larger ones only with
    #: ``adviseindexes --allow-build``. 0: never build unasked.
    ADVISOR_BUILD_MAX_BYTES: int = 10 * 1024 * 1024

    # --- tablestats ---
    DEAD_TUPLE_RATIO: float = 0.2
    DEAD_TUPLE_MIN: int = 1_000
    ANALYZE_MOD_RATIO: float = 0.2

    # --- dbconnections ---
    #: Application processes connecting to this database (gunicorn workers x hosts), and
    #: connections each may hold (threads, or the pool's max_size when DB_POOL is on).
    APP_PROCESSES: int = 2
    CONNECTIONS_PER_PROCESS: int = 1
    LONG_RUNNING_SECONDS: int = 60
    #: The database URL points at a transaction pooler (PgBouncer pool_mode = transaction):
    #: session state does not survive a transaction, and the arithmetic counts the pooler.
    TRANSACTION_POOLER: bool = False
    #: The pooler's admin console (``postgresql://user@host:6432/pgbouncer``) for SHOW POOLS /
    #: SHOW DATABASES; None: perfaudit shows what the server sees of the pooler only.
    POOLER_ADMIN_URL: str | None = None

    # --- replication (dbconnections) ---
    #: A standby further behind than either is a warning.
    REPLICATION_LAG_WARNING_SECONDS: float = 10.0
    REPLICATION_LAG_WARNING_BYTES: int = 64 * 1024 * 1024
    #: A query waiting this long for a lock another session holds is a warning (info below).
    BLOCKED_WARNING_SECONDS: float = 5.0

    # --- slowqueries ---
    #: A statement is judged slow only after this many calls: one slow call of a report or a
    #: migration says nothing about the application's hot path.
    SLOW_QUERY_MIN_CALLS: int = 10
    #: A statement using at least this share of the database's total execution time is
    #: reported (info), however fast each call is.
    TIME_SHARE_RATIO: float = 0.1

    # --- dbhealth ---
    #: A sequence (or the column it feeds) this far towards its maximum: warning / error.
    SEQUENCE_WARNING_RATIO: float = 0.75
    SEQUENCE_ERROR_RATIO: float = 0.9
    #: Transaction IDs (and multixact IDs) left before PostgreSQL stops accepting writes to
    #: avoid wraparound (~2.1 billion at most): below these, warning / error. Anti-wraparound
    #: autovacuum starts at autovacuum_freeze_max_age (200 million by default), so a table
    #: this close means something keeps vacuum from freezing it.
    WRAPAROUND_WARNING_LEFT: int = 1_000_000_000
    WRAPAROUND_ERROR_LEFT: int = 100_000_000

    # --- history: capturestats, perfchanges, the History and Changes pages ---
    #: The database alias history is stored on (perfaudit.routers.HistoryRouter sends the
    #: history tables' migrations there); None: the database being captured.
    HISTORY_DATABASE: str | None = None
    #: Captures older than this many days are pruned by each capture (``--keep`` overrides).
    HISTORY_KEEP_DAYS: float = 14.0
    #: Statements (top by time since the previous capture) whose plan shape each capture takes.
    HISTORY_PLAN_STATEMENTS: int = 10
    #: Tables and indexes are sampled by the first capture after this many seconds (sizes
    #: change slowly; a sample a minute of every relation would be most of history's size).
    HISTORY_RELATIONS_SECONDS: float = 300.0
    #: New statement texts whose origin (application or tool) a capture works out at most;
    #: the rest wait for the next captures (the pages list them once classified).
    HISTORY_CLASSIFY_PER_CAPTURE: int = 200
    #: A statement is "slower" when its mean time grew by this factor and by at least
    #: CHANGES_SLOWER_MIN_MS, with at least CHANGES_MIN_CALLS calls on both sides.
    CHANGES_SLOWER_RATIO: float = 1.5
    CHANGES_SLOWER_MIN_MS: float = 1.0
    CHANGES_MIN_CALLS: int = 10
    #: Growth is reported for the tables and indexes growing fastest (at most this many) ...
    CHANGES_GROWTH_TOP: int = 10
    #: ... by at least this many bytes a day, with the days left until this size (None: not).
    CHANGES_GROWTH_MIN_BYTES_PER_DAY: int = 1024 * 1024
    #: ... measured over at least this many hours of samples.
    CHANGES_GROWTH_MIN_HOURS: float = 1.0
    CHANGES_SIZE_LIMIT_BYTES: int | None = None
    #: A connection peak this share of max_connections is a warning.
    CHANGES_CONNECTION_PEAK_RATIO: float = 0.8

    # --- every command ---
    #: Findings a team has looked at and accepted: ``{"kind": ..., "object": ..., "reason":
    #: ...}`` (``object`` is the finding's object, or ``table.object``). They are still shown,
    #: marked acknowledged, and never count for ``--fail-on``.
    ACKNOWLEDGED: tuple = ()


_KNOWN = frozenset(f.name for f in fields(PerfauditSettings))
# (the PERFAUDIT object, a copy of its items, the settings built from them): the runtime
# middleware reads the settings twice per request, and building them costs ~50 us.
_last: tuple = (None, None, None)
_NONE: dict = {}


def get_settings() -> PerfauditSettings:
    global _last
    overrides = getattr(settings, "PERFAUDIT", None) or _NONE
    cached_for, cached_items, cached = _last
    # The same object with the same items (override_settings swaps the object; a test may edit
    # the dict in place): the comparison is cheaper than rebuilding, and always current.
    if cached_for is overrides and cached_items == overrides:
        return cached
    built = replace(PerfauditSettings(), **{k: v for k, v in overrides.items() if k in _KNOWN})
    _last = (overrides, dict(overrides), built)
    return built


@dataclass(frozen=True)
class Acknowledgement:
    kind: str
    object: str
    reason: str

    def matches(self, finding) -> bool:
        if self.kind != finding.kind:
            return False
        names = {finding.object}
        if finding.table and finding.object:
            names.add(f"{finding.table}.{finding.object}")
        return self.object in names


def acknowledgements(conf: PerfauditSettings | None = None) -> list[Acknowledgement]:
    """The ACKNOWLEDGED entries that are well formed (checks.py reports the others, W005)."""
    conf = conf or get_settings()
    result = []
    for entry in conf.ACKNOWLEDGED or ():
        if acknowledgement_error(entry) is None:
            result.append(Acknowledgement(entry["kind"], entry["object"], entry["reason"]))
    return result


def acknowledgement_error(entry) -> str | None:
    if not isinstance(entry, dict):
        return f"{entry!r} is not a dict"
    missing = [k for k in ("kind", "object", "reason") if not entry.get(k)]
    if missing:
        return f"{entry!r} lacks {', '.join(missing)}"
    extra = set(entry) - {"kind", "object", "reason"}
    if extra:
        return f"{entry!r} has unknown keys {', '.join(sorted(extra))}"
    return None


def unknown_keys() -> list[str]:
    overrides = getattr(settings, "PERFAUDIT", None) or {}
    known = {f.name for f in fields(PerfauditSettings)}
    return sorted(set(overrides) - known)
