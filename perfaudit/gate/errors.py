"""The gate's refusal, and the words for an error of running a typed statement."""

from __future__ import annotations

import re

from perfaudit.errors import ServiceError, one_line


class Refused(ServiceError):
    """The gate's refusal: ``reason`` is a stable code (tests, JSON), the text names it."""

    def __init__(self, message: str, *, reason: str):
        super().__init__(message)
        self.reason = reason


#: SQLSTATE classes whose messages name only what the statement itself says (syntax, names,
#: privileges, limits, timeouts, read-only): shown as PostgreSQL words them. Any other class
#: (data exceptions, constraint violations, raised exceptions, internal errors) may quote
#: values read while executing: PgHero's CVE-2023-22626 read session keys through one.
SHOWN_CLASSES = frozenset({"08", "0A", "25", "42", "53", "54", "55", "57"})


def sqlstate_of(exc: BaseException) -> str | None:
    for error in (exc, exc.__cause__, exc.__context__):
        code = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
        if code:
            return code
    return None


def describe(exc: BaseException, *, role: str | None = None) -> str:
    """One line about a database error of a typed statement, quoting no data. ``role``: the
    SQL_ROLE it ran as (a missing privilege is then most likely the role's)."""
    code = sqlstate_of(exc)
    if code == "42501" and role:
        return (
            f"{one_line(exc)} (running as PERFAUDIT['SQL_ROLE'] = {role!r}, which lacks this "
            "privilege; manage.py perfauditrole grants it the application's tables)"
        )
    if code is None or code[:2] in SHOWN_CLASSES:
        return one_line(exc)
    return (
        f"SQLSTATE {code} ({_condition_name(code)}): the statement failed while running; "
        "PostgreSQL's message is not shown, as it may quote the data it read"
    )


def _condition_name(code: str) -> str:
    try:
        import psycopg.errors

        name = psycopg.errors.lookup(code).__name__
    except (ImportError, KeyError):
        return "error"
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
