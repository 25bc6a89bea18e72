"""What keeps a capture cheap, on a real PostgreSQL: tables sampled every
HISTORY_RELATIONS_SECONDS, texts classified within a budget, and a capture's own statements
kept off the Queries page."""

import pytest

from perfaudit.models import Capture, RelationSample
from perfaudit.services.history import capture_stats

from .test_history_capture import EVERY_CAPTURE, hot_table, planted_hot, workload

__all__ = ["hot_table", "planted_hot"]  # fixtures

pytestmark = pytest.mark.django_db(transaction=True)


def test_tables_are_sampled_every_history_relations_seconds(planted_hot, settings):
    settings.PERFAUDIT = {"HISTORY_RELATIONS_SECONDS": 300}
    first, second = capture_stats(), capture_stats()
    assert (first.relations > 0, second.relations) == (True, 0)
    assert list(
        Capture.objects.order_by("taken_at").values_list("relations_sampled", flat=True)
    ) == [
        True,
        False,
    ]
    settings.PERFAUDIT = {"HISTORY_RELATIONS_SECONDS": 0}
    third = capture_stats()
    # Scans and writes since the last sample (the first capture), not since the second.
    assert third.relations > 0
    assert RelationSample.objects.filter(capture_id=third.capture_id, name="pa_hot").exists()


def test_texts_beyond_the_budget_are_classified_by_later_captures(hot_table, settings):
    from perfaudit.models import CapturedStatement

    settings.PERFAUDIT = {**EVERY_CAPTURE, "HISTORY_CLASSIFY_PER_CAPTURE": 4}
    capture_stats()
    total = CapturedStatement.objects.count()
    assert CapturedStatement.objects.filter(origin="").count() == total - 4
    capture_stats()  # at least half the budget goes to the texts left pending
    assert CapturedStatement.objects.exclude(origin="").count() >= 4 + 2
    settings.PERFAUDIT = {**EVERY_CAPTURE, "HISTORY_CLASSIFY_PER_CAPTURE": 100_000}
    capture_stats()
    assert not CapturedStatement.objects.filter(origin="").exists()


def test_captures_stay_off_the_queries_page(hot_table):
    from perfaudit.services import slow_queries

    for _ in range(3):
        workload(5)
        capture_stats()
    report = slow_queries(order="total", limit=50)
    listed = " ".join(q.query for q in report.queries)
    assert "pa_hot" in listed  # the application's statement is there
    assert "perfaudit_" not in listed and "pg_stat_statements" not in listed
    every = " ".join(
        q.query for q in slow_queries(order="total", limit=None, show_all=True).queries
    )
    assert "perfaudit_statementsample" in every  # counted with the tools' statements
