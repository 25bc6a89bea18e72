"""Writes: keyword-only, one transaction each, statistics cache invalidated on every path.

The per-owner counters (migration 0002) are updated by triggers inside the same statements, so
services never touch them; they only invalidate the cached global statistics."""

from __future__ import annotations

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from tasks import tokens
from tasks.cache import invalidate_stats
from tasks.models import ApiToken, Task

WRITABLE = ("title", "description", "completed", "priority", "due_date")


@transaction.atomic
def task_create(*, owner, data: dict) -> Task:
    task = Task(owner=owner, **data)
    task.save()  # save() sets completed_at / updated_at consistently
    invalidate_stats()
    return task


@transaction.atomic
def task_update(*, task: Task, data: dict, replace: bool = False) -> Task:
    """PATCH changes the given fields; PUT (replace=True) resets the omitted ones to defaults."""
    if replace:
        defaults = {"description": "", "completed": False, "priority": "medium", "due_date": None}
        data = {**defaults, **data}
    for name, value in data.items():
        setattr(task, name, value)
    task.save(update_fields=list(data))
    invalidate_stats()
    return task


@transaction.atomic
def task_delete(*, user, pk: int) -> bool:
    """One DELETE scoped to what the caller may see; False when nothing matched (404)."""
    qs = Task.objects.filter(pk=pk)
    if not user.is_staff:
        qs = qs.filter(owner_id=user.pk)
    deleted, _ = qs.delete()
    if deleted:
        invalidate_stats()
    return bool(deleted)


@transaction.atomic
def tasks_bulk_create(*, owner, items: list[dict]) -> list[Task]:
    """All rows in one INSERT ... RETURNING id; a failure inserts none."""
    now = timezone.now()
    tasks = []
    for item in items:
        task = Task(owner=owner, created_at=now, updated_at=now, **item)
        # bulk_create skips save(): keep the completed/completed_at CHECK invariant here.
        task.completed_at = now if task.completed else None
        tasks.append(task)
    Task.objects.bulk_create(tasks)
    invalidate_stats()
    return tasks


@transaction.atomic
def tasks_bulk_complete(*, user, ids: list[int], completed: bool) -> dict:
    """One UPDATE. Non-staff callers only ever touch their own tasks (the seed updated any id it
    was given). Rows already in the requested state are left alone, so ``ids`` lists exactly
    the tasks whose state changed."""
    table = Task._meta.db_table
    owner_clause = "" if user.is_staff else "AND owner_id = %s"
    params = [sorted(set(ids)), completed]
    if not user.is_staff:
        params.append(user.pk)
    params += [completed, completed]
    # Rows are locked in id order first (the CTE's ORDER BY ... FOR UPDATE), then updated. A
    # bare UPDATE locks rows in scan order, which differs between concurrent statements (a seq
    # scan follows the physical order, which updates change), so two bulk completes on
    # overlapping ids could deadlock: the HTTP concurrency test hit exactly that as a 503.
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH target AS (
                SELECT id FROM "{table}"
                 WHERE id = ANY(%s::bigint[]) AND completed <> %s {owner_clause}
                 ORDER BY id
                   FOR UPDATE
            )
            UPDATE "{table}" AS t
               SET completed = %s,
                   completed_at = CASE WHEN %s THEN statement_timestamp() END,
                   updated_at = statement_timestamp()
              FROM target
             WHERE t.id = target.id
            RETURNING t.id
            """,
            params,
        )
        updated = sorted(row[0] for row in cursor.fetchall())
    if updated:
        invalidate_stats()
    return {"updated": len(updated), "ids": updated}


# --- API tokens (tasks.tokens; docs/operations.md "Credentials") --------------------------------


def token_issue(*, user) -> tuple[ApiToken, str]:
    """A new token for ``user``: the row holds the digest and prefix; the secret is returned
    once, to be shown once, and exists nowhere else."""
    secret = tokens.new_secret()
    now = timezone.now()
    token = ApiToken.objects.create(
        user=user,
        prefix=tokens.prefix_of(secret),
        digest=tokens.digest_of(secret),
        created=now,
        expires_at=now + settings.API_TOKEN_TTL,
    )
    return token, secret


def tokens_revoke(*, tokens_qs, reason: str) -> int:
    """Revoke the live tokens of a queryset, in one UPDATE; returns how many were revoked."""
    return tokens_qs.filter(revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_reason=reason
    )


def token_revoke(*, token: ApiToken) -> int:
    return tokens_revoke(
        tokens_qs=ApiToken.objects.filter(pk=token.pk), reason=ApiToken.Revocation.USER
    )


def user_tokens_revoke_all(*, user_ids, reason: str) -> int:
    return tokens_revoke(tokens_qs=ApiToken.objects.filter(user_id__in=user_ids), reason=reason)
