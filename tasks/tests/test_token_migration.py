"""Migration 0003: DRF authtoken keys become hashed tokens (clients keep working), the plain
table is gone; and a fresh database migrates from zero with no authtoken table at all."""

import hashlib
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.utils import timezone

from tasks.models import ApiToken

ROOT = Path(__file__).resolve().parents[2]
BEFORE = [("tasks", "0002_taskcounter")]
# What rest_framework.authtoken's migrations created (``sqlmigrate authtoken 0001``, DRF 3.18).
AUTHTOKEN_DDL = """
CREATE TABLE "authtoken_token" ("key" varchar(40) NOT NULL PRIMARY KEY,
    "created" timestamp with time zone NOT NULL, "user_id" bigint NOT NULL UNIQUE);
ALTER TABLE "authtoken_token" ADD CONSTRAINT "authtoken_token_user_id_35299eff_fk_tasks_user_id"
    FOREIGN KEY ("user_id") REFERENCES "tasks_user" ("id") DEFERRABLE INITIALLY DEFERRED;
CREATE INDEX "authtoken_token_key_10f0b77e_like" ON "authtoken_token" ("key" varchar_pattern_ops);
"""


def tables() -> set[str]:
    return set(connection.introspection.table_names())


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


@pytest.fixture
def before_hashed_tokens(transactional_db):
    migrate(BEFORE)
    yield
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def test_existing_authtoken_keys_keep_working_and_the_plain_table_is_gone(
    before_hashed_tokens, settings
):
    assert "tasks_apitoken" not in tables()
    keys = {"legacy-a": "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", "legacy-b": "f" * 40}
    with connection.cursor() as cursor:
        cursor.execute(AUTHTOKEN_DDL)
        ids = {}
        for username, key in keys.items():
            cursor.execute(
                "INSERT INTO tasks_user (password, is_superuser, username, is_staff, is_active, "
                "date_joined, full_name, email, created_at) VALUES ('!', false, %s, false, true, "
                "now(), '', '', now()) RETURNING id",
                [username],
            )
            ids[username] = cursor.fetchone()[0]
            cursor.execute(
                "INSERT INTO authtoken_token (key, created, user_id) "
                "VALUES (%s, now() - interval '400 days', %s)",
                [key, ids[username]],
            )
        # The app's content type, permission and migration records, as a real install has.
        cursor.execute(
            "INSERT INTO django_content_type (app_label, model) VALUES ('authtoken', 'token') "
            "RETURNING id"
        )
        cursor.execute(
            "INSERT INTO auth_permission (name, content_type_id, codename) "
            "VALUES ('Can add Token', %s, 'add_token')",
            [cursor.fetchone()[0]],
        )
        cursor.execute(
            "INSERT INTO django_migrations (app, name, applied) "
            "VALUES ('authtoken', '0001_initial', now())"
        )

    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    assert "authtoken_token" not in tables()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM django_content_type WHERE app_label = 'authtoken'")
        assert cursor.fetchone()[0] == 0
        cursor.execute("SELECT count(*) FROM django_migrations WHERE app = 'authtoken'")
        assert cursor.fetchone()[0] == 0
    for username, key in keys.items():
        token = ApiToken.objects.get(user_id=ids[username])
        assert token.digest == hashlib.sha256(key.encode()).hexdigest()
        assert token.prefix == key[:8]
        assert timezone.now() - token.created > timedelta(days=399)  # creation date kept
        # Old keys never expired: they get API_TOKEN_TTL from the migration, not from creation.
        left = token.expires_at - timezone.now()
        assert settings.API_TOKEN_TTL - timedelta(hours=1) < left <= settings.API_TOKEN_TTL
        # The client holding the old key keeps working.
        response = Client().get("/api/tasks/", headers={"Authorization": f"Token {key}"})
        assert response.status_code == 200, response.content
    # No column anywhere holds a key in plain text any more.
    assert_nowhere(list(keys.values()))


def assert_nowhere(needles):
    with connection.cursor() as cursor:
        cursor.execute(
            # Tables only: the pg_stat_statements view errors where it is not preloaded.
            "SELECT table_name, column_name FROM information_schema.columns "
            "JOIN information_schema.tables USING (table_schema, table_name) "
            "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND data_type IN "
            "('text', 'character varying', 'character', 'json', 'jsonb')"
        )
        for table, column in cursor.fetchall():
            for needle in needles:
                cursor.execute(
                    f'SELECT count(*) FROM "{table}" WHERE strpos("{column}"::text, %s) > 0',
                    [needle],
                )
                assert cursor.fetchone()[0] == 0, (table, column)


def _scratch_url(dbname: str) -> str:
    s = connection.settings_dict
    user = quote(s.get("USER") or "postgres", safe="")
    password = f":{quote(s['PASSWORD'], safe='')}" if s.get("PASSWORD") else ""
    host = quote(str(s.get("HOST") or "localhost"), safe="")
    return f"postgresql://{user}{password}@{host}:{s.get('PORT') or 5432}/{dbname}"


@pytest.mark.django_db
def test_a_fresh_database_migrates_from_zero(tmp_path):
    """``manage.py migrate`` on an empty database: no authtoken table is ever created."""
    name = f"test_fresh_tokens_{os.getpid()}"
    admin_url = _scratch_url("postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        env = {**os.environ, "DATABASE_URL": _scratch_url(name), "DEBUG": "0"}
        result = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        with psycopg.connect(_scratch_url(name)) as conn:
            names = {
                row[0]
                for row in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                ).fetchall()
            }
            triggers = conn.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = 'tasks_user'::regclass "
                "AND NOT tgisinternal"
            ).fetchall()
        assert "tasks_apitoken" in names and "authtoken_token" not in names
        assert ("tasks_user_deactivated",) in triggers
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
