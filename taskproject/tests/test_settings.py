"""Settings read from the environment fail loudly, naming the variable."""

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from taskproject.env import Env

ROOT = Path(__file__).resolve().parents[2]
PRINT_DB = (
    "import json, django; from django.conf import settings; "
    "d = settings.DATABASES['default']; "
    "print(json.dumps({k: d.get(k) for k in ('ENGINE', 'NAME', 'HOST', 'CONN_MAX_AGE', "
    "'CONN_HEALTH_CHECKS', 'OPTIONS')}, default=str))"
)


def load_settings(code: str = PRINT_DB, **overrides):
    """Import the settings in a fresh interpreter with ``overrides`` in its environment."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DB_POOL"}}
    env.update({"DJANGO_SETTINGS_MODULE": "taskproject.settings", "DEBUG": "1"})
    env.pop("SECRET_KEY", None)
    env.update(overrides)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"CONN_MAX_AGE": "sixty"}, "CONN_MAX_AGE"),
        ({"CONN_MAX_AGE": "-1"}, "CONN_MAX_AGE"),
        ({"DB_POOL": "maybe"}, "DB_POOL"),
        ({"DB_POOL": "1", "DB_POOL_MAX_SIZE": "0"}, "DB_POOL_MAX_SIZE"),
        ({"DB_POOL": "1", "DB_POOL_MIN_SIZE": "x"}, "DB_POOL_MIN_SIZE"),
        ({"DB_POOL": "1", "DB_POOL_MIN_SIZE": "20", "DB_POOL_MAX_SIZE": "5"}, "DB_POOL_MIN_SIZE"),
        ({"DB_POOL": "1", "DB_POOL_TIMEOUT": "soon"}, "DB_POOL_TIMEOUT"),
        ({"DB_POOL": "1", "CONN_MAX_AGE": "60"}, "CONN_MAX_AGE"),
        ({"DATABASE_URL": "mysql://root@localhost/x"}, "DATABASE_URL"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL"),
        ({"REDIS_URL": "redis://r:6379/0", "REDIS_TIMEOUT_MS": "0"}, "REDIS_TIMEOUT_MS"),
        ({"REDIS_URL": "redis://r:6379/0", "REDIS_TIMEOUT_MS": "fast"}, "REDIS_TIMEOUT_MS"),
        ({"REDIS_URL": "redis://r:6379/0", "REDIS_RETRY_SECONDS": "0"}, "REDIS_RETRY_SECONDS"),
        ({"REDIS_URL": "redis://r:6379/0", "REDIS_RETRY_SECONDS": "nan"}, "REDIS_RETRY_SECONDS"),
        ({"REDIS_URL": "redis://r:6379/0", "REDIS_RETRY_SECONDS": "inf"}, "REDIS_RETRY_SECONDS"),
        ({"DEBUG": "0"}, "SECRET_KEY"),
        ({"DEBUG": "0", "SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"DEBUG": "perhaps"}, "DEBUG"),
        ({"API_THROTTLE_AUTH_RATE": "20 per minute"}, "API_THROTTLE_AUTH_RATE"),
        ({"API_THROTTLE_BULK_RATE": "0/min"}, "API_THROTTLE_BULK_RATE"),
        ({"MAX_REQUEST_BODY_BYTES": "2MB"}, "MAX_REQUEST_BODY_BYTES"),
        ({"API_NUM_PROXIES": "-1"}, "API_NUM_PROXIES"),
        ({"API_TOKEN_TTL": "a month"}, "API_TOKEN_TTL"),
        ({"API_TOKEN_TTL": "30s"}, "API_TOKEN_TTL"),
    ],
)
def test_bad_values_stop_the_process_naming_the_variable(overrides, variable):
    result = load_settings(**overrides)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"{variable}:" in result.stderr


def test_defaults_use_the_embedded_server_with_persistent_connections():
    result = load_settings()
    assert result.returncode == 0, result.stderr
    db = json.loads(result.stdout)
    assert db["ENGINE"] == "taskproject.embedded_backend"
    assert db["CONN_MAX_AGE"] == 60
    assert db["CONN_HEALTH_CHECKS"] is True
    assert "pool" not in db["OPTIONS"]


def test_database_url_replaces_the_embedded_server():
    result = load_settings(DATABASE_URL="postgresql://app:pw@db.internal:6543/tasks")
    assert result.returncode == 0, result.stderr
    db = json.loads(result.stdout)
    assert db["ENGINE"] == "taskproject.db_backend"
    assert (db["NAME"], db["HOST"]) == ("tasks", "db.internal")


def test_pool_switch_configures_djangos_psycopg_pool():
    result = load_settings(
        DB_POOL="1", DB_POOL_MIN_SIZE="1", DB_POOL_MAX_SIZE="7", DB_POOL_TIMEOUT="2.5"
    )
    assert result.returncode == 0, result.stderr
    db = json.loads(result.stdout)
    assert db["OPTIONS"]["pool"] == {"min_size": 1, "max_size": 7, "timeout": 2.5}
    assert db["CONN_MAX_AGE"] == 0  # Django refuses persistent connections with a pool


def test_strong_secret_key_with_debug_off_is_accepted():
    result = load_settings(DEBUG="0", SECRET_KEY="k" * 30 + "abcdefghijklmnopqrstuvwxyz")
    assert result.returncode == 0, result.stderr


def test_env_reader_messages():
    env = Env({"N": "12", "B": "yes", "L": "a, b,,c"})
    assert env.int("N", 0, maximum=20) == 12
    assert env.bool("B") is True
    assert env.list("L", []) == ["a", "b", "c"]
    with pytest.raises(ImproperlyConfigured, match="N: must be <= 10"):
        env.int("N", 0, maximum=10)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("", "7/min"), ("20/min", "20/min"), ("5/S", "5/s"), ("100/hour", "100/hour"), ("off", None)],
)
def test_throttle_rates(raw, expected):
    assert Env({"RATE": raw}).rate("RATE", "7/min") == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", timedelta(days=30)),
        ("3600", timedelta(hours=1)),
        ("90s", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("12H", timedelta(hours=12)),
        ("7d", timedelta(days=7)),
    ],
)
def test_durations(raw, expected):
    env = Env({"TTL": raw})
    assert env.duration("TTL", timedelta(days=30), minimum=timedelta(minutes=1)) == expected


def test_api_token_ttl_setting():
    code = "from django.conf import settings; print(settings.API_TOKEN_TTL.total_seconds())"
    assert load_settings(code).stdout.strip() == str(30 * 86400.0)
    assert load_settings(code, API_TOKEN_TTL="2h").stdout.strip() == "7200.0"
