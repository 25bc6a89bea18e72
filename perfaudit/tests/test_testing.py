"""perfaudit.testing helpers, on the real database."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from perfaudit.testing import no_repeated_queries, query_budget

pytestmark = pytest.mark.django_db


def test_query_budget_passes_and_fails():
    with query_budget(1):
        get_user_model().objects.count()  # 1: COUNT(*)
    with pytest.raises(AssertionError, match="2 queries, budget 1"), query_budget(1):
        get_user_model().objects.count()  # 1
        get_user_model().objects.exists()  # 2


def test_no_repeated_queries_catches_orm_loop(owner, other_user):
    with pytest.raises(AssertionError, match="repeated queries"), no_repeated_queries():
        for pk in (owner.pk, other_user.pk):
            get_user_model().objects.get(pk=pk)


def test_no_repeated_queries_catches_raw_sql_with_literals():
    with (
        pytest.raises(AssertionError, match="2x"),
        no_repeated_queries(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SELECT 1 + 1")
        cursor.execute("SELECT 2 + 2")


def test_no_repeated_queries_allows_distinct_queries(owner):
    with no_repeated_queries():
        get_user_model().objects.filter(pk=owner.pk).first()
        get_user_model().objects.count()


def test_fixtures_are_usable(perfaudit_query_budget, perfaudit_no_repeated_queries):
    with perfaudit_query_budget(1), perfaudit_no_repeated_queries():
        get_user_model().objects.count()
