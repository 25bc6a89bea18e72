"""Settings for taskproject: one module, every deployment difference read from the environment.

See the README's table of environment variables. Bad values stop the process with a message
naming the variable (taskproject.env.Env).
"""

from datetime import timedelta
from importlib.util import find_spec
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from taskproject.embedded_db import DEFAULT_BASE, EmbeddedServer
from taskproject.env import Env

BASE_DIR = Path(__file__).resolve().parent.parent
env = Env()

# --- core -----------------------------------------------------------------------------------
DEBUG = env.bool("DEBUG", False)

# Only ever used with DEBUG on; with DEBUG off a missing or weak SECRET_KEY stops the process.
_DEV_SECRET_KEY = "django-insecure-dev-only-key-never-used-when-DEBUG-is-off-0123456789"  # noqa: S105
SECRET_KEY = env.str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY: not set. With DEBUG off a real secret key is required (50+ random "
            "characters: python -c 'import secrets; print(secrets.token_urlsafe(50))')."
        )
    SECRET_KEY = _DEV_SECRET_KEY
elif not DEBUG and (
    SECRET_KEY.startswith("django-insecure") or len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5
):
    raise ImproperlyConfigured(
        "SECRET_KEY: too weak for DEBUG off (needs 50+ characters, 5+ distinct, "
        "not a 'django-insecure' key)."
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    # Loopback only unless told otherwise: safe for local serving and benchmarks.
    ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "perfaudit",
    "tasks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # JSON errors under /api/ whatever DEBUG says (Django's debug pages are HTML).
    "taskproject.middleware.ApiJsonErrorsMiddleware",
    "taskproject.middleware.DatabaseUnavailableMiddleware",
    # 413 JSON before anything reads the body (debug-toolbar's History panel does).
    "taskproject.middleware.RequestBodyLimitMiddleware",
    "taskproject.middleware.StaticFilesMiddleware",
    # Profilers go here (below): after the static files, so static files are never recorded.
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "taskproject.urls"
WSGI_APPLICATION = "taskproject.wsgi.application"
ASGI_APPLICATION = "taskproject.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

AUTH_USER_MODEL = "tasks.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- database ------------------------------------------------------------------------------
CONN_MAX_AGE = env.int("CONN_MAX_AGE", 60, minimum=0)
DB_POOL = env.bool("DB_POOL", False)
DB_POOL_MIN_SIZE = env.int("DB_POOL_MIN_SIZE", 2, minimum=0)
DB_POOL_MAX_SIZE = env.int("DB_POOL_MAX_SIZE", 10, minimum=1)
DB_POOL_TIMEOUT = env.float("DB_POOL_TIMEOUT", 10.0, minimum=0.1)
# The async endpoints' native connections (taskproject/asyncdb.py): at most this many per worker
# process (per event loop); a request waiting DB_POOL_TIMEOUT for one gets a 503.
DB_ASYNC_POOL_MAX_SIZE = env.int("DB_ASYNC_POOL_MAX_SIZE", 10, minimum=1)
if DB_POOL_MIN_SIZE > DB_POOL_MAX_SIZE:
    raise ImproperlyConfigured(
        f"DB_POOL_MIN_SIZE: {DB_POOL_MIN_SIZE} is larger than DB_POOL_MAX_SIZE ({DB_POOL_MAX_SIZE})"
    )
if DB_POOL:
    if env.is_set("CONN_MAX_AGE") and CONN_MAX_AGE != 0:
        raise ImproperlyConfigured(
            "CONN_MAX_AGE: must be 0 or unset when DB_POOL is on (the pool keeps connections)"
        )
    CONN_MAX_AGE = 0

DATABASE_URL = env.str("DATABASE_URL")
if DATABASE_URL:
    try:
        _default_db = dj_database_url.parse(DATABASE_URL)
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL: cannot parse it ({exc})") from None
    if _default_db.get("ENGINE") != "django.db.backends.postgresql":
        raise ImproperlyConfigured(
            "DATABASE_URL: must be a postgres:// or postgresql:// URL (this project runs on "
            "PostgreSQL only)"
        )
    # Django's backend with a health check that costs no round trip (taskproject/db_backend).
    _default_db["ENGINE"] = "taskproject.db_backend"
else:
    # The embedded server is a development convenience (make run, make test, the benchmarks). With
    # DEBUG off a forgotten DATABASE_URL must stop the process, not serve from a throwaway
    # database inside the container (issue 21).
    if not DEBUG and not env.bool("EMBEDDED_PG", False):
        raise ImproperlyConfigured(
            "DATABASE_URL: not set. With DEBUG off the app needs its PostgreSQL named "
            "(postgresql://USER:PASSWORD@HOST:5432/DBNAME); the embedded development server "
            "is used only with DEBUG=1 or EMBEDDED_PG=1."
        )
    _embedded = EmbeddedServer(base=DEFAULT_BASE)
    _default_db = {
        "ENGINE": "taskproject.embedded_backend",
        "EMBEDDED_DIR": str(_embedded.base),
        **_embedded.connection_settings(),
    }

_default_db["CONN_MAX_AGE"] = CONN_MAX_AGE
_default_db["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", True)
_default_db.setdefault("OPTIONS", {})
_default_db["OPTIONS"]["application_name"] = env.str("DB_APPLICATION_NAME", "taskproject")
# A down or unreachable server must fail a request in seconds, not hang a worker.
_default_db["OPTIONS"]["connect_timeout"] = env.int("DB_CONNECT_TIMEOUT", 5, minimum=1)
# Web processes (wsgi.py / asgi.py set TASKPROJECT_WEB=1) get a statement timeout, so one
# pathological query cannot hold a worker forever; management commands (migrate, seeddata's
# index builds) are not limited.
DB_STATEMENT_TIMEOUT_MS = env.int("DB_STATEMENT_TIMEOUT_MS", 10_000, minimum=0)
TASKPROJECT_WEB = env.bool("TASKPROJECT_WEB", False)
# Behind a transaction pooler (PgBouncer pool_mode = transaction) consecutive transactions of one
# Django connection run on different server connections, shared with other clients: nothing may
# rely on session state, and the pooler refuses the `options` startup parameter. See
# docs/scaling.md, "Behind PgBouncer".
DB_TRANSACTION_POOLER = env.bool("DB_TRANSACTION_POOLER", False)
if DB_TRANSACTION_POOLER:
    if DB_POOL:
        raise ImproperlyConfigured(
            "DB_POOL and DB_TRANSACTION_POOLER: both on is double pooling (Django's pool would "
            "hold pooler client connections the pooler already multiplexes). Unset DB_POOL and "
            "keep persistent connections (CONN_MAX_AGE) to the pooler."
        )
    if not DATABASE_URL:
        raise ImproperlyConfigured(
            "DB_TRANSACTION_POOLER: set DATABASE_URL to the pooler's address (the embedded "
            "server is always reached directly)"
        )
    for _name in ("options", "server_side_binding"):
        if _default_db["OPTIONS"].get(_name):
            raise ImproperlyConfigured(
                f"DATABASE_URL: ?{_name}= cannot be used with DB_TRANSACTION_POOLER (a "
                "transaction pooler refuses startup options and breaks prepared statements)"
            )
    # Server-side cursors (.iterator()) are DECLAREd in one transaction and fetched from later:
    # off, .iterator() then fetches client-side. Django's psycopg backend binds parameters
    # client-side (ClientCursor, never PREPARE); prepare_threshold=None keeps any raw psycopg
    # cursor from preparing too.
    _default_db["DISABLE_SERVER_SIDE_CURSORS"] = True
    _default_db["OPTIONS"]["prepare_threshold"] = None
# A token-authenticated GET of a task page or of one's own statistics finds the token and reads
# the data in one statement (tasks.selectors.token_page_sql): one round trip instead of two.
# Off for a sharded deployment (Citus, docs/scaling.md), where each statement should name the
# owner; with read replicas the sync path keeps two statements (token on the primary, the page
# on a replica).
DB_MERGED_TOKEN_READS = env.bool("DB_MERGED_TOKEN_READS", True)
# The web statement timeout: a startup parameter when connecting directly (costs no round trip);
# behind a transaction pooler, SET LOCAL at the start of every transaction the app opens
# (taskproject/pooler.py) plus the role-level default operators set for the pooler's login role
# (ALTER ROLE ... SET statement_timeout, docs/scaling.md) for autocommit statements.
DB_STATEMENT_TIMEOUT_LOCAL_MS = 0
if TASKPROJECT_WEB and DB_STATEMENT_TIMEOUT_MS:
    if DB_TRANSACTION_POOLER:
        DB_STATEMENT_TIMEOUT_LOCAL_MS = DB_STATEMENT_TIMEOUT_MS
    else:
        _default_db["OPTIONS"]["options"] = f"-c statement_timeout={DB_STATEMENT_TIMEOUT_MS}"
if not DB_TRANSACTION_POOLER:
    # Only server-binding cursors prepare (taskproject/db_backend: the hot fixed statements);
    # Django's own cursors bind client-side and never do.
    _default_db["OPTIONS"].setdefault("prepare_threshold", 5)
if DB_POOL:
    _default_db["OPTIONS"]["pool"] = {
        "min_size": DB_POOL_MIN_SIZE,
        "max_size": DB_POOL_MAX_SIZE,
        "timeout": DB_POOL_TIMEOUT,
    }
DATABASES = {"default": _default_db}

# --- read replicas (taskproject/replicas.py, docs/scaling.md "Read replicas") -----------------
DATABASE_REPLICA_URLS = env.list("DATABASE_REPLICA_URLS", [])
# A replica further behind than this is skipped (reads go to the primary) until it catches up.
DB_REPLICA_MAX_LAG_MS = env.int("DB_REPLICA_MAX_LAG_MS", 5_000, minimum=0)
# A replica that failed is not tried again for this long.
DB_REPLICA_RETRY_SECONDS = env.float("DB_REPLICA_RETRY_SECONDS", 5.0, minimum=0.1)
# Each process re-reads a replica's replay position and lag at most this often.
DB_REPLICA_STATUS_MS = env.int("DB_REPLICA_STATUS_MS", 100, minimum=1)
# Add X-Read-Alias (the alias this request read from) to responses: for operators and the tests.
DB_REPLICA_DEBUG_HEADER = env.bool("DB_REPLICA_DEBUG_HEADER", False)
REPLICA_ALIASES = []
for _number, _url in enumerate(DATABASE_REPLICA_URLS, start=1):
    try:
        _replica = dj_database_url.parse(_url)
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"DATABASE_REPLICA_URLS: cannot parse {_url!r} ({exc})"
        ) from None
    if _replica.get("ENGINE") != "django.db.backends.postgresql":
        raise ImproperlyConfigured(
            f"DATABASE_REPLICA_URLS: {_url!r} is not a postgres:// or postgresql:// URL"
        )
    _alias = f"replica_{_number}"
    DATABASES[_alias] = {
        **_replica,
        "ENGINE": "taskproject.db_backend",
        "CONN_MAX_AGE": _default_db["CONN_MAX_AGE"],
        "CONN_HEALTH_CHECKS": _default_db["CONN_HEALTH_CHECKS"],
        "DISABLE_SERVER_SIDE_CURSORS": _default_db.get("DISABLE_SERVER_SIDE_CURSORS", False),
        "OPTIONS": {**_default_db["OPTIONS"], **_replica.get("OPTIONS", {})},
        # Tests (and Django's test runner) treat it as the primary's mirror, not a database to
        # create.
        "TEST": {"MIRROR": "default"},
    }
    REPLICA_ALIASES.append(_alias)
if REPLICA_ALIASES:
    if DB_POOL:
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URLS with DB_POOL: not supported (each replica would need its own "
            "pool sizing); use persistent connections (CONN_MAX_AGE)"
        )
    DATABASE_ROUTERS = ["taskproject.replicas.ReplicaRouter"]

# --- cache ---------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL")
if REDIS_URL:
    if not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(
            f"REDIS_URL: expected redis://, rediss:// or unix://, got {REDIS_URL!r}"
        )
    CACHES = {
        "default": {
            # Django's Redis cache behind a per-process breaker: Redis down, hung or restarted
            # costs speed, never a request (taskproject/rediscache.py, docs/operations.md).
            "BACKEND": "taskproject.rediscache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", "taskproject"),
            "OPTIONS": {
                # Connect and read timeout of every Redis call (redis-py's default is 5 s).
                "timeout": env.int("REDIS_TIMEOUT_MS", 50, minimum=1) / 1000,
                # After a failure: Redis skipped, and asked again this often, in each process.
                "retry_seconds": env.float("REDIS_RETRY_SECONDS", 2.0, minimum=0.1),
            },
        }
    }
    # Sessions shared by every app server: read from Redis, written through to the database
    # (a Redis restart or eviction logs nobody out).
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "taskproject",
        }
    }
    if REPLICA_ALIASES:
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URLS needs REDIS_URL: read-your-writes keeps each user's last "
            "write position (LSN) in a cache every app process shares"
        )

# Mount the deliberately naive seed baselines at /bench/baseline/ (benchmarks only).
BENCHMARK_BASELINES = env.bool("BENCHMARK_BASELINES", False)

# --- profiling: django-silk (staff only) and django-debug-toolbar (DEBUG only) ---------------
LOGIN_URL = "admin:login"
SILK_ENABLED = env.bool("SILK_ENABLED", False)
if SILK_ENABLED:
    INSTALLED_APPS += ["silk"]
    # After the static files (they never reach it), before sessions and auth: silk sees and
    # times everything below. Our subclass records every SQL statement (raw cursors too) from an
    # execute_wrapper instead of silk's ORM-compiler patch, and masks response bodies that hold
    # a credential (taskproject/profiling.py, taskproject/silk.py).
    SILKY_MIDDLEWARE_CLASS = "taskproject.profiling.SilkMiddleware"  # silk checks it is there
    MIDDLEWARE.insert(
        MIDDLEWARE.index("taskproject.middleware.StaticFilesMiddleware") + 1, SILKY_MIDDLEWARE_CLASS
    )
    # Silk's defaults leave /silk/ open to anyone; require a logged-in staff user.
    SILKY_AUTHENTICATION = True
    SILKY_AUTHORISATION = True
    SILKY_PERMISSIONS = lambda user: user.is_staff  # noqa: E731
    SILKY_PYTHON_PROFILER = env.bool("SILK_PYTHON_PROFILER", False)
    SILKY_INTERCEPT_PERCENT = env.int("SILK_SAMPLE_PERCENT", 100, minimum=0, maximum=100)
    SILKY_MAX_RECORDED_REQUESTS = env.int("SILK_MAX_RECORDED_REQUESTS", 10_000, minimum=1)
    SILKY_MAX_RECORDED_REQUESTS_CHECK_PERCENT = 10
    SILKY_META = True  # silk records its own overhead per request
    # Masked in recorded request headers and in request/response body keys. Silk's defaults
    # (which also cover "password" and "token"), named here so a reader sees what is masked.
    SILKY_SENSITIVE_KEYS = {"username", "api", "token", "key", "secret", "password", "signature"}
    SILKY_HIDE_COOKIES = True

# The toolbar is a development requirement (requirements-dev.txt): on by default with DEBUG when
# installed, so DEBUG=1 in the production image (which lacks it) still starts.
DEBUG_TOOLBAR = DEBUG and env.bool("DEBUG_TOOLBAR", find_spec("debug_toolbar") is not None)
if DEBUG_TOOLBAR:
    INSTALLED_APPS += ["debug_toolbar"]
    # After the body limit (its History panel reads request.body, which would turn our 413
    # into Django's HTML 400) and the static files (they need no toolbar).
    MIDDLEWARE.insert(
        MIDDLEWARE.index("taskproject.middleware.StaticFilesMiddleware") + 1,
        "debug_toolbar.middleware.DebugToolbarMiddleware",
    )
    # The toolbar only ever shows for requests from these addresses.
    INTERNAL_IPS = ["127.0.0.1", "::1"]
    # The toolbar's default panels; those that record request data mask credentials before
    # storing them (passwords, tokens, session keys: taskproject/toolbar.py).
    DEBUG_TOOLBAR_PANELS = [
        "taskproject.toolbar.HistoryPanel",
        "debug_toolbar.panels.versions.VersionsPanel",
        "debug_toolbar.panels.timer.TimerPanel",
        "debug_toolbar.panels.settings.SettingsPanel",
        "taskproject.toolbar.HeadersPanel",
        "taskproject.toolbar.RequestPanel",
        "taskproject.toolbar.SQLPanel",
        "debug_toolbar.panels.staticfiles.StaticFilesPanel",
        "taskproject.toolbar.TemplatesPanel",
        "debug_toolbar.panels.alerts.AlertsPanel",
        "debug_toolbar.panels.cache.CachePanel",
        "debug_toolbar.panels.signals.SignalsPanel",
        "debug_toolbar.panels.tasks.TasksPanel",
        "debug_toolbar.panels.community.CommunityPanel",
        "debug_toolbar.panels.redirects.RedirectsPanel",
        "debug_toolbar.panels.profiling.ProfilingPanel",
    ]
    DEBUG_TOOLBAR_CONFIG = {
        # A tab at the edge, not a panel over the page's right-hand columns.
        "SHOW_COLLAPSED": True,
    }

# --- security --------------------------------------------------------------------------------
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", False)
if env.bool("SECURE_PROXY_SSL_HEADER", False):
    # Behind a TLS-terminating proxy that sets X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"
# Health checks (Docker's HEALTHCHECK, load balancers) probe over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^health/$"]

# --- logging ---------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(
        f"LOG_LEVEL: expected DEBUG/INFO/WARNING/ERROR/CRITICAL, got {LOG_LEVEL!r}"
    )
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # One line per client error: the server's access log has it (taskproject/logfilters.py).
    "filters": {"client_errors": {"()": "taskproject.logfilters.ClientErrorFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["client_errors"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
}

# --- api (tasks) -----------------------------------------------------------------------------
# The Task API (tasks/urls.py, docs/api.md): DRF with token + session auth, orjson rendering,
# OpenAPI schema with a docs UI whose assets come from drf-spectacular-sidecar (no CDN).
INSTALLED_APPS += ["drf_spectacular", "drf_spectacular_sidecar"]

REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header makes unauthenticated requests 401, not 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tasks.authentication.FastTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "tasks.renderers.ORJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    # DRF's, with the common case (no format override, Accept */* or JSON) answered unparsed.
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "tasks.renderers.ContentNegotiation",
    # drf-spectacular's, plus the error responses each view can give (tasks/schema.py).
    "DEFAULT_SCHEMA_CLASS": "tasks.schema.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "taskproject Task API",
    "DESCRIPTION": "Owner-scoped tasks on PostgreSQL; see docs/api.md for query counts.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
# API tokens (tasks.tokens, docs/operations.md "Credentials"): how long a token issued by
# POST /api/auth/token/ lives. Tokens are stored as SHA-256 digests and revocable at any time.
API_TOKEN_TTL = env.duration("API_TOKEN_TTL", timedelta(days=30), minimum=timedelta(minutes=1))
# Cache global statistics only when the cache is shared by every worker process (Redis): the
# default local-memory cache is per process, so a write handled by one gunicorn worker could
# not invalidate another worker's copy, and the writer's next request might read stale figures.
API_STATS_CACHE = env.bool("API_STATS_CACHE", bool(REDIS_URL))
# Seconds the global statistics stay cached (every app write path invalidates them at once;
# this only bounds staleness after writes made outside the app, e.g. psql).
API_STATS_CACHE_SECONDS = env.int("API_STATS_CACHE_SECONDS", 60, minimum=1)
# GET /api/users/summaries/?ids=1&ids=2... takes up to 1000 ids; Django's default cap of 1000
# query fields would reject a full request before the view could answer with a named 400.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000

# --- api: input limits and throttling (issue 7; limits table in docs/api.md) -----------------
# Larger request bodies get a 413 JSON before parsing (taskproject.middleware). Django's own
# default (2.5 MiB): a full bulk request (1000 tasks) fits unless descriptions are long.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("MAX_REQUEST_BODY_BYTES", 2_621_440, minimum=1024)
# Per user (per client address for the anonymous token endpoint); "off" disables one.
# tasks/throttling.py reads these at request time.
API_THROTTLE_RATES = {
    "auth": env.rate("API_THROTTLE_AUTH_RATE", "20/min"),
    "bulk": env.rate("API_THROTTLE_BULK_RATE", "60/min"),
}
# Client address for throttling: REMOTE_ADDR unless told how many proxies append to
# X-Forwarded-For (DRF's default would trust a client-supplied X-Forwarded-For header).
REST_FRAMEWORK["NUM_PROXIES"] = env.int("API_NUM_PROXIES", 0, minimum=0)

# --- perfaudit -----------------------------------------------------------------------------
# Runtime detectors (perfaudit.runtime.PerfauditMiddleware): cheap enough to stay on; the
# repeated-query detector is off unless asked for ("log" in staging, "raise" in development).
PERFAUDIT = {
    "SLOW_QUERY_MS": env.float("PERFAUDIT_SLOW_QUERY_MS", 100.0),  # 0 turns the log off
    "REPEATED_QUERY_MODE": env.str("PERFAUDIT_REPEATED_QUERIES", "off").lower(),
    "REPEATED_QUERY_THRESHOLD": env.int("PERFAUDIT_REPEATED_THRESHOLD", 5, minimum=2),
    # Query counts and database time in every response's headers: for development, or when asked.
    "SERVER_TIMING": env.bool("PERFAUDIT_SERVER_TIMING", DEBUG),
    # dbconnections' headroom arithmetic: processes connecting x connections each.
    "APP_PROCESSES": env.int("PERFAUDIT_APP_PROCESSES", 2, minimum=1),
    "CONNECTIONS_PER_PROCESS": env.int("PERFAUDIT_CONNECTIONS_PER_PROCESS", 1, minimum=1),
}
if PERFAUDIT["REPEATED_QUERY_MODE"] not in {"off", "log", "raise"}:
    raise ImproperlyConfigured(
        "PERFAUDIT_REPEATED_QUERIES: expected off, log or raise, got "
        f"{PERFAUDIT['REPEATED_QUERY_MODE']!r}"
    )
# What perfaudit's dbconnections shows about a pooler in front (docs/perfaudit.md).
PERFAUDIT["TRANSACTION_POOLER"] = DB_TRANSACTION_POOLER
PERFAUDIT["POOLER_ADMIN_URL"] = env.str("PERFAUDIT_POOLER_ADMIN_URL") or None
# perfaudit's user-SQL boundary (docs/operations.md, "perfaudit security"): the role typed
# statements run as (`make run` creates perfaudit_sql with `manage.py perfauditrole`), and
# EXPLAIN ANALYZE on the admin page (unset: only with DEBUG).
PERFAUDIT["SQL_ROLE"] = env.str("PERFAUDIT_SQL_ROLE") or None
if env.is_set("PERFAUDIT_ADMIN_EXPLAIN_ANALYZE"):
    PERFAUDIT["ADMIN_EXPLAIN_ANALYZE"] = env.bool("PERFAUDIT_ADMIN_EXPLAIN_ANALYZE")
# First, so the queries of every later middleware (sessions, auth) are counted too.
MIDDLEWARE = ["perfaudit.runtime.PerfauditMiddleware", *MIDDLEWARE]
if REPLICA_ALIASES:
    # Before sessions/auth: it watches every statement of the request on the primary.
    MIDDLEWARE.insert(1, "taskproject.replicas.ReplicaRoutingMiddleware")
# Token-authenticated /api/ requests continue on a lean chain (taskproject.middleware): the
# middleware below TokenAPIMiddleware without the browser's four, and Django's pure-CPU ones
# replaced by subclasses that run inline under ASGI (no thread hop). Django's names stay in
# MIDDLEWARE for everything else, and for `check --deploy`, which looks for them by name.
MIDDLEWARE.insert(1, "taskproject.middleware.TokenAPIMiddleware")
TOKEN_API_SKIPPED_MIDDLEWARE = (
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
)
TOKEN_API_INLINE_MIDDLEWARE = {
    "django.middleware.security.SecurityMiddleware": "taskproject.middleware.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware": "taskproject.middleware.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware": (
        "taskproject.middleware.XFrameOptionsMiddleware"
    ),
}
# Its ready() installs the pooler-mode statement timeout (taskproject/pooler.py) when asked for.
INSTALLED_APPS += ["taskproject.apps.TaskprojectConfig"]
