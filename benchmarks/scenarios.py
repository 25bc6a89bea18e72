"""Scenario definitions: each pairs a baseline with our endpoint, measured side by side."""

from __future__ import annotations

from django.test import Client

from benchmarks.definitions import Scenario, Side

DEEP_ROWS = 50_000  # how deep the "deep page" scenarios read into the staff list
# ASGI as `make run-asgi` serves it: Django runs each request's sync DB work on a fresh thread,
# so without the pool every request would open (and leave behind) its own connection.
ASGI_SERVERS = {
    "sync": {},
    "asgi": {"_kind": "asgi", "DB_POOL": "1", "CONN_MAX_AGE": "0"},
}
FLOOR_APP = "benchmarks.floor_app:application"
# The app and the floor, each direct and through one PgBouncer (transaction mode, pool =
# workers): the two scenarios that use them are measured in the same rounds (benchmarks/run.py).
POOLER_SERVERS = {
    "direct": {},
    "pooled": {"_pgbouncer": "1"},
    "floor-direct": {"_app": FLOOR_APP},
    "floor-pooled": {"_app": FLOOR_APP, "_pgbouncer": "1"},
}
# Figures that divide one scenario's ratio by another's, measured in the same rounds: (name,
# what it says, numerator scenario, denominator scenario, goal).
RELATIVE = [
    (
        "pgbouncer-share",
        "share of direct throughput the app keeps through PgBouncer / the share the floor keeps",
        "pgbouncer",
        "pgbouncer-floor",
        0.9,
    ),
]


def _cursor_at_depth(token: str, rows: int) -> str:
    """Follow our keyset pagination to ``rows`` deep and return that page's URL."""
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    url = "/api/tasks/?scope=all&page_size=1000"
    for _ in range(rows // 1000):
        body = client.get(url).json()
        if not body.get("next"):
            break
        url = body["next"].split("testserver", 1)[-1]
    return url.replace("page_size=1000", "page_size=50")


def build(profile, info, only: set[str] | None = None) -> list[Scenario]:
    ids = "&".join(f"ids={i}" for i in info.summary_ids)
    low, high = profile.low_connections, profile.high_connections
    deep = min(DEEP_ROWS, profile.tasks // 2)
    deep_page = deep // 50 + 1
    scenarios = [
        Scenario(
            "users-n+1",
            "Users with task counts: one COUNT per user (N+1) vs counting only the page's users",
            Side("seed N+1", "/bench/baseline/users-n1/", user="staff"),
            Side("ours", "/api/users/?page_size=50", user="staff"),
            low,
        ),
        Scenario(
            "users-groupby",
            "Users with task counts: GROUP BY over all tasks (the seed's 'good' query) vs ours",
            Side("seed GROUP BY", "/bench/baseline/users-groupby/", user="staff"),
            Side("ours", "/api/users/?page_size=50", user="staff"),
            low,
        ),
        Scenario(
            "summaries-20",
            "Per-user summaries for 20 users: one query per user vs one grouped query",
            Side("seed per-user", f"/bench/baseline/summaries/?{ids}", user="staff"),
            Side("ours", f"/api/users/summaries/?{ids}", user="staff"),
            low,
        ),
        Scenario(
            "stats-global",
            "Global statistics: aggregate every task per request vs maintained counters",
            Side("seed full scan", "/bench/baseline/stats/", user="staff"),
            Side("ours", "/api/tasks/stats/?scope=global", user="staff"),
            low,
        ),
        Scenario(
            "search-substring",
            "Owner's substring search: seed ILIKE title OR description vs trigram index",
            Side("seed ILIKE", "/bench/baseline/search/?q=roadmap"),
            Side("ours", "/api/tasks/search/?q=roadmap&mode=substring"),
            low,
        ),
        Scenario(
            "search-fulltext",
            "Owner's search: seed ILIKE vs ranked full-text search (GIN)",
            Side("seed ILIKE", "/bench/baseline/search/?q=roadmap"),
            Side("ours", "/api/tasks/search/?q=roadmap&mode=fulltext"),
            low,
        ),
        Scenario(
            "deep-page",
            f"Staff list {deep:,} rows deep: OFFSET + COUNT(*) vs keyset cursor",
            Side("OFFSET+COUNT", f"/bench/baseline/tasks-all/?page={deep_page}", user="staff"),
            Side(
                "ours",
                _cursor_at_depth(info.tokens["staff"], deep)
                if only is None or "deep-page" in only
                else "",
                user="staff",
            ),
            low,
        ),
        Scenario(
            "task-list",
            "GET own tasks, 50 per page: ListAPIView + ModelSerializer + COUNT vs ours",
            Side("ModelSerializer", "/bench/baseline/tasks/?page_size=50"),
            Side("ours", "/api/tasks/?page_size=50"),
            low,
        ),
        Scenario(
            "floor",
            "GET own tasks (50): bare psycopg + orjson WSGI app (the floor) vs our Django endpoint",
            Side("bare psycopg floor", "/api/tasks/", server="floor", in_process=False),
            Side("ours (Django+DRF)", "/api/tasks/?page_size=50"),
            low,
            servers={"sync": {}, "floor": {"_app": FLOOR_APP}},
        ),
        Scenario(
            "async-low",
            f"Sync (gunicorn sync) vs async (uvicorn worker) task list, {low} connections",
            Side("sync", "/api/tasks/?page_size=50"),
            Side("async", "/api/async/tasks/?page_size=50", server="asgi"),
            low,
            servers=ASGI_SERVERS,
        ),
        Scenario(
            "async-high",
            f"Sync vs async task list, {high} connections",
            Side("sync", "/api/tasks/?page_size=50"),
            Side("async", "/api/async/tasks/?page_size=50", server="asgi"),
            high,
            servers=ASGI_SERVERS,
        ),
        # The other async endpoints against their sync twins (the same user, the same data).
        Scenario(
            "async-stats",
            f"Sync vs async own statistics, {low} connections",
            Side("sync", "/api/tasks/stats/"),
            Side("async", "/api/async/tasks/stats/", server="asgi"),
            low,
            servers=ASGI_SERVERS,
        ),
        Scenario(
            "async-user-tasks",
            f"Sync vs async user's task list (staff reading a user), {low} connections",
            Side("sync", f"/api/users/{info.owner_id}/tasks/?page_size=50", user="staff"),
            Side(
                "async",
                f"/api/async/users/{info.owner_id}/tasks/?page_size=50",
                user="staff",
                server="asgi",
            ),
            low,
            servers=ASGI_SERVERS,
        ),
        Scenario(
            "async-summaries",
            f"Sync vs async summaries of 20 users, {low} connections",
            Side("sync", f"/api/users/summaries/?{ids}", user="staff"),
            Side("async", f"/api/async/users/summaries/?{ids}", user="staff", server="asgi"),
            low,
            servers=ASGI_SERVERS,
        ),
        Scenario(
            "conn-persistent",
            "Connection per request (CONN_MAX_AGE=0) vs persistent (CONN_MAX_AGE=60)",
            Side("CONN_MAX_AGE=0", "/api/tasks/?page_size=50", server="none"),
            Side("CONN_MAX_AGE=60", "/api/tasks/?page_size=50", server="persistent"),
            low,
            servers={"none": {"CONN_MAX_AGE": "0"}, "persistent": {"CONN_MAX_AGE": "60"}},
        ),
        Scenario(
            "conn-pool",
            "Connection per request (CONN_MAX_AGE=0) vs Django's psycopg pool",
            Side("CONN_MAX_AGE=0", "/api/tasks/?page_size=50", server="none"),
            Side("psycopg pool", "/api/tasks/?page_size=50", server="pool"),
            low,
            servers={
                "none": {"CONN_MAX_AGE": "0"},
                "pool": {
                    "DB_POOL": "1",
                    "CONN_MAX_AGE": "0",
                    "DB_POOL_MIN_SIZE": "2",
                    "DB_POOL_MAX_SIZE": "4",
                },
            },
        ),
        # Deployment shapes (docs/scaling.md): the same endpoint and workers, direct vs through
        # PgBouncer in transaction mode (pool = workers), and primary-only vs reads routed to a
        # streaming replica on the same machine (router + Redis cost; no extra capacity here).
        Scenario(
            "pgbouncer",
            "GET own tasks: direct to PostgreSQL vs through PgBouncer (transaction mode)",
            Side("direct", "/api/tasks/?page_size=50", server="direct"),
            Side("pgbouncer", "/api/tasks/?page_size=50", server="pooled"),
            low,
            servers=POOLER_SERVERS,
        ),
        Scenario(
            "pgbouncer-floor",
            "The bare psycopg floor: direct vs through the same PgBouncer (the pooler's own cost)",
            Side("floor direct", "/api/tasks/", server="floor-direct", in_process=False),
            Side("floor pgbouncer", "/api/tasks/", server="floor-pooled", in_process=False),
            low,
            servers=POOLER_SERVERS,
        ),
        Scenario(
            "replica-reads",
            "GET own tasks: primary only vs reads routed to a streaming replica",
            Side("primary only", "/api/tasks/?page_size=50", server="primary"),
            Side("replica reads", "/api/tasks/?page_size=50", server="replica"),
            low,
            servers={"primary": {}, "replica": {"_replica": "1"}},
        ),
        # django-silk's cost (docs/perfaudit.md, "django-silk"): the same endpoint, the same
        # workers, silk installed and recording every request (or a 10 % sample) vs silk off.
        Scenario(
            "silk-all",
            "GET own tasks: silk recording every request vs silk off",
            Side("silk 100 %", "/api/tasks/?page_size=50", server="silk"),
            Side("silk off", "/api/tasks/?page_size=50", server="off"),
            low,
            servers={
                "silk": {"SILK_ENABLED": "1", "SILK_SAMPLE_PERCENT": "100"},
                "off": {"SILK_ENABLED": "0"},
            },
        ),
        Scenario(
            "silk-sampled",
            "GET own tasks: silk recording a 10 % sample vs silk off",
            Side("silk 10 %", "/api/tasks/?page_size=50", server="silk"),
            Side("silk off", "/api/tasks/?page_size=50", server="off"),
            low,
            servers={
                "silk": {"SILK_ENABLED": "1", "SILK_SAMPLE_PERCENT": "10"},
                "off": {"SILK_ENABLED": "0"},
            },
        ),
    ]
    return [s for s in scenarios if only is None or s.name in only]
