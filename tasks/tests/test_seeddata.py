"""manage.py seeddata: exact counts, deterministic, refuses to double-load."""

import hashlib
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from tasks.management.commands.demouser import DEMO_PERMISSIONS
from tasks.models import Task, User

pytestmark = pytest.mark.django_db


def seed(*args):
    call_command("seeddata", "--no-progress", *args)


def fingerprint() -> str:
    rows = Task.objects.order_by("id").values_list(
        "owner__username",
        "title",
        "description",
        "completed",
        "completed_at",
        "priority",
        "due_date",
        "created_at",
    )
    users = (
        User.objects.filter(is_staff=False)
        .order_by("username")
        .values_list("username", "email", "full_name", "is_active", "created_at")
    )
    return hashlib.sha256(repr((list(rows), list(users))).encode()).hexdigest()


def test_loads_exactly_the_requested_counts():
    seed("--users", "20", "--tasks", "500")
    assert User.objects.count() == 20
    assert Task.objects.count() == 500
    # Every task's invariants hold (the CHECK constraints would have refused COPY otherwise).
    assert not Task.objects.filter(completed=True, completed_at__isnull=True).exists()
    assert set(Task.objects.values_list("priority", flat=True)) == {"low", "medium", "high"}


def test_same_seed_same_data_other_seed_other_data():
    seed("--users", "10", "--tasks", "300", "--seed", "7")
    first = fingerprint()
    seed("--users", "10", "--tasks", "300", "--seed", "7", "--reset")
    assert fingerprint() == first
    seed("--users", "10", "--tasks", "300", "--seed", "8", "--reset")
    assert fingerprint() != first


def test_refuses_to_double_load_unless_told():
    seed("--users", "5", "--tasks", "50")
    with pytest.raises(CommandError, match="--append") as excinfo:
        seed("--users", "5", "--tasks", "50")
    assert excinfo.value.returncode == 2
    assert Task.objects.count() == 50

    seed("--users", "5", "--tasks", "50", "--if-empty")
    assert Task.objects.count() == 50

    seed("--users", "5", "--tasks", "50", "--append")
    assert (User.objects.count(), Task.objects.count()) == (10, 100)


def test_reset_keeps_staff_accounts(staff_user):
    seed("--users", "5", "--tasks", "50")
    seed("--users", "3", "--tasks", "30", "--reset")
    assert User.objects.filter(pk=staff_user.pk).exists()
    assert (User.objects.filter(is_staff=False).count(), Task.objects.count()) == (3, 30)


def test_index_rebuild_path_restores_every_index_and_the_foreign_key():
    def schema():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
                "WHERE indrelid = 'tasks_task'::regclass ORDER BY 1"
            )
            indexes = cursor.fetchall()
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = 'tasks_task'::regclass ORDER BY 1"
            )
            return indexes, cursor.fetchall()

    before = schema()
    seed("--users", "5", "--tasks", "100")  # empty table: indexes dropped and rebuilt
    assert schema() == before


@pytest.mark.parametrize("bad", [["--users", "-1"], ["--tasks", "lots"]])
def test_bad_numbers_are_usage_errors(bad):
    with pytest.raises(CommandError, match=r"must be >= 0|whole number"):
        seed(*bad)


def test_tasks_without_users_is_refused():
    with pytest.raises(CommandError, match="--users") as excinfo:
        seed("--users", "0", "--tasks", "10")
    assert excinfo.value.returncode == 2


def test_nothing_is_dated_in_the_future():
    # A task created now must sort first (newest first), not below seeded "future" tasks.
    from django.db.models import Max
    from django.utils import timezone

    seed("--users", "20", "--tasks", "2000")
    latest = Task.objects.aggregate(
        created=Max("created_at"), completed=Max("completed_at"), updated=Max("updated_at")
    )
    now = timezone.now()
    assert all(moment <= now for moment in latest.values()), latest
    assert not User.objects.filter(created_at__gt=now).exists()


def test_demouser_demotes_an_old_superuser_demo_account(monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "demo-pw-for-tests")
    User.objects.create_user(username="demo", password="x", is_staff=True, is_superuser=True)
    call_command("demouser", "--tasks", "0", stdout=StringIO())
    demo = User.objects.get(username="demo")
    assert (demo.is_staff, demo.is_superuser) == (True, False)
    assert demo.check_password("demo-pw-for-tests")
    assert demo.has_perm("perfaudit.explain_analyze")
    assert not demo.has_perm("tasks.change_user")


def test_demouser_owns_deterministic_tasks_once(monkeypatch):
    from io import StringIO

    from tasks.models import TaskCounter

    monkeypatch.setenv("DEMO_PASSWORD", "demo-pw-for-tests")  # never touch var/demo-password
    seed("--users", "5", "--tasks", "50")
    out = StringIO()
    call_command("demouser", stdout=out)
    demo = User.objects.get(username="demo")
    assert demo.is_staff
    assert out.getvalue() == "demo staff login: demo / demo-pw-for-tests\n"
    # Staff, not superuser: exactly the permissions to use perfaudit and manage tasks.
    assert not demo.is_superuser
    assert demo.get_all_permissions() == set(DEMO_PERMISSIONS)
    owned = list(Task.objects.filter(owner=demo).order_by("id").values_list("title", "created_at"))
    assert len(owned) == 60
    # The per-owner counter rows follow (the API's stats read them).
    assert TaskCounter.objects.get(owner=demo).total == 60
    call_command("demouser", stdout=StringIO())  # a second `make run`: nothing added
    assert Task.objects.filter(owner=demo).count() == 60
    # Same tasks on every fresh setup.
    Task.objects.filter(owner=demo).delete()
    call_command("demouser", stdout=StringIO())
    again = Task.objects.filter(owner=demo).order_by("id").values_list("title", "created_at")
    assert list(again) == owned
