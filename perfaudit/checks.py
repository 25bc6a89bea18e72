"""System checks, tagged ``perfaudit``.

Two kinds, so that a warning speaks when it matters and is never noise users learn to ignore:

- About the server (W001, pg_stat_statements not collecting): a deployment check. Only
  ``manage.py check --deploy`` runs it, on every configured database (or the ones named with
  ``--database``); never ``migrate``, ``shell``, ``runserver`` or the test runner, where a
  development server without the extension would print it on every command. perfaudit's own
  commands and pages say the same where it matters (slowqueries' and the Queries page's
  ``pg_stat_statements_missing`` finding, adviseindexes' "no top statements" message).
- About the project's settings (W002-W005): mistakes in ``settings.PERFAUDIT`` or MIDDLEWARE
  that silently turn something off. No database, no cost, fixed in the project's own code: they
  run with every command, like Django's own configuration checks.
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Warning, register
from django.db import DatabaseError, connections

from perfaudit.conf import (
    REPEATED_QUERY_MODES,
    acknowledgement_error,
    get_settings,
    unknown_keys,
)

MIDDLEWARE_PATH = "perfaudit.runtime.PerfauditMiddleware"
#: ``manage.py check --tag perfaudit`` (add ``--deploy`` for W001) runs perfaudit's checks only.
TAG = "perfaudit"


# Not tagged ``database``: Django skips database-tagged checks unless ``--database`` is given,
# and ``check --deploy`` alone must report W001. Django passes every alias when none is named.
@register(TAG, deploy=True)
def check_pg_stat_statements(app_configs=None, databases=None, **kwargs):
    from perfaudit.catalog.statements import statements_status

    messages = []
    for alias in connections if databases is None else databases:
        connection = connections[alias]
        if connection.vendor != "postgresql":
            continue
        try:
            status = statements_status(connection)
        except DatabaseError:
            continue  # unreachable: Django's own checks report that
        if status.usable:
            continue
        only_the_extension = status.available and status.preloaded and not status.installed
        if only_the_extension and _has_unapplied_migrations(connection):
            # `check --deploy` before the first `migrate` of a fresh database: the project's own
            # migration may be the one that creates the extension (tasks does). Telling a
            # newcomer to CREATE EXTENSION by hand there would be wrong advice; the check says
            # it once the migrations are applied.
            continue
        messages.append(
            Warning(
                f"pg_stat_statements is not collecting on database {alias!r}: "
                "manage.py slowqueries has no data.",
                hint=status.how_to_enable(),
                id="perfaudit.W001",
            )
        )
    return messages


def _has_unapplied_migrations(connection) -> bool:
    from django.db.migrations.executor import MigrationExecutor

    try:
        executor = MigrationExecutor(connection)
        return bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))
    except DatabaseError:
        return False


@register(TAG)
def check_settings(app_configs=None, **kwargs):
    messages = []
    unknown = unknown_keys()
    if unknown:
        messages.append(
            Warning(
                f"settings.PERFAUDIT has unknown keys: {', '.join(unknown)}",
                hint="See perfaudit/conf.py for the settings perfaudit reads.",
                id="perfaudit.W002",
            )
        )
    conf = get_settings()
    if conf.REPEATED_QUERY_MODE not in REPEATED_QUERY_MODES:
        messages.append(
            Warning(
                f"PERFAUDIT['REPEATED_QUERY_MODE'] is {conf.REPEATED_QUERY_MODE!r}; repeated "
                "query detection is off.",
                hint=f"Use one of: {', '.join(REPEATED_QUERY_MODES)}.",
                id="perfaudit.W003",
            )
        )
    for entry in conf.ACKNOWLEDGED or ():
        error = acknowledgement_error(entry)
        if error:
            messages.append(
                Warning(
                    f"PERFAUDIT['ACKNOWLEDGED']: {error}; the entry is ignored.",
                    hint='Each entry is {"kind": ..., "object": ..., "reason": ...}.',
                    id="perfaudit.W005",
                )
            )
    runtime_keys = {"SLOW_QUERY_MS", "REPEATED_QUERY_MODE", "SERVER_TIMING"}
    configured = runtime_keys & set(getattr(settings, "PERFAUDIT", None) or {})
    if configured and MIDDLEWARE_PATH not in settings.MIDDLEWARE:
        messages.append(
            Warning(
                f"PERFAUDIT sets {', '.join(sorted(configured))} but {MIDDLEWARE_PATH} is not "
                "in MIDDLEWARE, so they have no effect.",
                hint=f"Add {MIDDLEWARE_PATH!r} near the top of MIDDLEWARE.",
                id="perfaudit.W004",
            )
        )
    return messages


#: Settings that are counts or sizes (0 turns the rule or the build off) and those that are
#: shares of a whole, with the range each must be in.
NON_NEGATIVE = ("ADVISOR_MIN_COST", "ADVISOR_MIN_TABLE_ROWS", "ADVISOR_BUILD_MAX_BYTES")
SHARES = ("ADVISOR_MIN_COST_REDUCTION", "ADVISOR_PARTIAL_MAX_FRACTION", "ADVISOR_NO_HELP_FRACTION")


@register()
def check_advisor_thresholds(app_configs=None, **kwargs):
    """The advisor's thresholds: a number of the right range, or its rule silently does
    something else (a negative size never builds, a share over 1 never suggests)."""
    conf = get_settings()
    messages = []
    for name in (*NON_NEGATIVE, *SHARES):
        value = getattr(conf, name)
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if name in NON_NEGATIVE:
            bad, want = not number or value < 0, "a number, 0 or more"
        else:
            bad, want = not number or not 0 < value < 1, "a share between 0 and 1 (exclusive)"
        if bad:
            messages.append(
                Warning(
                    f"PERFAUDIT[{name!r}] is {value!r}; it must be {want}.",
                    hint="See perfaudit/conf.py (and docs/perfaudit.md, adviseindexes).",
                    id="perfaudit.W006",
                )
            )
    return messages


@register(TAG)
def check_history_database(app_configs=None, **kwargs):
    """PERFAUDIT["HISTORY_DATABASE"] names a database alias: a typo would fail every capture."""
    alias = get_settings().HISTORY_DATABASE
    if alias is None or alias in settings.DATABASES:
        return []
    return [
        Error(
            f"PERFAUDIT['HISTORY_DATABASE'] is {alias!r}, which is not in settings.DATABASES.",
            hint="Name an alias of settings.DATABASES, or None to store history in the "
            "database being captured (docs/perfaudit.md, History).",
            id="perfaudit.E001",
        )
    ]
