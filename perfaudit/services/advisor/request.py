"""The advisor's options, checked before anything runs: a bad one is a one-line error."""

from __future__ import annotations

from dataclasses import dataclass

from perfaudit import gate, sqltext
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
    #: The statement kinds ``sqls`` may be (the gate checks them against the catalog too).
    allowed: frozenset[str] = sqltext.ADVISABLE


def _check_sql(sql: str, allowed: frozenset[str]) -> None:
    # The gate's checks of the text (size and depth first: sqltext parses it next); its
    # catalog checks run once there is a connection (services.advisor.run).
    gate.check_text(sql, allowed=allowed)
    try:
        sqltext.referenced_tables(sql)
    except sqltext.SQLTextError as exc:
        raise ServiceError(str(exc)) from None


def _unwrapped(sql: str, conf: PerfauditSettings) -> str:
    # The gate's size and depth bounds first: unwrapping a DECLARE parses it.
    gate.check_size(sql, conf)
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
    allowed = sqltext.SELECT_ONLY & sqltext.ADVISABLE if select_only else sqltext.ADVISABLE
    # A server-side cursor's DECLARE ... FOR <query> (Django's .iterator()) is its query.
    sqls = tuple(_unwrapped(sql, conf) for sql in sqls)
    for sql in sqls:
        _check_sql(sql, allowed)
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
        allowed=allowed,
    )
