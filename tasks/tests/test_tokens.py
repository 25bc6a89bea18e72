"""Hashed API tokens: issue, lookup, expiry, last use, revocation (self, all, password change,
deactivation), on the sync and the async path alike."""

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.test import AsyncClient, Client
from django.utils import timezone

from tasks import services, tokens
from tasks.models import ApiToken, User
from tasks.tests.conftest import token_for

# Committed data: the async endpoints read on their own connections (taskproject.asyncdb).
pytestmark = pytest.mark.django_db(transaction=True)

SYNC, ASYNC = "/api/tasks/", "/api/async/tasks/"


def status(secret: str, url: str) -> int:
    headers = {"Authorization": f"Token {secret}"}
    if url.startswith("/api/async/"):
        return async_to_sync(AsyncClient().get)(url, headers=headers).status_code
    return Client().get(url, headers=headers).status_code


def both(secret: str) -> tuple[int, int]:
    return status(secret, SYNC), status(secret, ASYNC)


def take_token(client, username="owner", password="pw-owner-1"):  # noqa: S107 (test fixture)
    return client.post(
        "/api/auth/token/", {"username": username, "password": password}, "application/json"
    )


# --- issuing ----------------------------------------------------------------------------------


def test_token_endpoint_issues_a_new_hashed_token_each_time(client, owner, settings):
    settings.API_TOKEN_TTL = timedelta(days=2)
    first, second = take_token(client), take_token(client)
    assert first.status_code == second.status_code == 200
    assert first["Cache-Control"] == "no-store"
    secret = first.json()["token"]
    assert set(first.json()) == {"token", "expires_at"}
    assert secret != second.json()["token"]
    assert len(secret) >= 43  # 256 random bits, URL-safe base64
    row = ApiToken.objects.get(digest=tokens.digest_of(secret))
    assert row.user == owner and row.prefix == secret[:8]
    assert row.expires_at - row.created == timedelta(days=2)
    assert not ApiToken.objects.filter(digest=secret).exists()
    assert ApiToken.objects.filter(user=owner).count() == 2
    assert both(secret) == (200, 200)


def test_token_endpoint_ignores_a_stale_authorization_header(client, owner):
    # A client whose token expired must be able to get a new one without dropping the header.
    response = client.post(
        "/api/auth/token/",
        {"username": "owner", "password": "pw-owner-1"},
        "application/json",
        headers={"Authorization": "Token revoked-or-expired"},
    )
    assert response.status_code == 200


def test_token_endpoint_accepts_form_bodies(client, owner):
    response = client.post("/api/auth/token/", {"username": "owner", "password": "pw-owner-1"})
    assert response.status_code == 200


# --- the lookup ---------------------------------------------------------------------------------


def test_lookup_sends_the_digest_never_the_secret(owner, queries):
    secret = token_for(owner)
    for url in (SYNC, ASYNC):
        with queries() as captured:
            assert status(secret, url) == 200
        auth = captured.statements[0]
        # One statement: live token by digest, joined to its user.
        assert 'FROM "tasks_apitoken" INNER JOIN "tasks_user"' in auth
        assert tokens.digest_of(secret) in auth
        assert '"revoked_at" IS NULL' in auth and '"expires_at" > statement_timestamp()' in auth
        assert not any(secret in sql for sql in captured.statements)


def test_lookup_fragment_is_the_one_predicate():
    sql, params = tokens.lookup_fragment("s3cret")
    assert sql.startswith('FROM "tasks_apitoken" INNER JOIN "tasks_user"')
    assert params == [tokens.digest_of("s3cret")]
    assert "s3cret" not in sql


def test_lookup_is_one_index_scan_of_the_digest(owner, other_user):
    from django.db import connection

    from perfaudit.rules.plans import walk

    # Enough rows (and fresh statistics) that the planner's choice is the production one.
    ApiToken.objects.bulk_create(
        ApiToken(
            user=(owner, other_user)[n % 2],
            prefix=f"{n:08d}",
            digest=tokens.digest_of(f"bulk-{n}"),
            expires_at=timezone.now() + timedelta(days=1),
        )
        for n in range(5000)
    )
    secret = token_for(owner)
    sql, params, _names = tokens.lookup_statement(secret)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tasks_apitoken")
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0][0]["Plan"]
    scans = {n.node.get("Relation Name"): n.node for n in walk(plan) if "Relation Name" in n.node}
    assert scans["tasks_apitoken"]["Node Type"] == "Index Scan"
    assert scans["tasks_apitoken"]["Index Name"] == "apitoken_digest_uniq"
    # (How the one matching user row is fetched depends on the tiny test table's statistics.)
    assert "tasks_user" in scans


@pytest.mark.parametrize("header", ["Token", "Token a b", "Token " + "x" * 300])
def test_malformed_or_unknown_tokens_are_401(client, header):
    assert client.get(SYNC, headers={"Authorization": header}).status_code == 401
    response = async_to_sync(AsyncClient().get)(ASYNC, headers={"Authorization": header})
    assert response.status_code == 401


# --- expiry and last use ------------------------------------------------------------------------


def test_expired_token_is_401(owner):
    secret = token_for(owner)
    assert both(secret) == (200, 200)
    ApiToken.objects.filter(user=owner).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert both(secret) == (401, 401)


def test_last_used_is_written_at_most_once_per_interval(owner, queries):
    token, secret = services.token_issue(user=owner)
    assert token.last_used_at is None
    for url in (SYNC, ASYNC):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=None)
        with queries() as first:
            assert status(secret, url) == 200
        # token lookup and the task page (one statement); the last-use write
        assert len(first.statements) == 2
        assert first.statements[1].startswith('UPDATE "tasks_apitoken" SET "last_used_at"')
        with queries() as second:
            assert status(secret, url) == 200
        # token lookup and the task page (no write within the interval)
        assert len(second.statements) == 1
        assert not any("UPDATE" in sql for sql in second.statements)
        used = ApiToken.objects.get(pk=token.pk).last_used_at
        assert used is not None
        # Once the interval has passed, the next use writes again.
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=used - tokens.TOUCH_INTERVAL)
        assert status(secret, url) == 200
        assert ApiToken.objects.get(pk=token.pk).last_used_at > used - tokens.TOUCH_INTERVAL


# --- revocation ---------------------------------------------------------------------------------


def test_revoke_the_token_in_use(owner):
    secret, other = token_for(owner), token_for(owner)
    response = Client().post(
        "/api/auth/token/revoke/", headers={"Authorization": f"Token {secret}"}
    )
    assert response.status_code == 204
    assert both(secret) == (401, 401)
    assert both(other) == (200, 200)  # the user's other tokens live on
    row = ApiToken.objects.get(digest=tokens.digest_of(secret))
    assert row.revoked_reason == ApiToken.Revocation.USER and row.revoked_at is not None


def test_revoke_all_of_a_users_tokens(owner, other_user):
    mine = [token_for(owner) for _ in range(3)]
    theirs = token_for(other_user)
    response = Client().post(
        "/api/auth/tokens/revoke-all/", headers={"Authorization": f"Token {mine[0]}"}
    )
    assert response.status_code == 200
    assert response.json() == {"revoked": 3}
    for secret in mine:
        assert both(secret) == (401, 401)
    assert both(theirs) == (200, 200)


def test_session_users_revoke_all_but_have_no_token_in_use(owner):
    client = Client()
    client.force_login(owner)
    secret = token_for(owner)
    response = client.post("/api/auth/token/revoke/")
    assert response.status_code == 400
    assert "not authenticated with a token" in response.json()["detail"]
    assert client.post("/api/auth/tokens/revoke-all/").json() == {"revoked": 1}
    assert both(secret) == (401, 401)


def test_password_change_revokes_all_tokens(owner):
    secret = token_for(owner)
    owner.set_password("a-new-password-1")
    owner.save()
    assert both(secret) == (401, 401)
    assert set(ApiToken.objects.values_list("revoked_reason", flat=True)) == {"password"}
    # A token taken with the new password works.
    fresh = take_token(Client(), password="a-new-password-1").json()["token"]
    assert both(fresh) == (200, 200)


def test_saving_a_user_without_a_password_change_keeps_tokens(owner):
    secret = token_for(owner)
    owner.full_name = "Olga Renamed"
    owner.save()
    assert both(secret) == (200, 200)


class OneIterationPBKDF2(PBKDF2PasswordHasher):
    iterations = 1


def test_password_hash_upgrade_on_login_is_not_a_password_change(owner, settings):
    # The stored hash is MD5 (the test hasher); make PBKDF2 preferred so the next successful
    # login rewrites the hash (Django's check_password setter). The password did not change.
    secret = token_for(owner)
    settings.PASSWORD_HASHERS = [
        f"{__name__}.OneIterationPBKDF2",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    assert take_token(Client()).status_code == 200
    owner.refresh_from_db()
    assert owner.password.startswith("pbkdf2_sha256$1$")
    assert both(secret) == (200, 200)


@pytest.mark.parametrize("path", ["save", "queryset_update"])
def test_deactivation_revokes_all_tokens_for_good(owner, path):
    secret = token_for(owner)
    if path == "save":
        owner.is_active = False
        owner.save()
    else:
        User.objects.filter(pk=owner.pk).update(is_active=False)
    assert both(secret) == (401, 401)
    assert set(ApiToken.objects.values_list("revoked_reason", flat=True)) == {"deactivated"}
    User.objects.filter(pk=owner.pk).update(is_active=True)
    assert both(secret) == (401, 401)  # reactivating the user does not revive old tokens


def test_deleting_a_user_deletes_its_tokens(owner):
    token_for(owner)
    owner.delete()
    assert not ApiToken.objects.exists()


# --- OpenAPI ------------------------------------------------------------------------------------


def test_schema_describes_the_hashed_token_scheme(client):
    schema = client.get("/api/schema/?format=json").json()
    scheme = schema["components"]["securitySchemes"]["tokenAuth"]
    assert scheme["type"] == "apiKey" and scheme["name"] == "Authorization"
    assert "SHA-256" in scheme["description"]
    paths = schema["paths"]
    assert {"tokenAuth": []} in paths["/api/tasks/"]["get"]["security"]
    assert "/api/auth/token/revoke/" in paths and "/api/auth/tokens/revoke-all/" in paths
    token_op = paths["/api/auth/token/"]["post"]
    assert token_op.get("security") in (None, [], [{}])  # no auth needed to get a token
