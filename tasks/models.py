"""Users own tasks. The index design lives here, in Meta, one comment per index naming its query.

Index rules we follow (DESIGN.md): every index serves a query the API runs; composites lead with
the owner because every non-staff read is scoped to one owner; no index is a leading prefix of
another (so no standalone owner_id index: the (owner, ...) composites already serve the FK and
ON DELETE CASCADE lookups).
"""

from django.contrib.auth.models import AbstractUser, UserManager
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower, Upper
from django.utils import timezone

from tasks.querysets import TaskQuerySet
from tasks.search import SEARCH_CONFIG, task_search_text, task_search_vector

# The search expressions stay importable from here (the index definitions below use them).
__all__ = [
    "SEARCH_CONFIG",
    "Priority",
    "Task",
    "TaskCounter",
    "User",
    "task_search_text",
    "task_search_vector",
]


class User(AbstractUser):
    """Custom user from the first migration. ``is_staff`` is the seed's "admin"."""

    # One name field instead of first/last (the seed's full_name).
    first_name = None
    last_name = None
    full_name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    REQUIRED_FIELDS = ["email"]

    class Meta:
        constraints = [
            # Email is unique among *active* users only (a deactivated account frees its email),
            # case-insensitively; blank emails (e.g. service accounts) are not constrained.
            models.UniqueConstraint(
                Lower("email"),
                name="user_email_active_uniq",
                condition=Q(is_active=True) & ~Q(email=""),
                violation_error_message="An active user with this email already exists.",
            ),
        ]
        indexes = [
            # GET /api/users/: active users newest first, keyset on (created_at, id).
            models.Index(
                F("created_at").desc(),
                F("id").desc(),
                name="user_active_created_idx",
                condition=Q(is_active=True),
            ),
        ]

    def get_full_name(self):
        return self.full_name or self.username

    def get_short_name(self):
        return self.full_name.split(" ")[0] if self.full_name else self.username


class Priority(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


def _task_manager():
    return models.Manager.from_queryset(TaskQuerySet)()


class Task(models.Model):
    owner = models.ForeignKey(
        User,
        on_delete=models.CASCADE,
        related_name="tasks",
        # The (owner, ...) composites below lead with owner_id; a lone FK index would be redundant.
        db_index=False,
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    completed = models.BooleanField(default=False)
    # Set when a task becomes completed, cleared when reopened: the real completion time
    # (the seed used updated_at - created_at, which any later edit falsifies).
    completed_at = models.DateTimeField(null=True, blank=True)
    priority = models.CharField(max_length=6, choices=Priority.choices, default=Priority.MEDIUM)
    due_date = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = _task_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(priority__in=Priority.values), name="task_priority_valid"
            ),
            models.CheckConstraint(
                condition=Q(completed=True, completed_at__isnull=False)
                | Q(completed=False, completed_at__isnull=True),
                name="task_completed_at_matches_completed",
            ),
        ]
        indexes = [
            # GET /api/tasks/ and /api/users/{id}/tasks/: one owner's tasks newest first,
            # keyset on (created_at, id); also the dashboard's MAX(created_at).
            models.Index(
                F("owner"), F("created_at").desc(), F("id").desc(), name="task_owner_created_idx"
            ),
            # GET /api/tasks/?completed=...: pending / done lists of one owner, newest first.
            models.Index(
                F("owner"),
                F("completed"),
                F("created_at").desc(),
                F("id").desc(),
                name="task_owner_done_created_idx",
            ),
            # GET /api/tasks/?priority=...: one owner's tasks of one priority, newest first.
            models.Index(
                F("owner"),
                F("priority"),
                F("created_at").desc(),
                F("id").desc(),
                name="task_owner_prio_created_idx",
            ),
            # Dashboard "urgent" count and GET /api/tasks/?completed=false&priority=high: small
            # partial index holding only pending high-priority tasks.
            models.Index(
                F("owner"),
                F("created_at").desc(),
                F("id").desc(),
                name="task_urgent_pending_idx",
                condition=Q(completed=False, priority=Priority.HIGH),
            ),
            # GET /api/tasks/?due_before=...&due_after=...: most tasks have no due date, so the
            # partial index skips them.
            models.Index(
                F("owner"),
                F("due_date"),
                name="task_owner_due_idx",
                condition=Q(due_date__isnull=False),
            ),
            # GET /api/tasks/?scope=all (staff): every user's tasks newest first, keyset.
            models.Index(F("created_at").desc(), F("id").desc(), name="task_created_idx"),
            # GET /api/tasks/search/?mode=fulltext: to_tsvector(title || description) @@ query.
            GinIndex(task_search_vector(), name="task_search_fts_idx"),
            # GET /api/tasks/search/?mode=substring: Django's icontains compiles to
            # UPPER(text) LIKE UPPER('%term%'), so the trigram index is on UPPER(text) (the seed's
            # ilike could not use its tsvector index at all).
            GinIndex(
                OpClass(Upper(task_search_text()), name="gin_trgm_ops"),
                name="task_search_trgm_idx",
            ),
        ]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        # Keep the completed/completed_at invariant (a CHECK constraint enforces it) and
        # updated_at current on every save path, the admin's included.
        if self.completed and self.completed_at is None:
            self.completed_at = timezone.now()
        elif not self.completed:
            self.completed_at = None
        self.updated_at = timezone.now()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "completed_at", "updated_at"}
        super().save(*args, **kwargs)


class TaskCounter(models.Model):
    """Per-owner task counters, maintained by PostgreSQL triggers (migration 0002).

    Stats must be exact without scanning 1M tasks per request. Statement-level AFTER triggers with
    transition tables fold each INSERT/UPDATE/DELETE statement (COPY and bulk statements included)
    into one upsert per touched owner, in the writer's transaction: always exact, no single hot
    row (writers of different owners never contend). Global stats sum these rows.
    Only the triggers write these rows. The foreign key (ON DELETE CASCADE, added in SQL by the
    migration) is invisible to Django (DO_NOTHING, db_constraint=False), so deleting a user never
    makes Django collect or delete counter rows itself.
    """

    owner = models.OneToOneField(
        User,
        primary_key=True,
        on_delete=models.DO_NOTHING,
        related_name="task_counter",
        db_constraint=False,
    )
    total = models.BigIntegerField()
    completed = models.BigIntegerField()
    low = models.BigIntegerField()
    medium = models.BigIntegerField()
    high = models.BigIntegerField()
    high_pending = models.BigIntegerField()
    # Sum over completed tasks of completed_at - created_at, in seconds (numeric: exact sums).
    completion_seconds = models.DecimalField(max_digits=30, decimal_places=6)

    class Meta:
        db_table = "tasks_taskcounter"

    def __str__(self):
        return f"counters of user {self.owner_id}"
