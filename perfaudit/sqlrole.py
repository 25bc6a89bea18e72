"""The least-privileged role typed statements run as (``PERFAUDIT['SQL_ROLE']``).

perfaudit.gate refuses what it can see; this role bounds what it cannot: the sandbox runs a
typed statement after ``SET LOCAL ROLE <role>`` (inside the rolled-back transaction, so the
pooled connection is back to its own user afterwards). The role:

* cannot log in and has no attribute (NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
  NOBYPASSRLS NOINHERIT) and is a member of no role (no pg_read_server_files, pg_signal_backend,
  pg_read_all_data, ...): no file reads, no signals to other backends, no replication slots,
  no statistics resets, however a function is reached;
* may SELECT the application's tables and the views over them, except the protected tables
  (``SQL_PROTECTED_TABLES``, the user and session tables) and views over them, from which its
  privileges are revoked; with ``writes`` also INSERT/UPDATE/DELETE and the tables' sequences
  (``manage.py explain --analyze`` of a write; rolled back);
* is granted to the connecting user (WITH INHERIT FALSE on PostgreSQL 16+) so it may
  ``SET ROLE`` to it; a superuser needs no grant.

``statements()`` lists the exact SQL (``manage.py perfauditrole --print``); ``apply()`` runs it
where the connecting user may (CREATEROLE, or a superuser; it owns the tables it grants).
Run it again after migrations add tables: a table the role may not read fails EXPLAIN with
"permission denied", never the other way round.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from perfaudit import gate
from perfaudit.conf import get_settings
from perfaudit.ddl import ident

DEFAULT_ROLE = "perfaudit_sql"
ATTRIBUTES = "NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS"

_RELATIONS_SQL = """
SELECT n.nspname, c.relname, c.relkind,
       pg_has_role(c.relowner, 'USAGE') OR has_table_privilege(c.oid, 'SELECT WITH GRANT OPTION')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_class'::regclass
                  AND e.objid = c.oid AND e.deptype = 'e')
ORDER BY 1, 2
"""
_SEQUENCES_SQL = """
SELECT n.nspname, s.relname, tn.nspname, t.relname
FROM pg_depend d
JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
JOIN pg_namespace n ON n.oid = s.relnamespace
JOIN pg_class t ON t.oid = d.refobjid
JOIN pg_namespace tn ON tn.oid = t.relnamespace
WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
  AND d.deptype IN ('a', 'i')
ORDER BY 1, 2
"""


@dataclass
class RolePlan:
    role: str
    statements: list[str] = field(default_factory=list)
    granted: list[str] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)
    #: Relations the connecting user cannot grant (not theirs): left as they are.
    skipped: list[str] = field(default_factory=list)


def statements(connection, role: str, *, writes: bool = False) -> RolePlan:
    """The SQL that creates ``role`` if needed and sets exactly its privileges."""
    plan = RolePlan(role)
    who = ident(role)
    facts = gate.catalog_facts(connection, refresh=True)
    policy = gate.Policy.from_settings(get_settings())
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.oid, (SELECT array_agg(m.roleid::regrole::text) FROM pg_auth_members m "
            "WHERE m.member = r.oid) FROM pg_roles r WHERE r.rolname = %s",
            [role],
        )
        row = cursor.fetchone()
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        superuser = cursor.fetchone()[0]
        cursor.execute(_RELATIONS_SQL)
        relations = cursor.fetchall()
        cursor.execute(_SEQUENCES_SQL)
        sequences = cursor.fetchall()
    if row is None:
        plan.statements.append(f"CREATE ROLE {who} {ATTRIBUTES}")
    else:
        plan.statements.append(f"ALTER ROLE {who} {ATTRIBUTES}")
        plan.statements += [f"REVOKE {ident(m)} FROM {who}" for m in row[1] or ()]
    if not superuser:
        options = " WITH INHERIT FALSE, SET TRUE" if connection.pg_version >= 160000 else ""
        plan.statements.append(f"GRANT {who} TO CURRENT_USER{options}")
    schemas: set[str] = set()
    allowed_tables: set[tuple[str, str]] = set()
    for schema, name, kind, grantable in relations:
        label = f"{schema}.{name}"
        if not grantable:
            plan.skipped.append(label)
            continue
        try:
            gate.check_relation(schema, name, facts, policy)
        except gate.Refused:
            plan.statements.append(f"REVOKE ALL ON TABLE {ident(schema, name)} FROM {who}")
            plan.revoked.append(label)
            continue
        privileges = "SELECT, INSERT, UPDATE, DELETE" if writes and kind in "rpf" else "SELECT"
        plan.statements.append(f"GRANT {privileges} ON TABLE {ident(schema, name)} TO {who}")
        plan.granted.append(label)
        allowed_tables.add((schema, name))
        schemas.add(schema)
    if writes:
        for schema, name, table_schema, table in sequences:
            if (table_schema, table) in allowed_tables:
                plan.statements.append(f"GRANT USAGE ON SEQUENCE {ident(schema, name)} TO {who}")
    plan.statements[1:1] = [f"GRANT USAGE ON SCHEMA {ident(s)} TO {who}" for s in sorted(schemas)]
    return plan


def apply(connection, plan: RolePlan) -> None:
    """Run ``plan`` in one transaction: all of it or nothing."""
    from django.db import transaction

    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        for statement in plan.statements:
            cursor.execute(statement)
