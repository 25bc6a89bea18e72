"""The advisor's options, checked before anything runs: a bad one is a one-line error."""

from __future__ import annotations

from dataclasses import dataclass

from perfaudit import sandbox, sqltext
from perfaudit.conf import PerfauditSettings
from perfaudit.errors import ServiceError


@dataclass(frozen=True)
class AdvisorRequest:
    sqls: tuple[str, ...]
    urls: tuple[str, ...]
    username: str | None
    #: pg_stat_statements entries to read (0: none).
    top: int
    min_calls: int
    allow_build: bool
    #: Suggest only when the plan cost falls by at least this share.
    min_cost_reduction: float
    timeout_ms: int
    #: An app label: write the suggestions for its models as its next migration.
    write_migration: str | None


def _check_sql(sql: str, allowed: frozenset[str]) -> None:
    sandbox.check_statement(sql, allowed=allowed)
    try:
        sqltext.referenced_tables(sql)
    except sqltext.SQLTextError as exc:
        raise ServiceError(str(exc)) from None


def _unwrapped(sql: str) -> str:
    try:
        return sqltext.unwrap_cursor(sql)
    except sqltext.SQLTextError as exc:
        raise ServiceError(str(exc)) from None


def advisor_request(
    conf: PerfauditSettings,
    *,
    sqls=(),
    urls=(),
    username: str | None = None,
    top: int | None = None,
    min_calls: int = 1,
    allow_build: bool = False,
    min_cost_reduction: float | None = None,
    select_only: bool = False,
    write_migration: str | None = None,
    timeout_ms: int | None = None,
) -> AdvisorRequest:
    threshold = (
        conf.ADVISOR_MIN_COST_REDUCTION if min_cost_reduction is None else min_cost_reduction
    )
    if not 0 < threshold < 1:
        raise ServiceError(f"--min-cost-reduction must be between 0 and 1, got {threshold}")
    if top is None:
        top = 0 if (sqls or urls) else conf.ADVISOR_TOP_STATEMENTS
    if top < 0:
        raise ServiceError(f"--top must be 0 or more, got {top}")
    # A server-side cursor's DECLARE ... FOR <query> (Django's .iterator()) is its query.
    sqls = tuple(_unwrapped(sql) for sql in sqls)
    for sql in sqls:
        _check_sql(
            sql, sqltext.SELECT_ONLY & sqltext.ADVISABLE if select_only else sqltext.ADVISABLE
        )
    for url in urls:
        if not url.startswith("/"):
            raise ServiceError(f"--url must be a path starting with '/', got {url!r}")
    if write_migration:
        from django.apps import apps

        try:
            apps.get_app_config(write_migration)
        except LookupError:
            raise ServiceError(f"--write-migration: no installed app {write_migration!r}") from None
    return AdvisorRequest(
        sqls=tuple(sqls),
        urls=tuple(urls),
        username=username,
        top=top,
        min_calls=min_calls,
        allow_build=allow_build,
        min_cost_reduction=threshold,
        timeout_ms=timeout_ms or conf.STATEMENT_TIMEOUT_MS,
        write_migration=write_migration,
    )
