"""Pieces of the replica router that need no replica."""

import pytest
from django.db import connection

from taskproject import pooler, replicas

pytestmark = pytest.mark.django_db


def test_permanent_wrappers_survive_per_request_wrappers():
    """A wrapper installed for good while a per-request wrapper is pushed must not make the
    request's pop remove the wrong one (that left perfaudit's recorder stacked once per request,
    a RecursionError after ~300 requests under the benchmark)."""
    before = list(connection.execute_wrappers)

    def per_request(execute, sql, params, many, context):
        return execute(sql, params, many, context)

    try:
        with connection.execute_wrapper(per_request):
            assert replicas._connectable(connection.alias) == connection.alias
            pooler.install_local_timeout(sender=None, connection=connection)
        assert per_request not in connection.execute_wrappers
        assert connection.execute_wrappers[:2] == [
            pooler.local_timeout_wrapper,
            replicas._replica_fallback,
        ]
        # Installing again is a no-op.
        replicas._connectable(connection.alias)
        pooler.install_local_timeout(sender=None, connection=connection)
        assert len(connection.execute_wrappers) == len(before) + 2
    finally:
        connection.execute_wrappers[:] = before


def test_read_alias_without_replicas_or_user_is_the_primary(settings):
    settings.REPLICA_ALIASES = []
    assert replicas.read_alias_for(1) == "default"
    assert replicas.read_alias_for(None) == "default"
    assert replicas.current_read_alias() == "default"  # outside a request


@pytest.mark.django_db(transaction=True)  # autocommit: a plain SELECT is not a write
def test_a_tokens_last_use_is_not_the_users_write(owner):
    """Read-your-writes pins a user who wrote to the primary; recording a token's last use is
    bookkeeping (tasks.tokens.touch), not a write of the user's."""
    from tasks import services, tokens

    token, _secret = services.token_issue(user=owner)
    token.last_used_at = None
    state = replicas._Request(request=None, safe=True)
    reset = replicas._current.set(state)
    before = list(connection.execute_wrappers)
    replicas._watch(connection)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        tokens.touch(token)  # runs its UPDATE
        assert token.last_used_at is not None
        assert not state.wrote
        with connection.cursor() as cursor:
            cursor.execute("UPDATE tasks_user SET full_name = full_name WHERE id = %s", [owner.pk])
        assert state.wrote
    finally:
        replicas._current.reset(reset)
        connection.execute_wrappers[:] = before
