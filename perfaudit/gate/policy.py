"""Step 4: the statement's uses against the catalog's facts and the settings: functions,
operators, types, tables (protected, system), views (by their definitions)."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from perfaudit.gate.catalog import CatalogFacts
from perfaudit.gate.errors import Refused
from perfaudit.gate.text import check_size, parse_one
from perfaudit.gate.tree import Uses, uses_of
from perfaudit.sqltext import SELECT_ONLY

_SYSTEM_SCHEMAS = frozenset({"pg_catalog", "information_schema", "pg_toast"})
#: System relations that describe the schema and hold no data, no query text and no secret:
#: the only ones a typed statement may read (pg_stats, pg_statistic, pg_authid, pg_settings,
#: pg_stat_activity, pg_stat_statements, pg_user_mappings, pg_roles' rolconfig, pg_proc's
#: function sources, ... are refused).
SYSTEM_RELATIONS_ALLOWED = frozenset(
    {
        "pg_am",
        "pg_attrdef",
        "pg_attribute",
        "pg_class",
        "pg_constraint",
        "pg_database",
        "pg_depend",
        "pg_description",
        "pg_enum",
        "pg_extension",
        "pg_index",
        "pg_indexes",
        "pg_inherits",
        "pg_namespace",
        "pg_opclass",
        "pg_operator",
        "pg_sequence",
        "pg_sequences",
        "pg_stat_all_indexes",
        "pg_stat_all_tables",
        "pg_stat_user_indexes",
        "pg_stat_user_tables",
        "pg_statio_user_indexes",
        "pg_statio_user_tables",
        "pg_tables",
        "pg_trigger",
        "pg_type",
        "tables",
        "columns",
        "table_constraints",
        "key_column_usage",
    }
)
#: PostgreSQL functions that are STABLE or IMMUTABLE yet read what a typed statement must not:
#: tables by name (bypassing the table checks), settings (primary_conninfo holds a password),
#: or assign a transaction ID. Besides these, every ``pg_*`` function (server administration,
#: statistics, other sessions, files) is refused, except PG_FUNCTIONS_ALLOWED:
DENIED_FUNCTIONS = frozenset(
    {
        "current_setting",
        "cursor_to_xml",
        "cursor_to_xmlschema",
        "database_to_xml",
        "database_to_xml_and_xmlschema",
        "database_to_xmlschema",
        "query_to_xml",
        "query_to_xml_and_xmlschema",
        "query_to_xmlschema",
        "schema_to_xml",
        "schema_to_xml_and_xmlschema",
        "schema_to_xmlschema",
        "table_to_xml",
        "table_to_xml_and_xmlschema",
        "table_to_xmlschema",
        "ts_stat",
        "ts_rewrite",
        "txid_current",
        "txid_current_if_assigned",
    }
)
PG_FUNCTIONS_ALLOWED = frozenset(
    {"pg_size_pretty", "pg_size_bytes", "pg_typeof", "pg_column_size", "pg_collation_for"}
)


@dataclass(frozen=True)
class Policy:
    """The settings side of the checks, resolved once per call."""

    protected: tuple[str, ...]
    allowed_functions: frozenset
    conf: object = None

    @classmethod
    def from_settings(cls, conf) -> Policy:
        return cls(
            protected=tuple(p.lower() for p in (*conf.SQL_PROTECTED_TABLES, *_always_protected())),
            allowed_functions=frozenset(f.lower() for f in conf.SQL_ALLOWED_FUNCTIONS),
            conf=conf,
        )

    def function_allowed(self, name: str, schemas) -> bool:
        """In SQL_ALLOWED_FUNCTIONS, by name or with the schema of every overload in play."""
        allowed = self.allowed_functions
        return name.lower() in allowed or all(f"{s}.{name}".lower() in allowed for s in schemas)

    def table_protected(self, schema: str | None, name: str) -> bool:
        candidates = [name.lower()] + ([f"{schema}.{name}".lower()] if schema else [])
        return any(fnmatch.fnmatchcase(c, p) for c in candidates for p in self.protected)


def _always_protected() -> list[str]:
    """The user model's table and its many-to-many tables, and the session table."""
    from django.apps import apps
    from django.contrib.auth import get_user_model
    from django.core.exceptions import ImproperlyConfigured

    tables = []
    try:
        user = get_user_model()
    except (ImproperlyConfigured, LookupError):  # no auth app: no user table to add
        user = None
    if user is not None:
        tables.append(user._meta.db_table)
        tables += [f.remote_field.through._meta.db_table for f in user._meta.local_many_to_many]
    if apps.is_installed("django.contrib.sessions"):
        from django.contrib.sessions.models import Session

        tables.append(Session._meta.db_table)
    return tables


def _system(schema: str | None, name: str) -> bool:
    """PostgreSQL's: a system schema, or a ``pg_`` name in any schema (pg_stat_statements and
    its _info view live in the extension's schema, usually public)."""
    return schema in _SYSTEM_SCHEMAS or (schema or "").startswith("pg_") or name.startswith("pg_")


def check_relation(schema, name, facts: CatalogFacts, policy: Policy, seen=None) -> None:
    """Refuse a system catalog that may hold secrets, a protected table, or a view (or
    materialized view) over either or calling an unsafe function."""
    label = f"{schema}.{name}" if schema else name
    if _system(schema, name):
        if name not in SYSTEM_RELATIONS_ALLOWED:
            raise Refused(
                f"{label} is a system catalog or view that may hold secrets (data samples, "
                "query texts, settings, credentials): refused",
                reason="system_catalog",
            )
        return
    if policy.table_protected(schema, name):
        raise Refused(
            f"{label} is a protected table (PERFAUDIT['SQL_PROTECTED_TABLES'], the user and "
            "session tables): refused",
            reason="protected_table",
        )
    seen = seen if seen is not None else set()
    for view_schema, definition in (facts.views.get(name) or {}).items():
        if (schema and view_schema != schema) or (view_schema, name) in seen:
            continue
        seen.add((view_schema, name))
        try:
            check_size(definition, policy.conf)
            _keyword, statement = parse_one(definition, SELECT_ONLY, None, policy.conf)
            check_uses(uses_of(statement), facts, policy, seen)
        except Refused as exc:
            raise Refused(f"{label} is a view and {exc}", reason=exc.reason) from None


def check_function(schema, name, how, facts: CatalogFacts, policy: Policy) -> None:
    label = f"{schema}.{name}" if schema else name
    shown = f"TABLESAMPLE {label}" if how else f"{label}()"
    overloads = facts.functions.get(name) or {}
    if schema:
        overloads = {s: v for s, v in overloads.items() if s == schema}
    if not overloads:
        raise Refused(
            f"{shown}: no such function (only known STABLE and IMMUTABLE functions run here)",
            reason="unknown_function",
        )
    if any(volatile for volatile, _builtin in overloads.values()):
        raise Refused(
            f"{shown} is VOLATILE (it may change data or server state, or read outside the "
            "database, in ways a rollback does not undo): only STABLE and IMMUTABLE functions "
            "run here",
            reason="volatile_function",
        )
    if policy.function_allowed(name, overloads):
        return
    if not all(builtin for _volatile, builtin in overloads.values()):
        raise Refused(
            f"{shown} is a user-defined function: it may read any table; allow it in "
            "PERFAUDIT['SQL_ALLOWED_FUNCTIONS'] if it is safe",
            reason="user_function",
        )
    if name in DENIED_FUNCTIONS or (name.startswith("pg_") and name not in PG_FUNCTIONS_ALLOWED):
        raise Refused(
            f"{shown} is outside the safe set: it reads server files, settings, other "
            "sessions or tables by name, or acts on the server",
            reason="unsafe_function",
        )


def check_uses(uses: Uses, facts: CatalogFacts, policy: Policy, seen=None) -> None:
    for schema, name in sorted(uses.relations, key=str):
        check_relation(schema, name, facts, policy, seen)
    for schema, name, how in sorted(uses.functions, key=str):
        check_function(schema, name, how, facts, policy)
    for schema, name in sorted(uses.operators, key=str):
        if any(n == name and (schema is None or s == schema) for s, n in facts.unsafe_operators):
            raise Refused(
                f"operator {name} calls a volatile or user-defined function: refused",
                reason="unsafe_operator",
            )
    for schema, name in sorted(uses.types, key=str):
        if any(n == name and (schema is None or s == schema) for s, n in facts.unsafe_types):
            raise Refused(
                f"type {name}: its input, casts or constraints call a volatile or user-defined "
                "function: refused",
                reason="unsafe_type",
            )
