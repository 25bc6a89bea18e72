"""Concurrent API writers lose nothing: every acknowledged write is in the database, no rejected
one is, and the stats endpoints equal a full recount afterwards.

Several threads, each with its own test client and so its own database connection (transaction
test: nothing is hidden in a test transaction), drive the real HTTP stack — authentication,
validation, services, counter triggers — with creates, bulk creates, bulk completes and deletes
on *shared* tasks (two threads per owner, plus a staff thread completing and deleting anyone's).
Loops are bounded by operation count, not by time. The service-level counter drift test with
concurrent writers is tasks/tests/test_counters.py; this one checks what clients were told.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from django.db import connection, connections

from tasks.models import Task, User
from tasks.tests.conftest import client_for

OPS_PER_THREAD = 100


@dataclass
class Ledger:
    """What the server acknowledged (2xx), per thread, merged after the threads finish."""

    created: set[int] = field(default_factory=set)
    deleted: set[int] = field(default_factory=set)
    completed: set[int] = field(default_factory=set)  # ids sent in an acknowledged complete
    rejected_titles: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)


class Pool:
    """Task ids each owner's threads pick from (shared, so threads collide on the same rows)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.ids: dict[int, list[int]] = {}

    def add(self, owner_id: int, ids):
        with self.lock:
            self.ids.setdefault(owner_id, []).extend(ids)

    def sample(self, rng: random.Random, owner_id: int | None, k: int) -> list[int]:
        with self.lock:
            ids = (
                [i for v in self.ids.values() for i in v]
                if owner_id is None
                else list(self.ids.get(owner_id, []))
            )
        return rng.sample(ids, min(k, len(ids)))


def _worker(n: int, user, pool: Pool, ledger: Ledger, untouchable: list[int]):
    rng = random.Random(n)
    client = client_for(user)
    owner_id = None if user.is_staff else user.pk
    try:
        for i in range(OPS_PER_THREAD):
            op = rng.choice(["create", "bulk", "complete", "complete", "delete", "reject"])
            if user.is_staff and op in {"create", "bulk"}:
                op = "complete"
            if op == "create":
                r = client.post("/api/tasks/", {"title": f"c{n}-{i}"}, format="json")
                if r.status_code == 201:
                    ledger.created.add(r.json()["id"])
                    pool.add(user.pk, [r.json()["id"]])
                else:
                    ledger.errors.append(f"create {r.status_code}")
            elif op == "bulk":
                items = [{"title": f"b{n}-{i}-{k}", "priority": "high"} for k in range(5)]
                r = client.post("/api/tasks/bulk/", {"tasks": items}, format="json")
                if r.status_code == 201:
                    ids = [row["id"] for row in r.json()["results"]]
                    ledger.created.update(ids)
                    pool.add(user.pk, ids)
                else:
                    ledger.errors.append(f"bulk {r.status_code}")
            elif op == "complete":
                ids = pool.sample(rng, owner_id, 6)
                if not ids:
                    continue
                r = client.post("/api/tasks/bulk-complete/", {"ids": ids}, format="json")
                if r.status_code == 200:
                    ledger.completed.update(ids)
                else:
                    ledger.errors.append(f"complete {r.status_code}")
            elif op == "delete":
                for task_id in pool.sample(rng, owner_id, 1):
                    r = client.delete(f"/api/tasks/{task_id}/")
                    if r.status_code == 204:
                        ledger.deleted.add(task_id)
                    elif r.status_code != 404:  # 404: another thread deleted it first
                        ledger.errors.append(f"delete {r.status_code}")
            else:
                # Rejected writes: a bulk create with one bad item (all or nothing), and a bulk
                # complete of tasks nobody may complete with one bad id. Both must leave no trace.
                title = f"never-{n}-{i}"
                r = client.post(
                    "/api/tasks/bulk/",
                    {"tasks": [{"title": title}, {"title": title, "priority": "urgent"}]},
                    format="json",
                )
                ledger.rejected_titles.add(title)
                if r.status_code != 400:
                    ledger.errors.append(f"bad bulk {r.status_code}")
                r = client.post(
                    "/api/tasks/bulk-complete/", {"ids": [*untouchable, "x"]}, format="json"
                )
                if r.status_code != 400:
                    ledger.errors.append(f"bad complete {r.status_code}")
    except Exception as exc:
        ledger.errors.append(repr(exc))
    finally:
        connections.close_all()


RECOUNT = """
    SELECT count(*), count(*) FILTER (WHERE completed),
           count(*) FILTER (WHERE priority = 'high'), count(*) FILTER (WHERE priority = 'medium'),
           count(*) FILTER (WHERE priority = 'low'),
           coalesce(sum(extract(epoch FROM completed_at - created_at)) FILTER (WHERE completed), 0)
    FROM tasks_task WHERE %s IS NULL OR owner_id = %s
"""


def _recount(owner_id: int | None) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(RECOUNT, [owner_id, owner_id])
        total, done, high, medium, low, seconds = cursor.fetchone()
    return {
        "total_tasks": total,
        "completed_tasks": done,
        "pending_tasks": total - done,
        "high_priority_tasks": high,
        "medium_priority_tasks": medium,
        "low_priority_tasks": low,
        "avg_completion_time_seconds": float(round(Decimal(seconds) / done, 3)) if done else None,
    }


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_lose_nothing(settings):
    # Many bulk requests per user in a few seconds: the throttle is not what is tested here.
    settings.API_THROTTLE_RATES = {"auth": None, "bulk": None}
    owners = [User.objects.create_user(username=f"conc{n}") for n in range(2)]
    staff = User.objects.create_user(username="conc-staff", is_staff=True)
    pool = Pool()
    for owner in owners:
        seed = Task.objects.bulk_create(Task(owner=owner, title=f"seed {k}") for k in range(15))
        pool.add(owner.pk, [t.pk for t in seed])
    # Owned by the first owner but never offered to any thread: only rejected requests name them.
    untouchable = [
        t.pk for t in Task.objects.bulk_create(Task(owner=owners[0], title="x") for _ in range(3))
    ]
    users = [owners[0], owners[1], owners[0], owners[1], staff]
    ledgers = [Ledger() for _ in users]
    threads = [
        threading.Thread(target=_worker, args=(n, user, pool, ledgers[n], untouchable))
        for n, user in enumerate(users)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [error for ledger in ledgers for error in ledger.errors] == []
    created = set().union(*(ledger.created for ledger in ledgers))
    deleted = set().union(*(ledger.deleted for ledger in ledgers))
    completed = set().union(*(ledger.completed for ledger in ledgers))
    rejected = set().union(*(ledger.rejected_titles for ledger in ledgers))
    assert created and deleted and completed and rejected  # every kind of write happened

    existing = dict(Task.objects.values_list("pk", "completed"))
    # Every acknowledged create is there unless an acknowledged delete removed it ...
    assert created - deleted <= existing.keys()
    # ... and no acknowledged delete is undone.
    assert not deleted & existing.keys()
    # Acknowledged completes stick (nothing here reopens a task) ...
    assert all(existing[pk] for pk in completed - deleted)
    # ... and nothing is completed that no acknowledged request asked for.
    assert {pk for pk, done in existing.items() if done} <= completed
    # Rejected requests left no trace.
    assert not Task.objects.filter(title__in=rejected).exists()
    assert not Task.objects.filter(pk__in=untouchable, completed=True).exists()

    # The stats endpoints (per-owner counter rows, global sum) equal a full recount.
    for owner in owners:
        own = client_for(owner).get("/api/tasks/stats/").json()
        assert {k: v for k, v in own.items() if k != "scope"} == _recount(owner.pk)
    every = client_for(staff).get("/api/tasks/stats/?scope=global").json()
    assert every.pop("active_users") == len(owners)
    assert {k: v for k, v in every.items() if k != "scope"} == _recount(None)
