"""No credential readable at rest: with silk recording every request, take tokens, use them on
sync and async endpoints and the browsable API, log in to the admin; then no text, JSON or bytea
column of any table holds a secret or a password, in plain text or in a common encoding (silk
keeps raw response bodies in base64), nor does any statement sent to the database or any
perfaudit log record. The token still works afterwards, and gets 401 once revoked."""

import base64
import logging
from urllib.parse import quote, urlencode

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.test import AsyncClient, Client
from django.test.utils import CaptureQueriesContext as Queries
from silk.collector import DataCollector
from silk.config import SilkyConfig
from silk.models import Request as SilkRequest
from silk.models import SQLQuery

from tasks import tokens
from tasks.models import ApiToken

pytestmark = pytest.mark.django_db

TITLE = "Quarterly at-rest probe"  # a value silk does record: the scan's positive control


def encodings(value: str) -> set[str]:
    """``value`` as it could sit in a column: plain, URL-encoded, hex, and base64 (standard and
    URL-safe) at each of the three alignments it can have inside a longer encoded body."""
    raw = value.encode()
    found = {value, quote(value, safe=""), raw.hex()}
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        for shift in range(3):
            text = encode(b"\0" * shift + raw).decode()
            # Drop the characters that also depend on the bytes around the value.
            found.add(text[4 if shift else 0 : -4])
    return found


def text_columns() -> list[tuple[str, str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "JOIN information_schema.tables USING (table_schema, table_name) "
            "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND data_type "
            "IN ('text', 'character varying', 'character', 'json', 'jsonb', 'bytea')"
        )
        return cursor.fetchall()


def where_found(needles: set[str]) -> list[tuple[str, str]]:
    """Every (table, column) holding any of ``needles``."""
    hits = []
    with connection.cursor() as cursor:
        for table, column, kind in text_columns():
            if kind == "bytea":
                condition = f'position(%s::bytea IN "{column}") > 0'
                params = [n.encode() for n in needles]
            else:
                condition = f'strpos("{column}"::text, %s) > 0'
                params = list(needles)
            for param in params:
                cursor.execute(f'SELECT 1 FROM "{table}" WHERE {condition} LIMIT 1', [param])
                if cursor.fetchone():
                    hits.append((table, column))
                    break
        # pg_stat_statements keeps query texts on disk across restarts (readable only when
        # the server preloads it: not on CI's PostgreSQL 15).
        cursor.execute(
            "SELECT to_regclass('pg_stat_statements') IS NOT NULL AND 'pg_stat_statements' = "
            "ANY(string_to_array(replace(current_setting('shared_preload_libraries'), ' ', ''), "
            "','))"
        )
        if cursor.fetchone()[0]:
            for needle in needles:
                cursor.execute(
                    "SELECT 1 FROM pg_stat_statements WHERE strpos(query, %s) > 0 LIMIT 1",
                    [needle],
                )
                if cursor.fetchone():
                    hits.append(("pg_stat_statements", "query"))
    return hits


@pytest.fixture
def silk_records_everything():
    config = SilkyConfig()
    before = config.attrs["SILKY_INTERCEPT_PERCENT"]
    config.attrs["SILKY_INTERCEPT_PERCENT"] = 100
    yield
    config.attrs["SILKY_INTERCEPT_PERCENT"] = before
    # Silk keeps the last intercepted request in a thread-local collector and would attribute
    # later ORM queries (the next tests') to it.
    DataCollector().clear()


@pytest.fixture
def every_query_logged(settings, caplog):
    settings.PERFAUDIT = {**settings.PERFAUDIT, "SLOW_QUERY_MS": 1e-9}
    caplog.set_level(logging.DEBUG)
    return caplog


# Committed data: the async endpoints read on their own connections (taskproject.asyncdb).
@pytest.mark.django_db(transaction=True)
def test_no_secret_or_password_at_rest(
    owner, staff_user, silk_records_everything, every_query_logged
):
    client, asgi = Client(), AsyncClient()
    passwords = {"pw-owner-1", "pw-staff-1"}
    with Queries(connection) as sent:
        # Two tokens: one asked for with JSON, one with a form body.
        secret = client.post(
            "/api/auth/token/",
            {"username": "owner", "password": "pw-owner-1"},
            "application/json",
        ).json()["token"]
        form_secret = client.post(
            "/api/auth/token/",
            urlencode({"username": "owner", "password": "pw-owner-1"}),
            "application/x-www-form-urlencoded",
        ).json()["token"]
        # And one through the browsable API's HTML form (the secret inside an HTML page).
        page = client.post(
            "/api/auth/token/",
            {"username": "owner", "password": "pw-owner-1"},
            "application/json",
            headers={"Accept": "text/html"},
        )
        assert page.status_code == 200 and b"<html" in page.content
        html_secret = ApiToken.objects.latest("pk").prefix
        assert html_secret.encode() in page.content
        html_secret = page.content.decode().split(html_secret, 1)[1][:35]
        html_secret = ApiToken.objects.latest("pk").prefix + html_secret
        assert tokens.digest_of(html_secret) == ApiToken.objects.latest("pk").digest
        auth = {"Authorization": f"Token {secret}"}
        for path in ("/api/tasks/", "/api/tasks/stats/", f"/api/users/{owner.pk}/dashboard/"):
            assert client.get(path, headers=auth).status_code == 200
        created = client.post("/api/tasks/", {"title": TITLE}, "application/json", headers=auth)
        assert created.status_code == 201
        form_auth = {"Authorization": f"Token {form_secret}"}
        for path in ("/api/async/tasks/", "/api/async/tasks/stats/"):
            assert async_to_sync(asgi.get)(path, headers=form_auth).status_code == 200
        # The browsable API (HTML), with the token and with the session of an admin login.
        html = client.get("/api/tasks/", headers={**auth, "Accept": "text/html"})
        assert html.status_code == 200 and b"<html" in html.content
        admin = Client()
        login = admin.post(
            "/admin/login/?next=/admin/", {"username": "staff", "password": "pw-staff-1"}
        )
        assert login.status_code == 302
        assert admin.get("/api/tasks/", headers={"Accept": "text/html"}).status_code == 200

    # Silk did record these requests (their bodies, headers and ORM queries).
    recorded = set(SilkRequest.objects.values_list("path", flat=True))
    assert {"/api/auth/token/", "/api/tasks/", "/api/async/tasks/", "/admin/login/"} <= recorded
    assert SQLQuery.objects.exists()

    # The scan finds what is there: the new task's title, in plain text and in silk's base64
    # copy of the response body; and the digest, in the token table and in the SQL silk
    # recorded (the lookup sends the digest, never the secret: the digest cannot be presented
    # as a credential, the server hashes what it is given).
    assert ("tasks_task", "title") in where_found({TITLE})
    assert ("silk_response", "raw_body") in where_found(encodings(TITLE) - {TITLE})
    assert ("tasks_apitoken", "digest") in where_found({tokens.digest_of(secret)})
    assert set(where_found({tokens.digest_of(secret)})) <= {
        ("tasks_apitoken", "digest"),
        ("silk_sqlquery", "query"),
    }

    secrets_ = {secret, form_secret, html_secret}
    needles = set().union(*(encodings(s) for s in secrets_ | passwords))
    assert where_found(needles) == []
    # Nor did any statement sent to PostgreSQL (as a client-side-bound text: debug-toolbar's
    # SQL panel and silk record the same) or any log record hold one.
    assert sent.captured_queries
    assert not [q["sql"] for q in sent.captured_queries if any(s in q["sql"] for s in secrets_)]
    logged = [r for r in every_query_logged.records if r.name.startswith("perfaudit")]
    assert logged  # every query was logged as slow
    for record in every_query_logged.records:
        text = record.getMessage() + repr(record.__dict__)
        assert not any(s in text for s in secrets_ | passwords), record.name

    # The token still works, on both paths; after revocation it is refused on both.
    assert client.get("/api/tasks/", headers=auth).status_code == 200
    assert async_to_sync(asgi.get)("/api/async/tasks/", headers=auth).status_code == 200
    assert client.post("/api/auth/token/revoke/", headers=auth).status_code == 204
    assert client.get("/api/tasks/", headers=auth).status_code == 401
    assert async_to_sync(asgi.get)("/api/async/tasks/", headers=auth).status_code == 401
    assert where_found(needles) == []


def test_encodings_cover_every_alignment():
    secret = "abcDEF123_-xyzXYZ789abcDEF123_-xyzXYZ789abc"
    for before in ("", "a", "ab", "abc", '{"token": "'):
        body = f"{before}{secret} trailing".encode()
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(body).decode()
            assert any(needle in encoded for needle in encodings(secret)), before
