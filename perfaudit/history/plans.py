"""Plan shapes of a capture's top statements: the advisor's way of planning pg_stat_statements'
texts (perfaudit.whatif.plan_cost: EXPLAIN (GENERIC_PLAN) on PostgreSQL 16+, PREPARE under
force_generic_plan before), inside the sandbox's rolled-back read-only transaction, a
savepoint per statement. Plain EXPLAIN: nothing is executed. Only single queries of the
application are planned; a text the planner refuses is skipped (its shape stays unknown)."""

from __future__ import annotations

from django.db import DatabaseError, transaction

from perfaudit import origin, sqltext
from perfaudit.errors import ServiceError
from perfaudit.sandbox import rolled_back
from perfaudit.snapshots.history import PlanShape, plan_shape
from perfaudit.whatif import plan_cost

#: A capture must stay cheap: planning stops at this budget whatever the count asked for.
PLAN_TIMEOUT_MS = 2_000


def plannable(text: str, text_origin: str) -> bool:
    if text_origin != origin.APP:
        return False
    try:
        return (
            len(sqltext.statements(text)) == 1
            and sqltext.first_keyword(text) in sqltext.SELECT_ONLY
        )
    except Exception:  # a text cut short by track_activity_query_size does not parse
        return False


def take_plans(connection, statements: dict[int, str]) -> dict[int, PlanShape]:
    """queryid -> plan shape for each ``statements`` text (queryid -> text) the planner took."""
    if not statements:
        return {}
    shapes = {}
    try:
        with rolled_back(connection, timeout_ms=PLAN_TIMEOUT_MS, read_only=True) as cursor:
            for queryid, text in statements.items():
                try:
                    with transaction.atomic(using=connection.alias):
                        planned = plan_cost(
                            cursor,
                            text,
                            nparams=sqltext.max_param(text),
                            pg_version=connection.pg_version,
                        )
                except (DatabaseError, sqltext.SQLTextError):
                    continue
                shapes[queryid] = plan_shape(planned.document["Plan"])
    except DatabaseError as exc:  # the statement timeout of the whole batch
        raise ServiceError(f"planning the top statements failed: {exc}") from None
    return shapes
