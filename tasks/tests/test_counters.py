"""The per-owner counters (migration 0002) equal a full recount after every kind of write:
API services, plain ORM statements, raw SQL, COPY (seeddata), cascades, TRUNCATE, and bursts of
concurrent writers on their own connections."""

import random
import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.utils import timezone

from tasks import services
from tasks.models import Task, TaskCounter, User

RECOUNT = """
    SELECT owner_id, count(*), count(*) FILTER (WHERE completed),
           count(*) FILTER (WHERE priority = 'low'), count(*) FILTER (WHERE priority = 'medium'),
           count(*) FILTER (WHERE priority = 'high'),
           count(*) FILTER (WHERE priority = 'high' AND NOT completed),
           coalesce(sum(extract(epoch FROM completed_at - created_at))
                    FILTER (WHERE completed), 0)
    FROM tasks_task GROUP BY owner_id
"""
FIELDS = ("total", "completed", "low", "medium", "high", "high_pending", "completion_seconds")


def recount() -> dict:
    with connection.cursor() as cursor:
        cursor.execute(RECOUNT)
        return {row[0]: tuple(row[1:]) for row in cursor.fetchall()}


def counters() -> dict:
    rows = TaskCounter.objects.values_list("owner_id", *FIELDS)
    # Owners whose tasks are all gone keep an all-zero row; a recount has no row for them.
    return {row[0]: tuple(row[1:]) for row in rows if any(row[1:])}


def assert_exact():
    assert counters() == recount()


@pytest.mark.django_db
def test_every_write_path_keeps_counters_exact(owner, other_user, staff_user):
    assert_exact()
    a = services.task_create(owner=owner, data={"title": "a", "priority": "high"})
    services.task_create(owner=owner, data={"title": "b", "completed": True})
    assert_exact()
    bulk = services.tasks_bulk_create(
        owner=other_user,
        items=[{"title": f"t{n}", "priority": "low", "completed": n % 2 == 0} for n in range(40)],
    )
    assert_exact()
    services.task_update(task=a, data={"completed": True, "priority": "low"})
    services.task_update(task=a, data={"title": "renamed only"})  # touches no counter
    services.task_update(task=a, data={"title": "put"}, replace=True)
    assert_exact()
    services.tasks_bulk_complete(user=staff_user, ids=[t.pk for t in bulk], completed=True)
    services.tasks_bulk_complete(user=staff_user, ids=[t.pk for t in bulk[:7]], completed=False)
    assert_exact()
    # Plain ORM statements: queryset update (incl. moving tasks to another owner) and delete.
    Task.objects.filter(pk__in=[t.pk for t in bulk[:5]]).update(owner=owner)
    Task.objects.filter(owner=other_user, priority="low").update(priority="high")
    Task.objects.filter(pk__in=[t.pk for t in bulk[5:9]]).delete()
    services.task_delete(user=owner, pk=a.pk)
    assert_exact()
    # Raw SQL (e.g. a psql session): the triggers see it too.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE tasks_task SET created_at = created_at - interval '3 days' WHERE owner_id = %s",
            [other_user.pk],
        )
    assert_exact()
    # Deleting a user cascades to its tasks (Django) and its counter row (PostgreSQL).
    other_user.delete()
    assert_exact()
    assert not TaskCounter.objects.filter(owner_id=other_user.pk).exists()


@pytest.mark.django_db
def test_seeddata_paths_keep_counters_exact(owner):
    services.task_create(owner=owner, data={"title": "kept"})
    # Table at least doubles: triggers disabled during COPY, counters rebuilt in one pass.
    call_command("seeddata", "--no-progress", "--users", "5", "--tasks", "300", "--append")
    assert_exact()
    # A smaller append: COPY with the triggers live.
    call_command("seeddata", "--no-progress", "--users", "2", "--tasks", "50", "--append")
    assert_exact()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'tasks_task'::regclass "
            "AND tgname LIKE 'tasks_counter_%%' AND tgenabled = 'O'"
        )
        assert cursor.fetchone()[0] == 4  # re-enabled after the load
    call_command("seeddata", "--no-progress", "--users", "3", "--tasks", "30", "--reset")
    assert_exact()  # TRUNCATE cleared the counters, the reload rebuilt them
    assert not TaskCounter.objects.filter(owner_id=owner.pk).exists()  # reset deleted owner


@pytest.mark.django_db(transaction=True)
def test_concurrent_mixed_burst_matches_a_full_recount():
    owners = [User.objects.create_user(username=f"w{n}") for n in range(3)]
    staff = User.objects.create_user(username="boss", is_staff=True)
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def writer(seed: int):
        # Each thread has its own Django connection (connections are per thread). All threads
        # write for the same three owners, so they contend on the same counter rows; each
        # touches only tasks it created, so task rows never deadlock between threads.
        rng = random.Random(seed)
        mine: list[int] = []
        try:
            start.wait()
            for _ in range(60):
                owner = rng.choice(owners)
                op = rng.random()
                if op < 0.3 or not mine:
                    created = services.tasks_bulk_create(
                        owner=owner,
                        items=[
                            {
                                "title": "burst",
                                "priority": rng.choice(["low", "medium", "high"]),
                                "completed": rng.random() < 0.3,
                            }
                            for _ in range(rng.randint(1, 8))
                        ],
                    )
                    mine += [t.pk for t in created]
                elif op < 0.5:
                    ids = rng.sample(mine, min(len(mine), rng.randint(1, 10)))
                    services.tasks_bulk_complete(user=staff, ids=ids, completed=rng.random() < 0.7)
                elif op < 0.65:
                    pk = rng.choice(mine)
                    Task.objects.filter(pk=pk).update(
                        priority=rng.choice(["low", "medium", "high"]),
                        owner=rng.choice(owners),
                    )
                elif op < 0.8:
                    task = Task.objects.filter(pk=rng.choice(mine)).first()
                    if task is not None:
                        services.task_update(
                            task=task,
                            data={"completed": not task.completed, "title": "edited"},
                        )
                elif op < 0.9:
                    pk = mine.pop(rng.randrange(len(mine)))
                    services.task_delete(user=staff, pk=pk)
                else:
                    services.task_create(
                        owner=owner,
                        data={
                            "title": "single",
                            "due_date": timezone.now() + timedelta(days=1),
                            "completed": True,
                        },
                    )
        except BaseException as exc:  # reported to the main thread below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert Task.objects.count() > 100
    assert_exact()
