"""The benchmark dataset: seeded once with `seeddata`, reused while it still matches."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from django.core.management import call_command
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder


@dataclass
class DatasetInfo:
    users: int
    tasks: int
    owner_id: int
    owner_tasks: int
    staff_id: int
    summary_ids: list[int]
    tokens: dict[str, str]
    postgres: str
    reused: bool


def _marker_path() -> Path:
    settings = connection.settings_dict
    base = settings.get("EMBEDDED_DIR")
    if base:
        return Path(base) / "bench-dataset.json"
    return Path(__file__).resolve().parent.parent / "var" / f"bench-dataset-{settings['NAME']}.json"


def prepare(profile, *, log) -> DatasetInfo:
    from django.utils import timezone

    from tasks import services
    from tasks.models import ApiToken, Task, User

    call_command("migrate", verbosity=0, interactive=False)
    call_command("collectstatic", verbosity=0, interactive=False)
    migrations = sorted(
        f"{app}.{name}"
        for app, name in MigrationRecorder.Migration.objects.values_list("app", "name")
    )
    wanted = {
        "users": profile.users,
        "tasks": profile.tasks,
        "seed": profile.seed,
        "migrations": migrations,
    }
    marker = _marker_path()
    reused = (
        marker.exists()
        and json.loads(marker.read_text()) == wanted
        and Task.objects.count() == profile.tasks
    )
    if reused:
        log(f"dataset: reusing {profile.users:,} users / {profile.tasks:,} tasks ({marker})")
    else:
        log(
            f"dataset: seeding {profile.users:,} users / {profile.tasks:,} tasks "
            f"(seed {profile.seed})"
        )
        marker.unlink(missing_ok=True)
        call_command(
            "seeddata",
            "--users",
            str(profile.users),
            "--tasks",
            str(profile.tasks),
            "--seed",
            str(profile.seed),
            "--reset",
            "--no-progress",
        )
        with connection.cursor() as cursor:
            # Visibility map and statistics, so plans match a settled production table.
            cursor.execute("VACUUM (ANALYZE) tasks_task")
            cursor.execute("VACUUM (ANALYZE) tasks_user")
        marker.write_text(json.dumps(wanted))

    # A typical owner: the one whose task count is closest to 200 (a few pages of tasks).
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT owner_id, count(*) FROM tasks_task GROUP BY owner_id "
            "ORDER BY abs(count(*) - 200), owner_id LIMIT 1"
        )
        owner_id, owner_tasks = cursor.fetchone()
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    staff, _ = User.objects.get_or_create(
        username="bench-staff", defaults={"is_staff": True, "email": "bench-staff@example.com"}
    )
    owner = User.objects.get(pk=owner_id)
    # A fresh token per run (only digests are stored, so an earlier run's secret is gone),
    # recorded as just used: a token's first use writes last_used_at once (then at most every
    # 5 minutes), and the query counts should show the steady state, not that one write.
    issued = {"owner": services.token_issue(user=owner), "staff": services.token_issue(user=staff)}
    ApiToken.objects.filter(pk__in=[t.pk for t, _ in issued.values()]).update(
        last_used_at=timezone.now()
    )
    tokens = {role: secret for role, (_token, secret) in issued.items()}
    summary_ids = list(
        User.objects.filter(is_staff=False).order_by("id").values_list("id", flat=True)[:20]
    )
    return DatasetInfo(
        users=profile.users,
        tasks=profile.tasks,
        owner_id=owner_id,
        owner_tasks=owner_tasks,
        staff_id=staff.pk,
        summary_ids=summary_ids,
        tokens=tokens,
        postgres=postgres,
        reused=reused,
    )
