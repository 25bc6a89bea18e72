"""adviseindexes: collect -> candidates (pure rules) -> what-if (rolled back) -> one typed report.

The command, the admin's Advisor page and ``--format json`` all come from ``advise_indexes``.
"""

from perfaudit.services.advisor.migration import index_name, migration_for, write_migration_file
from perfaudit.services.advisor.page import advisor_page
from perfaudit.services.advisor.report import (
    ADVISABLE,
    MODES,
    AdvisorReport,
    StatementResult,
    Suggestion,
)
from perfaudit.services.advisor.run import advise_indexes

__all__ = [
    "ADVISABLE",
    "MODES",
    "AdvisorReport",
    "StatementResult",
    "Suggestion",
    "advise_indexes",
    "advisor_page",
    "index_name",
    "migration_for",
    "write_migration_file",
]
