"""The advisor's collect-inputs stage: the statements of each --url request (run in the
sandbox, rolled back), then one catalog read of everything the rules need."""

from __future__ import annotations

from perfaudit import sqltext, urlcapture
from perfaudit.catalog import advisor as catalog
from perfaudit.conf import PerfauditSettings
from perfaudit.services.advisor.request import AdvisorRequest
from perfaudit.snapshots.advisor import AdvisorSelection, AdvisorSnapshot


def collect_inputs(connection, request: AdvisorRequest, conf: PerfauditSettings) -> AdvisorSnapshot:
    # A server-side cursor's DECLARE ... FOR <query> (Django's .iterator()) is its query.
    captured = tuple(
        (f"url {url}", sqltext.unwrap_cursor(sql))
        for url in request.urls
        for sql in urlcapture.capture_request(
            connection,
            url,
            request.username,
            timeout_ms=conf.STATEMENT_TIMEOUT_MS,
            keywords=sqltext.ADVISABLE | {"DECLARE"},
        )
    )
    selection = AdvisorSelection(
        sqls=request.sqls,
        captured=captured,
        top=request.top,
        min_calls=request.min_calls,
        profiler_prefixes=tuple(conf.PROFILER_TABLE_PREFIXES),
    )
    return catalog.collect(connection, selection)
