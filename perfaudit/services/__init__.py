"""perfaudit's service layer: one module per report, each collect -> evaluate -> report.

``perfaudit.catalog.<topic>.collect`` reads, ``perfaudit.rules.<topic>.evaluate`` judges (pure),
and the service here assembles one typed report (``to_dict()`` is the JSON contract). The
commands, the admin pages and the JSON output all call these functions, so they never disagree.
``ServiceError`` carries a one-line, user-facing message (bad input, unreachable database).
"""

from perfaudit.errors import ServiceError
from perfaudit.sandbox import EXPLAINABLE, READ_ONLY, SELECT_ONLY
from perfaudit.services.advisor import AdvisorReport, advise_indexes, advisor_page
from perfaudit.services.base import get_connection
from perfaudit.services.connections import ConnectionsReport, db_connections
from perfaudit.services.explain import ExplainReport, explain_queryset, explain_sql, explain_url
from perfaudit.services.health import HealthReport, db_health
from perfaudit.services.indexes import IndexReport, audit_indexes
from perfaudit.services.overview import OVERVIEW_SECTIONS, OverviewReport, overview
from perfaudit.services.profile import ProfileReport, profile_query
from perfaudit.services.sessions import (
    SessionsReport,
    session_activity,
    session_lookup,
    signal_session,
)
from perfaudit.services.statements import SlowQueriesReport, reset_statistics, slow_queries
from perfaudit.services.tables import TableStatsReport, table_stats

__all__ = [
    "EXPLAINABLE",
    "OVERVIEW_SECTIONS",
    "READ_ONLY",
    "SELECT_ONLY",
    "AdvisorReport",
    "ConnectionsReport",
    "ExplainReport",
    "HealthReport",
    "IndexReport",
    "OverviewReport",
    "ProfileReport",
    "ServiceError",
    "SessionsReport",
    "SlowQueriesReport",
    "TableStatsReport",
    "advise_indexes",
    "advisor_page",
    "audit_indexes",
    "db_connections",
    "db_health",
    "explain_queryset",
    "explain_sql",
    "explain_url",
    "get_connection",
    "overview",
    "profile_query",
    "reset_statistics",
    "session_activity",
    "session_lookup",
    "signal_session",
    "slow_queries",
    "table_stats",
]
