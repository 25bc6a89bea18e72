"""A paginator that does not COUNT(*) big result sets.

Django's admin change list asks its paginator for ``count``: an exact ``SELECT COUNT(*)`` over the
filtered queryset, which reads every matching row (≈100 ms on a 1M-row table, per page view).
This paginator asks the planner instead (``EXPLAIN``, well under a millisecond) and only counts
exactly when the estimate is small enough for the count to be cheap. Page numbers past the real
end simply come back empty.
"""

from __future__ import annotations

import json

from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property


def estimate_count(queryset: QuerySet) -> int | None:
    """The planner's row estimate for ``queryset`` (None when not on PostgreSQL)."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    lean = queryset.order_by().select_related(None).values("pk")
    sql, params = lean.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


class EstimatedCountPaginator(Paginator):
    #: Below this estimate an exact COUNT(*) is cheap enough to run.
    exact_below = 10_000

    @cached_property
    def count(self) -> int:
        if isinstance(self.object_list, QuerySet):
            estimate = estimate_count(self.object_list)
            if estimate is not None and estimate >= self.exact_below:
                return estimate
        return super().count
