"""manage.py demouser: make sure the demo staff account exists, owns tasks, and print its login.

The password is never in the repository: it comes from DEMO_PASSWORD, or is generated once and
kept in var/demo-password (git-ignored, mode 0600) so every `make run` prints the same login.
"""

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from perfaudit.management.base import ShowDefaultsMixin
from tasks import seeding
from tasks.management.commands.seeddata import _non_negative
from tasks.models import Task, User

DEMO_SEED = 7  # fixed: every fresh `make run` gives the demo user the same tasks


class Command(ShowDefaultsMixin, BaseCommand):
    help = (
        "Create the demo staff user if missing, give it demo tasks when it owns none, and "
        "print its login."
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
                "is_superuser": True,
            },
        )
        if created or not user.check_password(password):
            user.set_password(password)
            user.save(update_fields=["password"])
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
