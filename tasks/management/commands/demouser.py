"""manage.py demouser: make sure the demo staff account exists and print its login.

The password is never in the repository: it comes from DEMO_PASSWORD, or is generated once and
kept in var/demo-password (git-ignored, mode 0600) so every `make run` prints the same login.
"""

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from tasks.models import User


class Command(BaseCommand):
    help = "Create the demo staff user if missing and print its login."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="demo")

    def handle(self, *args, username, **options):
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
