"""adviseindexes: collect inputs -> propose (rules) -> verify (what-if) -> choose (rules) ->
report. The command, the admin's Advisor page and ``--format json`` all come from
``advise_indexes``.
"""

from perfaudit.rules.advisor.advice import StatementResult, Suggestion
from perfaudit.services.advisor.page import advisor_page
from perfaudit.services.advisor.report import MODES, AdvisorReport
from perfaudit.services.advisor.run import advise_indexes

__all__ = [
    "MODES",
    "AdvisorReport",
    "StatementResult",
    "Suggestion",
    "advise_indexes",
    "advisor_page",
]
