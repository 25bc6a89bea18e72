"""manage.py demouser: make sure the demo staff account exists, owns tasks, and print its login.

The demo account is staff, never a superuser: it gets exactly ``DEMO_PERMISSIONS`` (perfaudit's
pages, EXPLAIN ANALYZE and the statistics reset; managing tasks), so whoever tries the project
sees what a real staff user sees, the refusals of perfaudit's SQL gate included. A superuser is
``manage.py createsuperuser``'s job. Every run puts the account back to that (an account from an
older version, which was a superuser, is demoted).

The password is never in the repository: it comes from DEMO_PASSWORD, or is generated once and
kept in var/demo-password (git-ignored, mode 0600) so every `make run` prints the same login.
"""

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from perfaudit.management.base import ShowDefaultsMixin
from tasks import seeding
from tasks.management.commands.seeddata import _non_negative
from tasks.models import Task, User

DEMO_SEED = 7  # fixed: every fresh `make run` gives the demo user the same tasks
#: Use perfaudit (perfaudit.models lists what each permission opens) and manage tasks in the
#: admin; view_user because a task's owner is picked with the user list's raw-id lookup.
DEMO_PERMISSIONS = (
    "perfaudit.view_dashboard",
    "perfaudit.explain_analyze",
    "perfaudit.reset_statistics",
    "tasks.view_task",
    "tasks.add_task",
    "tasks.change_task",
    "tasks.delete_task",
    "tasks.view_user",
)


def set_permissions(user, names=DEMO_PERMISSIONS) -> None:
    """Give ``user`` exactly ``names`` ("app_label.codename") as direct permissions."""
    from django.contrib.auth.models import Permission
    from django.db.models import Q

    query = Q()
    for name in names:
        app_label, codename = name.split(".", 1)
        query |= Q(content_type__app_label=app_label, codename=codename)
    permissions = list(Permission.objects.filter(query))
    if len(permissions) != len(names):
        found = {f"{p.content_type.app_label}.{p.codename}" for p in permissions}
        raise CommandError(f"missing permissions (run migrate): {sorted(set(names) - found)}")
    user.user_permissions.set(permissions)


class Command(ShowDefaultsMixin, BaseCommand):
    help = (
        "Create the demo staff user if missing (staff, not superuser, with exactly the "
        "permissions to use perfaudit and manage tasks), give it demo tasks when it owns none, "
        "and print its login."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="demo", help="the staff user's name")
        parser.add_argument(
            "--tasks",
            type=_non_negative,
            default=60,
            help="tasks to give the user when it owns none (0: none), so its /api/tasks/ and "
            "dashboard are not empty",
        )

    def handle(self, *args, username, tasks, **options):
        password = os.environ.get("DEMO_PASSWORD") or self._stored_password()
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "email": f"{username}@example.com",
                "full_name": "Demo Staff",
                "is_staff": True,
            },
        )
        if created or not user.check_password(password):
            user.set_password(password)
        user.is_staff, user.is_superuser = True, False
        user.save()
        set_permissions(user)
        if tasks and not Task.objects.filter(owner=user).exists():
            seeding.load_owner_tasks(owner_id=user.pk, tasks=tasks, seed=DEMO_SEED)
        self.stdout.write(f"demo staff login: {username} / {password}")

    def _stored_password(self) -> str:
        path = Path(settings.BASE_DIR) / "var" / "demo-password"
        if path.exists():
            return path.read_text().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        password = secrets.token_urlsafe(12)
        path.write_text(password + "\n")
        path.chmod(0o600)
        return password
