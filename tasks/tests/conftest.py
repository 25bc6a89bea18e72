"""API fixtures: token clients for the base users, and a query capture that names statements."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from perfaudit.testing import capture_queries
from tasks.models import Task

T0 = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # The base fixtures set passwords; PBKDF2's deliberate slowness would dominate the suite.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _stats_cache_on(settings):
    # Tests run in one process, where the local-memory cache is shared, so exercise caching.
    settings.API_STATS_CACHE = True


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def api():
    return client_for


def make_tasks(owner, count: int, **fields) -> list[Task]:
    """Distinct created_at values, newest = highest index."""
    return Task.objects.bulk_create(
        [
            Task(
                owner=owner,
                title=fields.get("title", f"Task {n}"),
                description=fields.get("description", ""),
                priority=fields.get("priority", ("low", "medium", "high")[n % 3]),
                created_at=T0 + timedelta(minutes=n),
                updated_at=T0 + timedelta(minutes=n),
            )
            for n in range(count)
        ]
    )


@pytest.fixture
def queries():
    """``with queries() as captured:``; ``captured.statements`` is the SQL the block ran, minus
    the savepoints a test's outer transaction adds (perfaudit.testing: the project uses its own
    reusable app's recorder, the one the runtime middleware uses)."""
    return capture_queries
