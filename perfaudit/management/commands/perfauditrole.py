from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connections

from perfaudit import sqlrole
from perfaudit.conf import get_settings
from perfaudit.errors import ServiceError, one_line
from perfaudit.management.base import ShowDefaultsMixin


class Command(ShowDefaultsMixin, BaseCommand):
    help = (
        "Create (or fix) the least-privileged database role typed statements run as "
        "(PERFAUDIT['SQL_ROLE']): no login, no attribute, no role membership, SELECT on the "
        "application's tables and views except the protected ones, granted to the connecting "
        "user. Run it again after migrations add tables. --print shows the SQL for a DBA "
        "instead of running it."
    )
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--database", default="default", help="database alias")
        parser.add_argument(
            "--role",
            help=f"role name (default: PERFAUDIT['SQL_ROLE'], or {sqlrole.DEFAULT_ROLE})",
        )
        parser.add_argument(
            "--writes",
            action="store_true",
            help="also INSERT/UPDATE/DELETE and the tables' sequences, for `explain --analyze` "
            "of writes (always rolled back)",
        )
        parser.add_argument(
            "--print", action="store_true", dest="print_only", help="print the SQL, run nothing"
        )

    def handle(self, *args, database, role, writes, print_only, **options):
        role = role or get_settings().SQL_ROLE or sqlrole.DEFAULT_ROLE
        connection = connections[database]
        try:
            plan = sqlrole.statements(connection, role, writes=writes)
            if print_only:
                self.stdout.write(";\n".join(plan.statements) + ";")
                return
            sqlrole.apply(connection, plan)
        except (DatabaseError, ServiceError) as exc:
            raise CommandError(
                f"cannot set up role {role!r}: {one_line(exc)} (the connecting user needs "
                "CREATEROLE, or run the SQL of --print as a superuser)",
                returncode=2,
            ) from None
        self.stdout.write(
            f"role {role}: SELECT{', INSERT, UPDATE, DELETE' if writes else ''} on "
            f"{len(plan.granted)} relations; revoked on {len(plan.revoked)} protected "
            f"({', '.join(plan.revoked) or 'none'})"
            + (
                f"; not the connecting user's, left alone: {len(plan.skipped)}"
                if plan.skipped
                else ""
            )
        )
        if role != get_settings().SQL_ROLE:
            self.stdout.write(f"set PERFAUDIT['SQL_ROLE'] = {role!r} for perfaudit to use it")
