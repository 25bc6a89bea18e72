"""Admin for users and tasks that stays fast on a 1M-row tasks table.

- No COUNT(*) per page: EstimatedCountPaginator + show_full_result_count = False.
- Ordering matches an index (task_created_idx / user_active_created_idx), so a page is an
  index range scan, not a sort of the whole table.
- The owner is a raw-id widget (no <select> of 10k users) and joined with select_related.
- Task search goes through the trigram index (same expression as the API's substring search).
- The user list's task counts come from each listed user's counter row (tasks_taskcounter, kept
  by triggers): a primary-key join per row, never a COUNT over tasks.
- Filters (completed, priority) are cheap filters on the task_created_idx scan that already gives
  the order; facet counts ("Show counts": a COUNT per filter value over the whole table) are off.
"""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import BigIntegerField, F
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.html import format_html

from perfaudit.paginator import EstimatedCountPaginator
from tasks.cache import invalidate_stats
from tasks.models import Task, User
from tasks.search import task_search_text


def _short(moment, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """ISO-ish dates ("2025-12-31 06:48"): the locale's "Dec. 31, 2025, 6:48 a.m." is twice as
    wide, and with the nav and filter sidebars the lists did not fit 1,400 px."""
    if not moment:
        return "-"
    # One line: a date split over two lines makes every row twice as tall.
    return format_html(
        '<span class="nowrap" style="white-space: nowrap">{}</span>',
        timezone.localtime(moment).strftime(fmt),
    )


class InvalidatesStats:
    """Admin writes change task counts too: drop the cached global statistics (tasks.cache)."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        invalidate_stats()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        invalidate_stats()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        invalidate_stats()


@admin.register(User)
class UserAdmin(InvalidatesStats, DjangoUserAdmin):
    # No email column (search finds users by email): the task columns must fit at 1,400 px.
    list_display = (
        "username",
        "full_name",
        "staff",
        "active",
        "created",
        "tasks_total",
        "tasks_completed",
        "tasks_urgent",
    )
    list_filter = ("is_staff", "is_active")
    search_fields = ("username", "email", "full_name")
    ordering = ("-created_at", "-id")
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Personal info", {"fields": ("full_name", "email")}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Important dates", {"fields": ("last_login", "date_joined", "created_at")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "email", "full_name", "password1", "password2"),
            },
        ),
    )

    def get_queryset(self, request):
        # LEFT JOIN of each user's counter row: users without tasks have none and count 0.
        # Only the page's rows are read (the join is by primary key under the page's LIMIT).
        def counter(field):
            return Coalesce(F(f"task_counter__{field}"), 0, output_field=BigIntegerField())

        return (
            super()
            .get_queryset(request)
            .annotate(
                task_total=counter("total"),
                task_completed=counter("completed"),
                task_urgent=counter("high_pending"),
            )
        )

    @admin.display(description="staff", boolean=True, ordering="is_staff")
    def staff(self, user):
        return user.is_staff

    @admin.display(description="active", boolean=True, ordering="is_active")
    def active(self, user):
        return user.is_active

    @admin.display(description="created", ordering="created_at")
    def created(self, user):
        return _short(user.created_at, "%Y-%m-%d")

    @admin.display(description="tasks", ordering="task_total")
    def tasks_total(self, user):
        return user.task_total

    @admin.display(description="done", ordering="task_completed")
    def tasks_completed(self, user):
        return user.task_completed

    @admin.display(description="urgent", ordering="task_urgent")
    def tasks_urgent(self, user):
        return user.task_urgent


@admin.register(Task)
class TaskAdmin(InvalidatesStats, admin.ModelAdmin):
    list_display = ("id", "title", "owner", "priority", "done", "due", "created")
    list_select_related = ("owner",)
    list_filter = ("completed", "priority")
    raw_id_fields = ("owner",)
    search_fields = ("title",)  # handled by get_search_results below
    search_help_text = "Substring of title or description (trigram index), or #id."
    ordering = ("-created_at", "-id")
    readonly_fields = ("created_at", "updated_at", "completed_at")
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    # Facets would COUNT every filter value over all tasks (1M rows) on each page view.
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 50

    @admin.display(description="done", boolean=True, ordering="completed")
    def done(self, task):
        return task.completed

    @admin.display(description="due", ordering="due_date")
    def due(self, task):
        return _short(task.due_date)

    @admin.display(description="created", ordering="created_at")
    def created(self, task):
        return _short(task.created_at)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        if term.startswith("#") and term[1:].isdigit():
            return queryset.filter(pk=int(term[1:])), False
        # Same expression as task_search_trgm_idx, so the index serves the ILIKE.
        return queryset.alias(search_text=task_search_text()).filter(
            search_text__icontains=term
        ), False
