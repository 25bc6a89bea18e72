"""Deployment settings (issue 10): the pooler flag, replicas, shared sessions; refusals name
the variables."""

import json

import pytest

from taskproject.tests.test_settings import load_settings

POOLER_URL = "postgresql://app@127.0.0.1:6432/app"
REPLICA = "postgresql://app@10.0.0.2:5432/app"
PRINT = (
    "import json; from django.conf import settings as s; "
    "print(json.dumps({'default': s.DATABASES['default'], "
    "'replica': s.DATABASES.get('replica_1'), 'routers': s.DATABASE_ROUTERS, "
    "'session': s.SESSION_ENGINE, 'local_ms': s.DB_STATEMENT_TIMEOUT_LOCAL_MS, "
    "'middleware': s.MIDDLEWARE, 'pooler': s.DB_TRANSACTION_POOLER}, default=str))"
)


@pytest.mark.parametrize(
    ("overrides", "names"),
    [
        (
            {"DATABASE_URL": POOLER_URL, "DB_TRANSACTION_POOLER": "1", "DB_POOL": "1"},
            ("DB_POOL", "DB_TRANSACTION_POOLER"),
        ),
        ({"DB_TRANSACTION_POOLER": "1"}, ("DB_TRANSACTION_POOLER", "DATABASE_URL")),
        (
            {
                "DATABASE_URL": POOLER_URL + "?options=-c%20work_mem%3D1MB",
                "DB_TRANSACTION_POOLER": "1",
            },
            ("DATABASE_URL", "options", "DB_TRANSACTION_POOLER"),
        ),
        ({"DATABASE_URL": POOLER_URL, "DATABASE_REPLICA_URLS": REPLICA}, ("REDIS_URL",)),
        (
            {
                "DATABASE_URL": POOLER_URL,
                "DATABASE_REPLICA_URLS": "mysql://x@y/z",
                "REDIS_URL": "redis://127.0.0.1:6379/10",
            },
            ("DATABASE_REPLICA_URLS",),
        ),
        ({"DB_REPLICA_MAX_LAG_MS": "soon"}, ("DB_REPLICA_MAX_LAG_MS",)),
    ],
)
def test_refusals_name_the_variables(overrides, names):
    result = load_settings(**overrides)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert "ImproperlyConfigured" in last
    for name in names:
        assert name in last, last


def test_pooler_mode_web_process_has_no_startup_options():
    result = load_settings(
        PRINT, DATABASE_URL=POOLER_URL, DB_TRANSACTION_POOLER="1", TASKPROJECT_WEB="1"
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    default = found["default"]
    assert "options" not in default["OPTIONS"]
    assert default["OPTIONS"]["prepare_threshold"] is None
    assert default["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert found["local_ms"] == 10_000  # SET LOCAL in the app's transactions
    # Direct, the same web process keeps the startup parameter and no SET LOCAL.
    direct = json.loads(load_settings(PRINT, DATABASE_URL=POOLER_URL, TASKPROJECT_WEB="1").stdout)
    assert direct["default"]["OPTIONS"]["options"] == "-c statement_timeout=10000"
    assert direct["local_ms"] == 0


def test_replicas_configure_router_middleware_and_shared_sessions():
    result = load_settings(
        PRINT,
        DATABASE_URL=POOLER_URL,
        DATABASE_REPLICA_URLS=REPLICA,
        REDIS_URL="redis://127.0.0.1:6379/10",
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["routers"] == ["taskproject.replicas.ReplicaRouter"]
    assert found["replica"]["HOST"] == "10.0.0.2"
    assert found["replica"]["TEST"] == {"MIRROR": "default"}
    assert found["replica"]["OPTIONS"]["application_name"] == "taskproject"
    assert "taskproject.replicas.ReplicaRoutingMiddleware" in found["middleware"]
    assert found["session"] == "django.contrib.sessions.backends.cached_db"
